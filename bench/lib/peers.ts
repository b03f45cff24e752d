import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** bench/peers: LangGraph and its savers, kept out of the reins package with their own package.json and lockfile. */
export const PEERS_DIR = fileURLToPath(new URL('../peers/', import.meta.url));

function sqliteLoads(): boolean {
  return spawnSync(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: PEERS_DIR, stdio: 'ignore' }).status === 0;
}

/** Whether bench/peers is installed and its native SQLite binding loads. */
export function peersInstalled(): boolean {
  return existsSync(`${PEERS_DIR}node_modules/@langchain/langgraph/package.json`) && existsSync(`${PEERS_DIR}node_modules/pg/package.json`) && sqliteLoads();
}

/**
 * Installs bench/peers from its lockfile (npm ci), then builds better-sqlite3
 * if its binding does not load (npm may skip install scripts). Returns null on
 * success, or a one-line reason.
 */
export function installPeers(log: (line: string) => void): string | null {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  if (!existsSync(`${PEERS_DIR}node_modules/@langchain/langgraph/package.json`) || !existsSync(`${PEERS_DIR}node_modules/pg/package.json`)) {
    log('installing bench/peers (LangGraph JS and its savers) from its lockfile: first use only, a few minutes…');
    const ci = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: PEERS_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
    if (ci.status !== 0) return `npm ci in bench/peers failed (exit ${ci.status ?? ci.signal})`;
  }
  if (!sqliteLoads()) {
    log('building better-sqlite3 for the SQLite saver (npm rebuild)…');
    const rb = spawnSync(npm, ['rebuild', 'better-sqlite3', '--loglevel=error'], { cwd: PEERS_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
    if (rb.status !== 0 || !sqliteLoads()) return 'better-sqlite3 did not build (npm rebuild better-sqlite3 in bench/peers)';
  }
  return null;
}
