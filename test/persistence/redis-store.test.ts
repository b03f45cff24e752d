import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CorruptRecordError, StaleLeaseError, StaleVersionError, StoreUnavailableError } from '../../persistence/errors.js';
import { commitOf } from '../../persistence/commit.js';
import { RedisStore } from '../../persistence/redis-store.js';
import { allRunKeys, hashSlot, hashTag, indexKeys, indexSetsFor, runKeys } from '../../persistence/redis/keys.js';
import { defineScripts, runScript } from '../../persistence/redis/scripts.js';
import { freePort, hasRedisServer, startRedis, type RedisServer } from '../support/redis-server.js';
import { describeStoreConformance, freshId, recordOf } from './conformance.js';

const url = inject('redisUrl');
// Tests that start their own server (password, TLS, AOF crash) need the binary; with only REDIS_URL they are skipped.
const ownServers = hasRedisServer();
// One prefix per test file: files sharing the run's Redis never see each other's runs or index (purge included).
const prefix = `t${process.pid}-${Date.now().toString(36)}`;

describeStoreConformance('RedisStore', async () => {
  const store = new RedisStore({ url, prefix });
  const raw = new Redis(url);
  return {
    store,
    peer: async () => new RedisStore({ url, prefix }),
    corrupt: async (runId, bytes) => {
      await raw.set(runKeys(runId, prefix).run, bytes);
    },
    damageSummary: async (runId, bytes) => {
      await raw.set(runKeys(runId, prefix).summary, bytes);
    },
    cleanup: async () => {
      await store.close();
      await raw.quit();
    },
  };
});

describe('RedisStore on Redis', () => {
  let store: RedisStore;
  let raw: Redis;
  beforeAll(() => {
    store = new RedisStore({ url, prefix });
    raw = new Redis(url);
  });
  afterAll(async () => {
    await store.close();
    await raw.quit();
  });

  /** Every key of this file's prefix that mentions the run. */
  const keysOf = async (runId: string): Promise<string[]> => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      cursor = next;
      found.push(...keys.filter((k) => k.includes(`{${runId}}`)));
    } while (cursor !== '0');
    return found.sort();
  };

  it('keeps every key of a run in one Cluster slot, and the index in another', async () => {
    expect(hashSlot('foo')).toBe(12_182); // CLUSTER KEYSLOT foo, from the Redis Cluster spec
    expect(hashSlot('{user1000}.following')).toBe(hashSlot('{user1000}.followers'));
    const id = freshId();
    const declared = allRunKeys(runKeys(id, prefix));
    expect(new Set(declared.map(hashTag))).toEqual(new Set([id]));
    const index = [...indexSetsFor({ status: 'done', agentId: 'a{b}', reason: 'COMPLETED', parentId: 'p' }, prefix), indexKeys(prefix).entries];
    expect(new Set(index.map(hashTag))).toEqual(new Set(['index']));

    // Exercise everything a run has, then check what actually landed in Redis.
    await store.create(recordOf(id, 1));
    const lease = (await store.acquireLease(id, 'w', 5_000))!;
    const fence = { leaseToken: lease.token };
    await store.journalStart(id, 'k1', 1, fence);
    await store.transcriptAppend(id, 1, [{ role: 'user', content: 'hi' }], fence);
    await store.traceAppend(id, [{ at: 1, kind: 'transition' }]);
    await store.sendCommand(id, { type: 'PAUSE', by: 'op', why: 'x', at: 1 });
    await raw.set(runKeys(id, prefix).run, 'garbage');
    await expect(store.load(id)).rejects.toBeInstanceOf(CorruptRecordError);
    const used = await keysOf(id);
    expect(used).toEqual([...declared].sort());
    expect(new Set(used.map(hashSlot)).size).toBe(1);

    await store.delete(id);
    expect(await keysOf(id)).toEqual([]);
    expect(await raw.hget(indexKeys(prefix).entries, id)).toBeNull();
  });

  it('caps the trace stream near traceCap and reads back exactly the newest entries', async () => {
    const capped = new RedisStore({ url, prefix, traceCap: 10 });
    try {
      const id = freshId();
      await capped.create(recordOf(id, 1));
      for (let batch = 0; batch < 10; batch++) {
        await capped.traceAppend(id, Array.from({ length: 50 }, (_, i) => ({ at: batch * 50 + i, kind: 'tick' })));
      }
      // MAXLEN ~ trims whole stream nodes (100 entries by default), never below the cap.
      const length = await raw.xlen(runKeys(id, prefix).trace);
      expect(length).toBeGreaterThanOrEqual(10);
      expect(length).toBeLessThanOrEqual(10 + 100);
      expect((await capped.traceRead(id)).map((e) => e.at)).toEqual(Array.from({ length: 10 }, (_, i) => 490 + i));
    } finally {
      await capped.close();
    }
  });

  it('leaves a corrupt record byte for byte as it was', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    const key = runKeys(id, prefix).run;
    await raw.set(key, '{"schema":1,"version":"oops"');
    const err = (await store.load(id).catch((e: unknown) => e)) as CorruptRecordError;
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect(err.key).toBe(key);
    expect(await raw.get(key)).toBe('{"schema":1,"version":"oops"');
    expect(await raw.exists(runKeys(id, prefix).quarantine)).toBe(1);
  });

  it('a summary that does not parse is rewritten from the record, not quarantined; a garbage record is, bytes and all', async () => {
    const k = (id: string) => runKeys(id, prefix);
    const done = freshId();
    await store.create(recordOf(done, 1));
    const lease = (await store.acquireLease(done, 'w', 5_000))!;
    const finished = recordOf(done, 2, { status: 'done', reason: 'COMPLETED', createdAt: 1_700_000_000_000, updatedAt: 1_700_000_060_000 });
    await store.save(finished, { leaseToken: lease.token });
    const sound = await raw.get(k(done).summary);
    await raw.set(k(done).summary, 'garbage');
    expect((await store.list()).find((s) => s.runId === done)).toEqual(finished.summary);
    expect(await raw.get(k(done).summary)).toBe(sound);
    expect(await raw.exists(k(done).quarantine)).toBe(0);
    // A summary key lost altogether is the same damage.
    await raw.del(k(done).summary);
    expect((await store.list({ status: 'done' })).map((s) => s.runId)).toContain(done);
    expect(await raw.get(k(done).summary)).toBe(sound);

    // Both damaged: the record is at fault, so the run is quarantined and neither key is touched.
    const bad = freshId();
    await store.create(recordOf(bad, 1));
    await raw.set(k(bad).run, 'torn record');
    await raw.set(k(bad).summary, 'torn summary');
    expect((await store.list()).find((s) => s.runId === bad)?.status).toBe('quarantined');
    expect((await store.list({ status: 'quarantined' })).map((s) => s.runId)).toContain(bad);
    const err = await store.load(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect(err).toMatchObject({ runId: bad, key: k(bad).run });
    expect([await raw.get(k(bad).run), await raw.get(k(bad).summary)]).toEqual(['torn record', 'torn summary']);
    expect(JSON.parse((await raw.get(k(bad).quarantine))!)).toMatchObject({ key: k(bad).run, detail: 'not JSON' });
  });

  it('a rebuilt summary is not written over a commit that replaced the record meanwhile', async () => {
    const id = freshId();
    const k = runKeys(id, prefix);
    await store.create(recordOf(id, 1));
    const lease = (await store.acquireLease(id, 'w', 5_000))!;
    const before = (await raw.get(k.run))!;
    await store.save(recordOf(id, 2), { leaseToken: lease.token });
    const committed = await raw.get(k.summary);
    // The repair a reader would make from the record it read before that commit.
    defineScripts(raw);
    expect(await runScript(raw, 'repair-summary', [k.run, k.summary], [before, JSON.stringify({ version: 1, summary: recordOf(id, 1).summary })])).toBe(0);
    expect(await raw.get(k.summary)).toBe(committed);
    await store.save(recordOf(id, 3), { leaseToken: lease.token });
    expect((await store.load(id))?.version).toBe(3);
  });

  it('commands queued by the previous release (plain Command JSON) get ids when first read, in place, and are acknowledged like any other', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    const lease = await store.acquireLease(id, 'w', 10_000);
    const k = runKeys(id, prefix);
    const old = { type: 'APPROVE', by: 'op', at: 1 } as const;
    await raw.rpush(k.commands, JSON.stringify(old));
    const pause = { type: 'PAUSE', by: 'op', why: 'look', at: 2 } as const;
    await store.sendCommand(id, pause);
    const peeked = await store.peekCommands(id);
    expect(peeked).toEqual([
      { id: '2', command: old },
      { id: '1', command: pause },
    ]);
    expect(await store.peekCommands(id)).toEqual(peeked);
    await store.commit(commitOf(id, { record: recordOf(id, 2), ackCommands: ['2'] }), { leaseToken: lease!.token });
    expect(await store.peekCommands(id)).toEqual([peeked[1]]);
  });

  it('a corrupt journal entry or queued command is a typed error and is left in place', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    const k = runKeys(id, prefix);
    await raw.hset(k.journal, 'key-1', '{"status":"started"');
    await expect(store.journalGet(id, 'key-1')).rejects.toBeInstanceOf(CorruptRecordError);
    const good = { type: 'RESUME', by: 'op', at: 1 } as const;
    await store.sendCommand(id, good);
    await raw.rpush(k.commands, '{"type":"NOPE"}');
    await expect(store.peekCommands(id)).rejects.toBeInstanceOf(CorruptRecordError);
    expect(await raw.lrange(k.commands, 0, -1)).toEqual([`{"seq":1,${JSON.stringify(good).slice(1)}`, '{"seq":2,"type":"NOPE"}']);
    expect((await store.list({ status: 'quarantined' })).map((s) => s.runId)).toContain(id);
    // A quarantined run refuses saves, naming the key that did not parse.
    const lease = (await store.acquireLease(id, 'w', 5_000))!;
    const err = (await store.save(recordOf(id, 2), { leaseToken: lease.token }).catch((e: unknown) => e)) as CorruptRecordError;
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect(err.key).toBe(`${k.journal}[key-1]`);
  });

  it('list() trusts the record over the index: stale entries are dropped and repaired', async () => {
    const agent = freshId('agent');
    const done = freshId();
    await store.create(recordOf(done, 1, { agentId: agent, status: 'done', reason: 'COMPLETED', updatedAt: 50 }));
    const ix = indexKeys(prefix);
    // As if a crash had left the run in the running set, and a deleted run in the index.
    await raw.zadd(ix.status('running'), 50, done);
    const ghost = freshId('ghost');
    await raw.zadd(ix.agent(agent), 60, ghost);
    expect((await store.list({ status: 'running', agentId: agent })).map((s) => s.runId)).toEqual([]);
    expect((await store.list({ agentId: agent })).map((s) => [s.runId, s.status])).toEqual([[done, 'done']]);
    expect(await raw.zscore(ix.status('running'), done)).toBeNull();
    expect(await raw.zscore(ix.agent(agent), ghost)).toBeNull();
  });

  it('purge decides by each run\'s own record, not the index, and keeps quarantined runs', async () => {
    const ix = indexKeys(prefix);
    const live = freshId();
    const quarantined = freshId();
    await store.create(recordOf(live, 1, { updatedAt: 7 }));
    await store.create(recordOf(quarantined, 1, { status: 'done', reason: 'COMPLETED', updatedAt: 7 }));
    await raw.zadd(ix.status('done'), 7, live); // a stale index entry
    await raw.set(runKeys(quarantined, prefix).run, 'torn');
    await expect(store.load(quarantined)).rejects.toBeInstanceOf(CorruptRecordError);
    await store.purge(100);
    expect(await store.load(live)).not.toBeNull();
    expect(await raw.get(runKeys(quarantined, prefix).run)).toBe('torn');
    expect(await raw.zscore(ix.status('done'), live)).toBeNull();
  });

  it('survives a flushed script cache (EVALSHA falls back to EVAL), as after a Redis restart', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    await raw.script('FLUSH');
    const lease = await store.acquireLease(id, 'w', 1_000);
    expect(lease?.token).toBe(1);
  });

  it('commits of several runs made in the same tick leave as one pipeline, each fenced and versioned on its own', async () => {
    const client = new Redis(url);
    const batched = new RedisStore({ redis: client, prefix });
    try {
      const ids = [freshId(), freshId(), freshId()];
      const tokens: number[] = [];
      for (const id of ids) {
        await batched.create(recordOf(id, 1));
        tokens.push((await batched.acquireLease(id, 'w', 60_000))!.token);
      }
      // What each pipeline carried when it left.
      const sent: number[] = [];
      const pipeline = client.pipeline.bind(client);
      client.pipeline = ((...args: Parameters<Redis['pipeline']>) => {
        const p = pipeline(...args);
        const exec = p.exec.bind(p);
        p.exec = ((...a: Parameters<typeof p.exec>) => (sent.push(p.length), exec(...a))) as typeof p.exec;
        return p;
      }) as Redis['pipeline'];
      const results = await Promise.allSettled([
        batched.commit(commitOf(ids[0]!, { record: recordOf(ids[0]!, 2), journalStart: { key: 'k', step: 2 } }), { leaseToken: tokens[0]! }),
        batched.commit(commitOf(ids[1]!, { record: recordOf(ids[1]!, 2), journalStart: { key: 'k', step: 2 } }), { leaseToken: tokens[1]! + 1 }),
        batched.commit(commitOf(ids[2]!, { record: recordOf(ids[2]!, 3) }), { leaseToken: tokens[2]! }),
      ]);
      expect(sent[0]).toBe(3);
      expect(results[0]).toEqual({ status: 'fulfilled', value: { existing: null } });
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StaleLeaseError);
      expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(StaleVersionError);
      expect((await batched.load(ids[0]!))?.version).toBe(2);
      expect((await batched.load(ids[1]!))?.version).toBe(1);
      expect((await batched.load(ids[2]!))?.version).toBe(1);
      expect(await batched.journalGet(ids[0]!, 'k')).toMatchObject({ status: 'started', step: 2 });
      expect(await batched.journalGet(ids[1]!, 'k')).toBeNull();
    } finally {
      await batched.close();
      await client.quit();
    }
  });

  it('takes lease times from the Redis server clock', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    const [sec, micro] = await raw.time();
    const serverNow = Number(sec) * 1_000 + Math.floor(Number(micro) / 1_000);
    const lease = (await store.acquireLease(id, 'w', 60_000))!;
    expect(lease.expiresAt - 60_000).toBeGreaterThanOrEqual(serverNow);
    expect(lease.expiresAt - 60_000).toBeLessThan(serverNow + 1_000);
    await store.releaseLease(id, lease);
    expect(await store.readLease(id)).toEqual({ owner: 'w', token: lease.token, expiresAt: 0 });
  });
});

describe('RedisStore connections', () => {
  it('an unreachable Redis is StoreUnavailableError within seconds, with no stray error events', async () => {
    const port = await freePort(); // closed again: nothing listens there
    const started = Date.now();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix });
    try {
      await expect(store.load(freshId())).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.watchCommands(() => {})).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await store.close();
    }
    await expect(RedisStore.connect(`redis://127.0.0.1:${port}`)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it.skipIf(!ownServers)('with AOF (appendfsync always), an acknowledged save survives SIGKILL of redis-server, and the store reconnects', async () => {
    const server = await startRedis({ appendonly: true, appendfsync: 'always' });
    const store = new RedisStore({ url: server.url, prefix });
    try {
      const id = freshId();
      await store.create(recordOf(id, 1));
      const lease = (await store.acquireLease(id, 'w', 60_000))!;
      await store.save(recordOf(id, 2), { leaseToken: lease.token });
      const pid = server.pid;
      await server.kill9();
      await expect(store.load(id)).rejects.toBeInstanceOf(StoreUnavailableError);
      await server.restart();
      expect(server.pid).not.toBe(pid);
      let loaded = null;
      for (let i = 0; i < 50 && loaded === null; i++) loaded = await store.load(id).catch(() => null);
      expect(loaded?.version).toBe(2);
      expect((await store.readLease(id))?.token).toBe(lease.token);
    } finally {
      await store.close();
      await server.stop();
    }
  });

  describe.skipIf(!ownServers)('with a password', () => {
    const password = 'p@ss:w/rd s3cret';
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedis({ password });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('works through redis://:password@host:port (percent-encoded)', async () => {
      expect(server.url).toContain(encodeURIComponent(password));
      const store = await RedisStore.connect(server.url, { prefix });
      try {
        const id = freshId();
        await store.create(recordOf(id, 1));
        expect((await store.load(id))?.version).toBe(1);
      } finally {
        await store.close();
      }
    });

    it('a wrong or missing password is StoreUnavailableError that does not echo the password', async () => {
      for (const bad of [`redis://:wrong-${encodeURIComponent(password)}@127.0.0.1:${server.port}`, `redis://127.0.0.1:${server.port}`]) {
        const store = new RedisStore({ url: bad, prefix });
        try {
          const err = (await store.load(freshId()).catch((e: unknown) => e)) as Error;
          expect(err).toBeInstanceOf(StoreUnavailableError);
          expect(err.message).toMatch(/credentials/);
          expect(err.message).not.toContain(password);
        } finally {
          await store.close();
        }
      }
    });
  });

  describe.skipIf(!ownServers)('over TLS', () => {
    let dir: string;
    let server: RedisServer | null = null;
    let skipReason: string | null = null;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'reins-tls-'));
      const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
          '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      } catch {
        skipReason = 'openssl is not available to make a test certificate';
        return;
      }
      try {
        server = await startRedis({ tls: { certFile: cert, keyFile: key, caFile: cert } });
      } catch (err) {
        if (!/tls/i.test(String(err))) throw err;
        skipReason = 'this redis-server was built without TLS support';
      }
    });
    afterAll(async () => {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('connects with rediss:// and a private CA', async (ctx) => {
      if (!server) return ctx.skip(skipReason ?? 'no TLS server');
      expect(server.url.startsWith('rediss://')).toBe(true);
      const ca = readFileSync(join(dir, 'cert.pem'));
      const store = await RedisStore.connect(server.url, { prefix, redisOptions: { tls: { ca } } });
      try {
        const id = freshId();
        await store.create(recordOf(id, 1));
        expect((await store.load(id))?.version).toBe(1);
      } finally {
        await store.close();
      }
      // Without the CA the certificate is not trusted: a typed error, not a hang.
      const untrusted = new RedisStore({ url: server.url, prefix });
      try {
        await expect(untrusted.load(freshId())).rejects.toBeInstanceOf(StoreUnavailableError);
      } finally {
        await untrusted.close();
      }
    });
  });
});
