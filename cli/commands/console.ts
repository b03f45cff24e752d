import type { Command } from 'commander';
import { DEFAULT_CONSOLE_PORT } from '../../console/defaults.js';
import { loadAgents } from '../agents-option.js';
import { requirePeer } from '../optional-peer.js';
import { parseNonNegativeInt } from '../duration.js';
import { describeStore, openStore, storeSpec } from '../store-option.js';
import { fleetConnection } from '../fleet-option.js';
import { print, withAgentsFlag, withStoreFlag, type AgentFlags, type StoreFlags } from '../session.js';

interface ConsoleFlags extends StoreFlags, AgentFlags {
  readonly port: number;
  readonly host: string;
}

/** `reins console`: the web console on localhost, until SIGINT / SIGTERM. */
export function registerConsole(program: Command): void {
  const cmd = program
    .command('console')
    .description('start the web console (runs, run detail, approvals, stats, controls) on localhost')
    .option('--port <port>', 'port to listen on (0: any free port)', parseNonNegativeInt, DEFAULT_CONSOLE_PORT)
    .option('--host <host>', 'address to bind (the console has no TLS: keep it on loopback)', '127.0.0.1');
  withAgentsFlag(withStoreFlag(cmd)).action(async (flags: ConsoleFlags) => {
    requirePeer('prom-client', "the console's /metrics");
    const spec = storeSpec(flags.store);
    const agents = await loadAgents(flags.agents);
    const store = await openStore(spec, { write: true });
    // On Redis the console watches the fleet's queue beside the store.
    const queue = spec.kind === 'redis' ? new (await import('../../agents/fleet/slice-queue.js')).SliceQueue(fleetConnection(spec, 'console')) : null;
    const token = process.env.REINS_CONSOLE_TOKEN || undefined;
    const { startConsole } = await import('../../console/server.js');
    const running = await startConsole({ store, storeLabel: describeStore(spec), agents, host: flags.host, port: flags.port, ...(token ? { token } : {}), ...(queue ? { queue } : {}) }).catch(async (error: NodeJS.ErrnoException) => {
      await queue?.close();
      await store.close();
      throw error.code === 'EADDRINUSE' ? new Error(`port ${flags.port} is in use (pick another with --port, or --port 0)`) : error;
    });
    print([
      `reins console on ${describeStore(spec)}`,
      `  open ${running.url}`,
      `  (the #token=… part enables the controls; without it the page is read-only. Ctrl-C stops.)`,
    ]);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await running.close();
    await queue?.close();
    await store.close();
  });
}
