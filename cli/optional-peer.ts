import { CliError, ExitCode } from './exit-codes.js';

/** Whether an optional peer dependency can be imported from reins' own folder. */
function installed(pkg: string): boolean {
  try {
    import.meta.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fails with the command to paste when an optional peer dependency (ioredis
 * for a Redis store, prom-client for the console's metrics) is not installed,
 * before anything tries to load it.
 */
export function requirePeer(pkg: string, forWhat: string): void {
  if (!installed(pkg)) throw new CliError(ExitCode.failed, `${forWhat} needs ${pkg}, an optional peer dependency of reins: npm install ${pkg}`);
}
