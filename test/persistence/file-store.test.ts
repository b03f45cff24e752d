import { appendFile, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptRecordError, StoreUnavailableError } from '../../persistence/errors.js';
import { FileStore } from '../../persistence/file-store.js';
import { journalFileName } from '../../persistence/file/layout.js';
import { describeStoreConformance, freshId, recordOf } from './conformance.js';

const tempDir = () => mkdtemp(join(tmpdir(), 'reins-fs-'));

describeStoreConformance('FileStore', async () => {
  const dir = await tempDir();
  const store = new FileStore({ dir, pollMs: 20 });
  const peers: FileStore[] = [];
  return {
    store,
    peer: async () => {
      const peer = new FileStore({ dir, pollMs: 20 });
      peers.push(peer);
      return peer;
    },
    corrupt: (runId, bytes) => writeFile(join(dir, 'runs', runId, 'record.json'), bytes),
    cleanup: async () => {
      await Promise.all([store, ...peers].map((s) => s.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
});

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('FileStore on disk', () => {
  let dir: string;
  let store: FileStore;
  beforeEach(async () => {
    dir = await tempDir();
    store = await FileStore.open(dir);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const runFile = (runId: string, name: string) => join(dir, 'runs', runId, name);

  it('skips a torn last trace line, and the next append is not swallowed by it', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    await store.traceAppend(id, [{ at: 1, kind: 'a' }]);
    await appendFile(runFile(id, 'trace.jsonl'), '{"n":1,"entry":{"at":2,"ki');
    expect(await store.traceRead(id)).toEqual([{ at: 1, kind: 'a' }]);
    await store.traceAppend(id, [{ at: 3, kind: 'c' }]);
    expect(await store.traceRead(id)).toEqual([{ at: 1, kind: 'a' }, { at: 3, kind: 'c' }]);
  });

  it('skips a torn transcript line and lets the torn step be appended again', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    const lease = await store.acquireLease(id, 'w', 10_000);
    const fence = { leaseToken: lease!.token };
    await store.transcriptAppend(id, 1, ['one'], fence);
    await appendFile(runFile(id, 'transcript.jsonl'), '{"step":2,"messages":["tw');
    expect(await store.transcriptRead(id)).toEqual(['one']);
    await store.transcriptAppend(id, 2, ['two'], fence);
    await store.transcriptAppend(id, 2, ['two'], fence);
    expect(await store.transcriptRead(id)).toEqual(['one', 'two']);
  });

  it('caps the trace at the last 1,000 entries', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    for (let i = 0; i < 25; i++) await store.traceAppend(id, Array.from({ length: 50 }, (_, j) => ({ at: i * 50 + j, kind: 'x' })));
    const trace = await store.traceRead(id);
    expect(trace.length).toBe(1_000);
    expect(trace[0]!.at).toBe(250);
    expect(trace.at(-1)!.at).toBe(1_249);
    const lines = (await readFile(runFile(id, 'trace.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(1_100);
  });

  it('ignores temp files a crashed writer left, and the next lease holder sweeps them', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    const dead = deadPid();
    const leftovers = [runFile(id, `.record.json.${dead}-1.abcd.tmp`), join(dir, 'runs', id, 'journal', `.k.json.${dead}-1.abcd.tmp`), join(dir, 'commands', `.x.json.${dead}-1.abcd.tmp`)];
    for (const path of leftovers) await writeFile(path, '{"half":');
    expect((await store.load(id))?.version).toBe(1);
    expect((await store.list()).map((s) => s.runId)).toEqual([id]);
    expect(await store.journalTrim(id, 100)).toBe(0);
    expect(await store.takeCommands(id)).toEqual([]);
    await store.acquireLease(id, 'w', 1_000);
    const left = [...(await readdir(join(dir, 'runs', id))), ...(await readdir(join(dir, 'runs', id, 'journal'))), ...(await readdir(join(dir, 'commands')))];
    expect(left.filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('breaks a lock left by a dead process, and gives up on one held by a live process', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    await writeFile(runFile(id, 'lock'), JSON.stringify({ pid: deadPid(), started: 1, at: Date.now() }));
    const started = Date.now();
    const lease = await store.acquireLease(id, 'w', 1_000);
    expect(lease?.token).toBe(1);
    expect(Date.now() - started).toBeLessThan(1_000);

    // The parent of this test runner is alive and is not us.
    await writeFile(runFile(id, 'lock'), JSON.stringify({ pid: process.ppid, started: 1, at: Date.now() }));
    await expect(store.renewLease(id, lease!, 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
    await rm(runFile(id, 'lock'));
    expect(await store.renewLease(id, lease!, 1_000)).not.toBeNull();
  }, 10_000);

  it('breaks a lock whose holder was never written, once it is a few seconds old', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    await writeFile(runFile(id, 'lock'), '');
    const old = new Date(Date.now() - 10_000);
    await utimes(runFile(id, 'lock'), old, old);
    expect(await store.acquireLease(id, 'w', 1_000)).not.toBeNull();
  });

  it('treats a lock from an earlier process with our pid (a restarted container) as stale', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    await writeFile(runFile(id, 'lock'), JSON.stringify({ pid: process.pid, started: 1, at: Date.now() }));
    expect(await store.acquireLease(id, 'w', 1_000)).not.toBeNull();
  });

  it('keeps the quarantine until the marker is removed, and lists an unreadable record as quarantined', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    const good = await readFile(runFile(id, 'record.json'), 'utf8');
    await writeFile(runFile(id, 'record.json'), '{"torn');
    expect(await store.list()).toMatchObject([{ runId: id, status: 'quarantined' }]);
    await expect(store.load(id)).rejects.toBeInstanceOf(CorruptRecordError);
    expect(await readFile(runFile(id, 'record.json'), 'utf8')).toBe('{"torn');
    await writeFile(runFile(id, 'record.json'), good);
    await expect(store.load(id)).rejects.toMatchObject({ kind: 'corrupt-record', key: `runs/${id}/record.json` });
    await rm(runFile(id, 'quarantine.json'));
    expect((await store.load(id))?.version).toBe(1);
    expect(await store.list()).toMatchObject([{ runId: id, status: 'running' }]);
  });

  it('stores journal keys with any characters as safe file names', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    const lease = await store.acquireLease(id, 'w', 10_000);
    const keys = [`${id}:1:1`, '../../escape', '.hidden', '', 'ünï/cødé', 'k'.repeat(400)];
    for (const key of keys) expect(await store.journalStart(id, key, 1, { leaseToken: lease!.token })).toBeNull();
    for (const key of keys) expect(await store.journalGet(id, key)).toMatchObject({ key, status: 'started' });
    const names = await readdir(join(dir, 'runs', id, 'journal'));
    expect(names.sort()).toEqual(keys.map(journalFileName).sort());
    expect(names.every((name) => /^[A-Za-z0-9_.:%~-]+\.json$/.test(name) && !name.startsWith('.') && name.length < 200)).toBe(true);
  });

  it('deletes a run atomically: the folder is renamed away, then removed', async () => {
    const id = freshId();
    await store.create(recordOf(id, 1));
    await store.sendCommand(id, { type: 'PAUSE', by: 'op', why: 'x', at: 1 });
    await store.delete(id);
    expect(await readdir(join(dir, 'runs'))).toEqual([]);
    expect(await readdir(join(dir, 'commands'))).toEqual([]);
    await expect(stat(runFile(id, 'record.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    // The id is free again.
    await store.create(recordOf(id, 1));
    expect((await store.load(id))?.version).toBe(1);
  });

  it('lists a few thousand runs quickly', async () => {
    const ids = Array.from({ length: 2_000 }, () => freshId('many'));
    const snapshot = { value: 'planning', context: { notes: 'x'.repeat(4_000) } };
    for (let i = 0; i < ids.length; i += 100) await Promise.all(ids.slice(i, i + 100).map((id, j) => store.create(recordOf(id, 1, { updatedAt: i + j }, snapshot))));
    const started = performance.now();
    const page = await store.list({ limit: 20 });
    const ms = performance.now() - started;
    console.log(`list() over ${ids.length} runs with 4 KB snapshots: ${ms.toFixed(0)} ms`);
    expect(page.map((s) => s.updatedAt)).toEqual(Array.from({ length: 20 }, (_, i) => 1_999 - i));
    // ~0.3 s here; the bound only catches a listing that reads far more than it needs.
    expect(ms).toBeLessThan(5_000);
  }, 60_000);
});
