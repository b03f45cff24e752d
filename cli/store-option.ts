import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StoreUnavailableError } from '../persistence/errors.js';
import type { SnapshotStore } from '../persistence/store.js';
import { CliError, ExitCode } from './exit-codes.js';
import { requirePeer } from './optional-peer.js';

/** The default FileStore folder, relative to the working directory. */
export const DEFAULT_STORE_DIR = '.reins';

/** Which store a command uses: a folder (FileStore) or a Redis URL (RedisStore), with where the choice came from. */
export type StoreSpec =
  | { readonly kind: 'file'; readonly dir: string; readonly from: 'flag' | 'default' }
  | {
      readonly kind: 'redis';
      /** A redis:// URL, or for a cluster the redis-cluster:// one as given. */
      readonly url: string;
      readonly prefix: string | undefined;
      readonly from: 'flag' | 'env';
      /** The start nodes of a Redis Cluster, with the credentials and TLS every node takes; null for one Redis. */
      readonly cluster: RedisClusterSpec | null;
    };

/** A Redis Cluster as `redis-cluster://[user:password@]host:port,host:port` (`rediss-cluster://` for TLS) names it. */
export interface RedisClusterSpec {
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** What every node connection takes: username, password, tls. */
  readonly redisOptions: { readonly username?: string; readonly password?: string; readonly tls?: object };
}

/** How the store flag reads in every command's help. */
export const STORE_FLAG_HELP = `store: a folder (FileStore), redis://… / rediss://… (RedisStore, ?prefix=… for a key prefix) or redis-cluster://host:port,host:port (Redis Cluster); default REINS_REDIS_CLUSTER or REDIS_URL if set, else ./${DEFAULT_STORE_DIR}`;

const CLUSTER_URL = /^(rediss?)-cluster:\/\/(?:([^@/?]*)@)?([^/?]+)\/?(?:\?(.*))?$/i;

/**
 * The store to use: `--store` when given, else REINS_REDIS_CLUSTER (the
 * cluster's `host:port,host:port`) or REDIS_URL when set, else the FileStore
 * folder `.reins`. A Redis URL may carry `?prefix=` (the key prefix;
 * REINS_REDIS_PREFIX otherwise), which is taken off before the URL reaches
 * the client.
 */
export function storeSpec(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): StoreSpec {
  const value = flag ?? (env.REINS_REDIS_CLUSTER ? `redis-cluster://${env.REINS_REDIS_CLUSTER}` : env.REDIS_URL);
  const from = flag !== undefined ? 'flag' : 'env';
  if (value === undefined || value === '') return { kind: 'file', dir: DEFAULT_STORE_DIR, from: 'default' };
  const cluster = CLUSTER_URL.exec(value);
  if (cluster) {
    const prefix = new URLSearchParams(cluster[4] ?? '').get('prefix') ?? env.REINS_REDIS_PREFIX ?? undefined;
    return { kind: 'redis', url: value.replace(/\?.*$/, ''), prefix: prefix || undefined, from, cluster: clusterOf(cluster[1]!, cluster[2], cluster[3]!) };
  }
  if (/^rediss?:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new CliError(ExitCode.usage, `--store: not a valid Redis URL (${describeUrl(value)})`);
    }
    const prefix = url.searchParams.get('prefix') ?? env.REINS_REDIS_PREFIX ?? undefined;
    url.searchParams.delete('prefix');
    return { kind: 'redis', url: url.toString(), prefix: prefix || undefined, from, cluster: null };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw new CliError(ExitCode.usage, `--store: unsupported scheme in ${describeUrl(value)} (use a folder, redis://, rediss:// or redis-cluster://)`);
  if (flag === undefined) throw new CliError(ExitCode.usage, 'REDIS_URL must be a redis:// or rediss:// URL');
  return { kind: 'file', dir: value, from: 'flag' };
}

/** The nodes and credentials of `redis-cluster://[auth@]nodes`; a node that is not host:port is a usage error. */
function clusterOf(scheme: string, auth: string | undefined, nodes: string): RedisClusterSpec {
  const parsed = nodes.split(',').map((node) => {
    const match = /^([^:,\s]+):(\d{1,5})$/.exec(node);
    if (!match) throw new CliError(ExitCode.usage, `--store: a Redis Cluster node must be host:port (got ${JSON.stringify(node.slice(0, 80))})`);
    return { host: match[1]!, port: Number(match[2]) };
  });
  const [user, password] = auth === undefined ? [] : auth.includes(':') ? [auth.slice(0, auth.indexOf(':')), auth.slice(auth.indexOf(':') + 1)] : [undefined, auth];
  return {
    nodes: parsed,
    redisOptions: {
      ...(user ? { username: decodeURIComponent(user) } : {}),
      ...(password ? { password: decodeURIComponent(password) } : {}),
      ...(scheme.toLowerCase() === 'rediss' ? { tls: {} } : {}),
    },
  };
}

/** A URL as it may be printed: user and password never are. */
export function describeUrl(value: string): string {
  const cluster = CLUSTER_URL.exec(value);
  if (cluster) return `${cluster[1]!.toLowerCase()}-cluster://${cluster[2] !== undefined ? '***@' : ''}${cluster[3]}`;
  try {
    const url = new URL(value);
    const auth = url.username || url.password ? '***@' : '';
    return `${url.protocol}//${auth}${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** The store in words, for headers and hints: never with credentials. */
export function describeStore(spec: StoreSpec): string {
  if (spec.kind === 'file') return `FileStore ${resolve(spec.dir)}`;
  return `RedisStore ${describeUrl(spec.url)}${spec.prefix ? ` (prefix ${spec.prefix})` : ''}`;
}

/** The `--store` argument to repeat in a printed hint, or '' when the default (or REDIS_URL) already picks this store. */
export function storeArgument(spec: StoreSpec): string {
  if (spec.from !== 'flag') return '';
  if (spec.kind === 'file') return ` --store ${quote(spec.dir)}`;
  if (spec.cluster) {
    if (spec.cluster.redisOptions.password !== undefined) return ' --store <your redis-cluster URL>';
    return ` --store ${quote(`${spec.url}${spec.prefix ? `?prefix=${spec.prefix}` : ''}`)}`;
  }
  // A URL with credentials is not printed: the user passed it, they can pass it again.
  const url = new URL(spec.url);
  if (url.username || url.password) return ' --store <your redis URL>';
  if (spec.prefix) url.searchParams.set('prefix', spec.prefix);
  return ` --store ${quote(url.toString())}`;
}

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * Opens the store. `write: false` (listings) leaves a missing folder
 * uncreated and reads it as empty; anything unreachable comes out as
 * StoreUnavailableError (exit 4).
 */
export async function openStore(spec: StoreSpec, options: { write: boolean }): Promise<SnapshotStore> {
  if (spec.kind === 'redis') {
    // Loaded on demand: a FileStore command never pays for the Redis client, nor needs it installed.
    requirePeer('ioredis', 'a Redis store');
    const { RedisStore } = await import('../persistence/redis/index.js');
    const where = spec.cluster ? { cluster: spec.cluster.nodes, redisOptions: spec.cluster.redisOptions } : {};
    try {
      return await RedisStore.connect(spec.url, { ...where, ...(spec.prefix ? { prefix: spec.prefix } : {}) });
    } catch (error) {
      // The client's own wording (retry counts, option names) helps nobody at 3 a.m.: say where, and the gist.
      if (error instanceof StoreUnavailableError) throw new StoreUnavailableError(`no Redis answers at ${describeUrl(spec.url)}${/credentials/.test(error.message) ? ' with these credentials' : ''}`, { cause: error });
      throw error;
    }
  }
  const { FileStore } = await import('../persistence/file-store.js');
  if (!options.write) {
    const found = await stat(spec.dir).catch(() => null);
    if (found === null) return new FileStore({ dir: spec.dir });
    if (!found.isDirectory()) throw new CliError(ExitCode.storeUnreachable, `store unreachable: ${spec.dir} is not a folder`);
    return new FileStore({ dir: spec.dir });
  }
  return FileStore.open(spec.dir);
}
