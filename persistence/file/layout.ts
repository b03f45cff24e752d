import { createHash, randomBytes } from 'node:crypto';
import { join, relative } from 'node:path';

/** A run's log and the files that follow it. */
export interface RunFiles {
  readonly log: string;
  readonly summary: string;
  readonly transcript: string;
}

/**
 * Where a FileStore keeps things, built in this one place. Inside the store's
 * folder (`.reins/` unless configured):
 *
 *   runs/<runId>/run.log           the run's commit log: record, journal, transcript steps and trace, one
 *                                  line per commit (see log-frame.ts, log-line.ts); compacted when it grows
 *   runs/<runId>/summary           the run's summary for list(), a cache of the log (see summary-slot.ts)
 *   runs/<runId>/transcript.jsonl  transcript steps compactions moved out of the log (see sealed-transcript.ts)
 *   runs/<runId>/lease.json        the lease; kept after release (expiresAt 0) so tokens only grow
 *   runs/<runId>/lock              the run's lock, present only while a process writes the run: a hard
 *                                  link to that process's .lock-holder.<pid>-<started> (see lock.ts)
 *   runs/<runId>/quarantine.json   marker: refused until an operator repairs the run and deletes it
 *   runs/.deleted-<runId>-<rand>/   a run being deleted: renamed away first, so deletion is atomic
 *   commands/<runId>~<seq>~<pid>-<rand>.json   one queued operator command; names sort in send order
 *   approvals/<itemId>.json         one approval item (id encoded by safeFileName); approvals/.lock serialises decisions
 *   rates/<key>.json                one rate-limit bucket (GCRA state and concurrency holders); rates/.<key>.json.lock
 *   .lock-holder.<pid>-<started>    a process's lock holder file, which every lock it takes links to
 *
 * Names starting with "." are never data (temp files, deleted runs), and run
 * ids cannot start with one.
 */
export class FileLayout {
  readonly root: string;
  readonly runs: string;
  readonly commands: string;
  readonly approvals: string;
  readonly rates: string;

  constructor(root: string) {
    this.root = root;
    this.runs = join(root, 'runs');
    this.commands = join(root, 'commands');
    this.approvals = join(root, 'approvals');
    this.rates = join(root, 'rates');
  }

  /** One approval item. */
  approval(itemId: string): string {
    return join(this.approvals, safeFileName(itemId));
  }
  /** The lock every approval decision takes: decide is a compare-and-set across processes. */
  approvalsLock(): string {
    return join(this.approvals, '.lock');
  }
  /** One rate-limit bucket's state. */
  rate(key: string): string {
    return join(this.rates, safeFileName(key));
  }
  /** The lock of one bucket. */
  rateLock(key: string): string {
    return `${this.rate(key)}.lock`.replace(/([^/]+)$/, '.$1');
  }

  /** The run's directory. */
  runDir(runId: string): string {
    return join(this.runs, runId);
  }
  /** The run's files that a commit writes. */
  runFiles(runId: string): RunFiles {
    const dir = join(this.runs, runId);
    return { log: join(dir, 'run.log'), summary: join(dir, 'summary'), transcript: join(dir, 'transcript.jsonl') };
  }
  /** The record of a run stored by the previous layout, which is moved into a log when first used (see legacy-layout.ts). */
  legacyRecord(runId: string): string {
    return join(this.runs, runId, 'record.json');
  }
  /** The run's lease. */
  lease(runId: string): string {
    return join(this.runs, runId, 'lease.json');
  }
  /** The run's lock file. */
  lock(runId: string): string {
    return join(this.runs, runId, 'lock');
  }
  /** The run's quarantine marker. */
  quarantine(runId: string): string {
    return join(this.runs, runId, 'quarantine.json');
  }
  /** A fresh name to rename the run's directory to while it is deleted. */
  trash(runId: string): string {
    return join(this.runs, `.deleted-${runId}-${randomBytes(4).toString('hex')}`);
  }
  /** A file in commands/ for the run's next command; `seq` orders the queue. */
  command(runId: string, seq: number): string {
    return join(this.commands, `${runId}~${String(seq).padStart(SEQ_DIGITS, '0')}~${process.pid}-${randomBytes(4).toString('hex')}.json`);
  }
  /** The path as named in error messages: relative to the store's folder. */
  key(path: string): string {
    return relative(this.root, path);
  }
}

/** Microseconds since the epoch fit in 16 digits until the year 2286. */
const SEQ_DIGITS = 16;
const COMMAND_NAME = /^([^~]+)~(\d{16}~\d+-[0-9a-f]+)\.json$/;

/** The run a command file is queued for; null for anything else in the folder (temp files). */
export function commandRunId(name: string): string | null {
  return COMMAND_NAME.exec(name)?.[1] ?? null;
}

/** A command file's id: its name between the run id and `.json` (its seq, pid and random part, unique). */
export function commandId(name: string): string | null {
  return COMMAND_NAME.exec(name)?.[2] ?? null;
}

/** Whether a directory entry holds data rather than a temp file. */
export function isDataFile(name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('.');
}

/** File names get at most this much of an encoded key; longer keys are shortened with a hash (names are limited to 255 bytes). */
const MAX_KEY_NAME = 160;
const SAFE_BYTE = /[A-Za-z0-9_.:-]/;

/**
 * A key (approval item id, rate bucket) as a file name: bytes outside
 * [A-Za-z0-9_.:-] become %XX, a leading "." too (it would read as a temp
 * file), the empty key is "%" (no other key encodes to it), and a long key
 * keeps a prefix plus its sha256 ("~" never appears in an encoded key).
 */
export function safeFileName(key: string): string {
  let name = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const ch = String.fromCharCode(byte);
    name += byte < 0x80 && SAFE_BYTE.test(ch) && !(name === '' && ch === '.') ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (name === '') name = '%';
  if (name.length > MAX_KEY_NAME) name = `${name.slice(0, MAX_KEY_NAME - 65)}~${createHash('sha256').update(key).digest('hex')}`;
  return `${name}.json`;
}
