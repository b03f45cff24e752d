import { createHash, randomBytes } from 'node:crypto';

/**
 * The bytes of a run log: a header line naming this log file, then one line
 * per commit, `<checksum> <payload>\n` (the payload is JSON text, see
 * log-line.ts). JSON text never holds a raw newline, so a line's newline is
 * its last byte: a write that a kill -9 (or a full disk) cut short leaves a
 * last line without one, a torn tail, which is not a commit (it was never
 * synced, so never acknowledged) and which the next writer cuts off. A line
 * that has its newline was written whole: if its checksum fails, the bytes
 * changed after they were written, wherever the line is, and that is
 * corruption, never a tail to drop (dropping a commit that was acknowledged
 * would roll the run back behind its caller's back).
 */

const MAGIC = 'reins-log 1 ';
const ID_HEX = 16;
/** The header's length: magic, the log's random id, newline. */
export const HEADER_BYTES = MAGIC.length + ID_HEX + 1;
/** Hex digits of a line's checksum: 64 bits tell a torn or damaged line from a whole one; it is no defence against forgery. */
const SUM_HEX = 16;
const NEWLINE = 0x0a;

/**
 * A new log's header. The id tells a reader that the file at the log's path
 * is still the one it read before: a compaction replaces the file, and inode
 * numbers are reused.
 */
export function newHeader(): { id: string; text: string } {
  const id = randomBytes(ID_HEX / 2).toString('hex');
  return { id, text: `${MAGIC}${id}\n` };
}

/** The log id in a header, or null when the bytes are not one. */
export function headerId(bytes: Buffer): string | null {
  const text = bytes.toString('latin1', 0, HEADER_BYTES);
  return text.length === HEADER_BYTES && text.startsWith(MAGIC) && text.endsWith('\n') ? text.slice(MAGIC.length, -1) : null;
}

/** One line of the log carrying `payload` (text without a newline). */
export function frame(payload: string): string {
  return `${hash(payload)} ${payload}\n`;
}

/** What a stretch of log bytes holds. */
export interface Frames {
  /** The payloads of the whole lines, in order, each with the file offset just past its line. */
  readonly lines: { readonly payload: string; readonly end: number }[];
  /** The file offset where the good lines stop. */
  readonly end: number;
  /** What follows `end`: nothing; a torn tail (bytes without a newline); or a whole line whose checksum fails. */
  readonly rest: 'none' | 'torn' | 'corrupt';
}

/** Splits `bytes`, which start at file offset `at`, into checked lines, stopping at the first whole line that fails its checksum. */
export function readFrames(bytes: Buffer, at: number): Frames {
  const lines: { payload: string; end: number }[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(NEWLINE, start); nl >= 0; nl = bytes.indexOf(NEWLINE, start)) {
    const payload = checked(bytes, start, nl);
    if (payload === null) return { lines, end: at + start, rest: 'corrupt' };
    start = nl + 1;
    lines.push({ payload, end: at + start });
  }
  return { lines, end: at + start, rest: start < bytes.length ? 'torn' : 'none' };
}

/** The payload of the line in bytes [start, nl), or null when its checksum does not match. */
function checked(bytes: Buffer, start: number, nl: number): string | null {
  if (nl - start < SUM_HEX + 1 || bytes[start + SUM_HEX] !== 0x20) return null;
  const body = bytes.subarray(start + SUM_HEX + 1, nl);
  if (hash(body) !== bytes.toString('latin1', start, start + SUM_HEX)) return null;
  return body.toString('utf8');
}

/** A payload's checksum; a string hashes as its UTF-8 bytes, the bytes a reader checks. */
function hash(data: string | Buffer): string {
  return createHash('sha1').update(data).digest('hex').slice(0, SUM_HEX);
}
