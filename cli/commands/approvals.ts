import type { Command } from 'commander';
import { listApprovals } from '../ops/approvals.js';
import { print, printJson, terminalPaint, usingStore, withJsonFlag, withStoreFlag, type StoreFlags } from '../session.js';
import { approvalsTable } from '../tables.js';

/** `reins approvals`: calls waiting for a human, due soonest first. */
export function registerApprovals(program: Command): void {
  const cmd = program.command('approvals').description('calls waiting for approval (approve or reject them with reins approve | reject <item>)');
  withJsonFlag(withStoreFlag(cmd)).action(async (flags: StoreFlags & { json?: boolean }) => {
    await usingStore(flags, false, async (store) => {
      const items = await listApprovals(store);
      if (flags.json) printJson(items);
      else print(approvalsTable(items, Date.now(), terminalPaint()));
    });
  });
}
