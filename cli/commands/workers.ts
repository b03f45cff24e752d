import type { Command } from 'commander';
import type { RouteDepth } from '../../agents/fleet/slice-queue.js';
import { sameRoute, type SliceRoute } from '../../agents/fleet/queue-keys.js';
import type { WorkerBeatRecord } from '../../agents/fleet/worker-beat.js';
import { age } from '../duration.js';
import { fleetConnection } from '../fleet-option.js';
import { storeSpec } from '../store-option.js';
import { print, printJson, withJsonFlag, withStoreFlag, type StoreFlags } from '../session.js';
import { versionLabel } from '../tables.js';

interface WorkersFlags extends StoreFlags {
  readonly json?: boolean;
}

/** A worker whose last heartbeat is older than this many beats is shown as silent (dead, or frozen). */
const SILENT_AFTER_MS = 15_000;

const routeLabel = (r: SliceRoute) => `${r.agentId}@${versionLabel({ agent: r.version, chart: r.chart })}`;

/** Each route's queue with the live workers that take it; a route with jobs and no live worker waits for a worker of its versions. */
function routeRows(routes: readonly RouteDepth[], live: readonly WorkerBeatRecord[]) {
  return routes.map(({ route, depth }) => {
    const takers = live.filter((w) => [...w.hosts, ...w.adopts].some((r) => sameRoute(r, route))).map((w) => w.id);
    const pending = depth.waiting + depth.delayed + depth.prioritized + depth.active;
    return { route, depth, takers, unhosted: takers.length === 0 && pending > 0 };
  });
}

/** `reins workers`: the fleet's workers (the versions each hosts, concurrency, slices in hand, last heartbeat) and each version's queue by state. */
export function registerWorkers(program: Command): void {
  const cmd = program.command('workers').description("the fleet's workers: versions hosted, concurrency, slices in hand, last heartbeat; and each version's slice queue by state");
  withJsonFlag(withStoreFlag(cmd)).action(async (flags: WorkersFlags) => {
    const connection = fleetConnection(storeSpec(flags.store), 'workers');
    const { SliceQueue } = await import('../../agents/fleet/slice-queue.js');
    const { readWorkerBeats } = await import('../../agents/fleet/worker-beat.js');
    const queue = new SliceQueue(connection);
    try {
      const [workers, routes, depth] = await Promise.all([readWorkerBeats(queue.client, queue.workersKey), queue.routes(), queue.depth()]);
      const now = Date.now();
      const live = workers.filter((w) => now - w.heartbeatAt <= SILENT_AFTER_MS);
      const queues = routeRows(routes, live);
      if (flags.json) return printJson({ workers: workers.map((w) => ({ ...w, silent: now - w.heartbeatAt > SILENT_AFTER_MS })), queue: depth, routes: queues });
      const rows = workers.map((w) => {
        const hosts = [...w.hosts.map(routeLabel), ...w.adopts.map((r) => `(${routeLabel(r)})`)].join(' ');
        return `${w.id.padEnd(36)} ${`${w.inHand}/${w.concurrency}`.padStart(7)}  ${`${age(now - w.heartbeatAt)} ago`.padEnd(9)}${now - w.heartbeatAt > SILENT_AFTER_MS ? ' SILENT' : ''}  ${hosts}`;
      });
      const routeLines = queues.map(
        (q) =>
          `${routeLabel(q.route).padEnd(40)} ${String(q.depth.waiting + q.depth.prioritized).padStart(7)} ${String(q.depth.active).padStart(6)} ${String(q.depth.delayed).padStart(7)}  ${q.unhosted ? 'NO LIVE WORKER HOSTS THIS VERSION: its runs wait' : `${q.takers.length} worker(s)`}`,
      );
      print([
        `${'WORKER'.padEnd(36)} ${'SLICES'.padStart(7)}  HEARTBEAT  HOSTS (agent@version/chart; adopted in parentheses)`,
        ...(rows.length ? rows : ['(no live workers)']),
        '',
        `${'QUEUE'.padEnd(40)} ${'WAITING'.padStart(7)} ${'ACTIVE'.padStart(6)} ${'DELAYED'.padStart(7)}  TAKEN BY`,
        ...(routeLines.length ? routeLines : ['(no runs queued yet)']),
        '',
        `all queues: ${Object.entries(depth).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      ]);
    } finally {
      await queue.close();
    }
  });
}
