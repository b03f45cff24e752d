import type { Command } from 'commander';
import { age } from '../duration.js';
import { fleetConnection } from '../fleet-option.js';
import { storeSpec } from '../store-option.js';
import { print, printJson, withJsonFlag, withStoreFlag, type StoreFlags } from '../session.js';

interface WorkersFlags extends StoreFlags {
  readonly json?: boolean;
}

/** A worker whose last heartbeat is older than this many beats is shown as silent (dead, or frozen). */
const SILENT_AFTER_MS = 15_000;

/** `reins workers`: the fleet's workers (concurrency, slices in hand, last heartbeat) and its queue by state. */
export function registerWorkers(program: Command): void {
  const cmd = program.command('workers').description("the fleet's workers: concurrency, slices in hand, last heartbeat; and the slice queue by state");
  withJsonFlag(withStoreFlag(cmd)).action(async (flags: WorkersFlags) => {
    const connection = fleetConnection(storeSpec(flags.store), 'workers');
    const { SliceQueue } = await import('../../agents/fleet/slice-queue.js');
    const { readWorkerBeats } = await import('../../agents/fleet/worker-beat.js');
    const queue = new SliceQueue(connection);
    try {
      const [workers, depth] = await Promise.all([readWorkerBeats(queue.client, queue.workersKey), queue.depth()]);
      const now = Date.now();
      if (flags.json) return printJson({ workers: workers.map((w) => ({ ...w, silent: now - w.heartbeatAt > SILENT_AFTER_MS })), queue: depth });
      const rows = workers.map((w) => `${w.id.padEnd(36)} ${`${w.inHand}/${w.concurrency}`.padStart(7)}  ${age(now - w.heartbeatAt).padStart(4)} ago${now - w.heartbeatAt > SILENT_AFTER_MS ? '  SILENT' : ''}`);
      print([`${'WORKER'.padEnd(36)} ${'SLICES'.padStart(7)}  HEARTBEAT`, ...(rows.length ? rows : ['(no live workers)']), '', `queue: ${Object.entries(depth).map(([k, v]) => `${k} ${v}`).join(', ')}`]);
    } finally {
      await queue.close();
    }
  });
}
