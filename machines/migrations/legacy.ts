/**
 * The agent lifecycle chart as the release before chart versions defined it
 * (chart v1), frozen: that release stored each agent's version as a hash of
 * this definition and the tool names, so a run it stored is recognised as
 * the same agent's without keeping chart v1's code. The definition does not
 * depend on the agent (its policies are closed over, not part of the JSON).
 */
import chart from './agent-chart-v1.json' with { type: 'json' };

/** The JSON form of chart v1's machine definition. */
export const AGENT_CHART_V1: unknown = chart;
