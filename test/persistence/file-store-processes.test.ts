import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitOf } from '../../persistence/commit.js';
import { FileStore } from '../../persistence/file-store.js';
import { scriptArgs } from '../support/child-script.js';
import { sleep } from '../support/tools.js';
import { recordOf } from './conformance.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A fixture script in a child process, its stdout collected line by line. */
interface Child {
  readonly lines: string[];
  /** Resolves with the exit code (null when killed) once all output is read. */
  readonly exited: Promise<number | null>;
  readonly running: () => boolean;
  /** Resolves once the child has written a line that `match` accepts; rejects if it exits first. No clock: a loaded machine only makes it later. */
  readonly line: (match: (line: string) => boolean) => Promise<void>;
  /** Waits until the child has loaded, then lets it start. */
  readonly go: () => Promise<void>;
  /** Writes a line to the child's stdin. */
  readonly say: (line: string) => void;
  readonly kill: () => void;
}

/**
 * Each test's timeout is a hang guard sized by the child processes it starts, not a budget: no step waits on a
 * clock (a child's line or its exit decides), so a loaded machine makes a test slower, never failed.
 */
const PER_CHILD_MS = 60_000;
/** Writers killed in the SIGKILL test, one per trial. */
const TRIALS = 30;

/** Children still to be reaped, so that a failed or timed-out test does not leave them writing into a removed folder. */
const children = new Set<Child>();

function start(fixture: string, args: string[]): Child {
  const proc = spawn(process.execPath, [...scriptArgs(join(FIXTURES, fixture)), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const seen = new EventEmitter();
  createInterface({ input: proc.stdout }).on('line', (line) => {
    lines.push(line);
    seen.emit('line');
  });
  const exited = new Promise<number | null>((resolve) => proc.once('close', resolve));
  const line = (match: (line: string) => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!lines.some(match)) return;
        seen.off('line', check);
        resolve();
      };
      seen.on('line', check);
      check();
      void exited.then((code) => {
        seen.off('line', check);
        reject(new Error(`${fixture} exited (${code}) before the line the test waits for; it wrote:\n${lines.join('\n')}`));
      });
    });
  const child: Child = {
    lines,
    exited,
    running: () => proc.exitCode === null && proc.signalCode === null,
    line,
    go: async () => {
      await line((l) => l === 'ready');
      proc.stdin.write('go\n');
    },
    say: (line) => proc.stdin.write(`${line}\n`),
    kill: () => proc.kill('SIGKILL'),
  };
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

/** The numbers after `word` on each line that starts with it. */
function reported(child: Child, word: string): number[][] {
  return child.lines.filter((line) => line.startsWith(`${word} `)).map((line) => line.split(' ').slice(1).map(Number));
}

describe('FileStore shared by processes', () => {
  let dir: string;
  let store: FileStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reins-fs-'));
    store = await FileStore.open(dir);
  });
  afterEach(async () => {
    for (const child of children) child.kill();
    await Promise.all([...children].map((child) => child.exited));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('two processes racing for one run: every save is compare-and-set, none lost, one writer at a time', async () => {
    const id = 'contended';
    const saves = 200;
    await store.create(recordOf(id, 1));
    const writers = (['a', 'b'] as const).map((owner) => ({ owner, child: start('cas-hammer.ts', [dir, id, owner, String(saves), '5']) }));
    await Promise.all(writers.map((w) => w.child.go()));

    // Meanwhile, this process reads: every read parses, and versions never go back.
    let reads = 0;
    const bad: string[] = [];
    const reading = (async () => {
      for (let seen = 1; writers.some((w) => w.child.running()); await sleep(1)) {
        try {
          const version = (await store.load(id))!.version;
          if (version < seen) bad.push(`read version ${version} after ${seen}`);
          seen = version;
        } catch (err) {
          bad.push(String(err));
        }
        reads++;
      }
    })();
    const codes = await Promise.all(writers.map((w) => w.child.exited));
    await reading;
    expect(bad).toEqual([]);
    expect(codes).toEqual([0, 0]);

    const acks = writers
      .flatMap(({ owner, child }) => reported(child, 'ack').map(([version, token]) => ({ owner, version: version!, token: token! })))
      .sort((x, y) => x.version - y.version);
    // No lost update: versions 2..401 each acknowledged exactly once, across both writers.
    expect(acks.map((a) => a.version)).toEqual(Array.from({ length: 2 * saves }, (_, i) => i + 2));
    // One writer at a time: fencing tokens never go back along the versions, and each token has one owner.
    const ownerOf = new Map<number, string>();
    acks.forEach((a, i) => {
      if (i > 0) expect(a.token).toBeGreaterThanOrEqual(acks[i - 1]!.token);
      expect(ownerOf.get(a.token) ?? a.owner).toBe(a.owner);
      ownerOf.set(a.token, a.owner);
    });
    const last = acks.at(-1)!;
    const final = await store.load(id);
    expect(final).toMatchObject({ version: 2 * saves + 1, snapshot: { owner: last.owner, token: last.token } });

    const [staleLease, staleVersion] = writers.map((w) => reported(w.child, 'refused')[0]!).reduce((x, y) => [x[0]! + y[0]!, x[1]! + y[1]!]);
    console.log(
      `cas: ${acks.length} acknowledged saves by 2 processes under ${ownerOf.size} successive leases, ` +
        `${staleLease} refused as StaleLeaseError, ${staleVersion} as StaleVersionError, ${reads} concurrent reads all whole`,
    );
    expect(ownerOf.size).toBeGreaterThan(2);
    expect(staleLease).toBeGreaterThan(0);
    expect(staleVersion).toBeGreaterThan(0);
  }, 2 * PER_CHILD_MS);

  it('a writer of another process whose lease expired and was taken is refused, though its cached state says it owns the run', async () => {
    const id = 'stale';
    await store.create(recordOf(id, 1));
    const child = start('stale-writer.ts', [dir, id, '200']);
    await child.go();
    await child.line((line) => line.startsWith('ack '));
    const [[version, token]] = reported(child, 'ack') as [[number, number]];
    expect(version).toBe(2);
    await sleep(250);
    const lease = await store.acquireLease(id, 'parent', 10_000);
    expect(lease!.token).toBe(token + 1);
    await store.commit(commitOf(id, { record: recordOf(id, 3), trace: [{ at: 1, kind: 'parent' }] }), { leaseToken: lease!.token });
    child.say('again');
    expect(await child.exited).toBe(0);
    expect(child.lines).toContain('refused StaleLeaseError');

    // Nothing of the refused commit landed.
    const fresh = new FileStore({ dir });
    expect(await fresh.load(id)).toEqual(recordOf(id, 3));
    expect(await fresh.journalGet(id, 'child:1')).toMatchObject({ status: 'started', token });
    expect(await fresh.journalGet(id, 'child:2')).toBeNull();
    expect(await fresh.transcriptRead(id)).toEqual([]);
    expect(await fresh.traceRead(id)).toEqual([{ at: 1, kind: 'parent' }]);
  }, PER_CHILD_MS);

  it('a writer killed with SIGKILL at random points leaves the record whole, at the last acknowledged version or the next', async () => {
    const id = 'killed';
    const trials = TRIALS;
    await store.create(recordOf(id, 1));
    const outcome = { atAck: 0, oneAhead: 0, lockLeft: 0, tempLeft: 0, tornTail: 0 };
    let stored = 1;
    // The next writer loads while the current one runs: a child needs ~0.5 s to start.
    let next = start('save-loop.ts', [dir, id]);
    for (let trial = 0; trial < trials; trial++) {
      const writer = next;
      next = start('save-loop.ts', [dir, id]);
      await writer.go();
      // Killed at a random point of its save loop, once it is in it.
      await writer.line((line) => line.startsWith('ack '));
      await sleep(Math.random() * 60);
      expect(writer.running()).toBe(true);
      writer.kill();
      await writer.exited;

      const lastAck = Math.max(stored, ...reported(writer, 'ack').map(([v]) => v!));
      const left = await readdir(join(dir, 'runs', id));
      if (left.includes('lock')) outcome.lockLeft++;
      if (left.some((name) => name.endsWith('.tmp'))) outcome.tempLeft++;
      // Killed mid-append: the log ends in part of a line, which no reader takes for a commit.
      if ((await readFile(join(dir, 'runs', id, 'run.log'))).at(-1) !== 0x0a) outcome.tornTail++;
      const record = await store.load(id);
      expect([lastAck, lastAck + 1]).toContain(record!.version);
      expect((await new FileStore({ dir }).load(id))?.version).toBe(record!.version);
      if (record!.version === lastAck) outcome.atAck++;
      else outcome.oneAhead++;
      stored = record!.version;
    }
    console.log(
      `kill -9: ${trials} trials, record whole every time; at the last ack ${outcome.atAck}, one ahead (killed between its write and its ack) ${outcome.oneAhead}; ` +
        `left a lock ${outcome.lockLeft}, left a temp file ${outcome.tempLeft}, left a torn last line ${outcome.tornTail}; final version ${stored}`,
    );

    // This process takes the run over: it breaks the dead writer's lock, sweeps its temp files, and saves.
    const lease = await store.acquireLease(id, 'writer', 1_000);
    await store.save(recordOf(id, stored + 1), { leaseToken: lease!.token });
    expect((await store.load(id))?.version).toBe(stored + 1);
    expect((await readdir(join(dir, 'runs', id))).filter((name) => name.endsWith('.tmp') || name === 'lock')).toEqual([]);
    expect((await readFile(join(dir, 'runs', id, 'run.log'))).at(-1)).toBe(0x0a);
  }, (TRIALS + 1) * PER_CHILD_MS);
});
