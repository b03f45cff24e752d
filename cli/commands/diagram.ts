import type { Command } from 'commander';
import { findAgent, requireAgents } from '../agents-option.js';
import { mermaidDiagram } from '../ops/chart.js';
import { print, withAgentsFlag, type AgentFlags } from '../session.js';

/** `reins diagram <agent>`: the agent's machine as a Mermaid state diagram. */
export function registerDiagram(program: Command): void {
  const cmd = program
    .command('diagram')
    .description("print an agent's machine as a Mermaid state diagram (paste into mermaid.live or a ```mermaid block)")
    .argument('<agent>', 'agent id');
  withAgentsFlag(cmd).action(async (agentId: string, flags: AgentFlags) => {
    const agent = findAgent(await requireAgents(flags.agents, 'reins diagram'), agentId);
    print(mermaidDiagram(agent.chart, `${agent.id} (version ${agent.version})`).trimEnd());
  });
}
