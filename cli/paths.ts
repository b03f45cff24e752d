import { sep } from 'node:path';

// An absolute path in a stack frame, with or without a file:// scheme, starting a location (after a space or an
// opening parenthesis, never inside `node:internal/…`): up to the line:column or the closing parenthesis.
const ABSOLUTE_PATH = /(?<=[\s(])(?:file:\/\/)?(\/[^\s():]+)/g;

/** One absolute path as something that says the same without the machine's layout: relative to `cwd`, from node_modules/, or its last two segments. */
function shortPath(path: string, cwd: string): string {
  const base = cwd.endsWith(sep) ? cwd : `${cwd}${sep}`;
  if (path.startsWith(base)) return path.slice(base.length);
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + 1);
  return `…/${path.split('/').slice(-2).join('/')}`;
}

/** A stack trace with no absolute path in its frames: what was stored on one machine prints the same on any. */
export function relativeStack(stack: string, cwd: string = process.cwd()): string {
  return stack
    .split('\n')
    .map((line) => (/^\s+at /.test(line) ? line.replace(ABSOLUTE_PATH, (_m, path: string) => shortPath(path, cwd)) : line))
    .join('\n');
}

/** `value` with every `stack` string in it (at any depth) made relative; for printing stored outcomes and traces. */
export function withRelativeStacks<T>(value: T, cwd: string = process.cwd()): T {
  if (Array.isArray(value)) return value.map((v) => withRelativeStacks(v, cwd)) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, key === 'stack' && typeof v === 'string' ? relativeStack(v, cwd) : withRelativeStacks(v, cwd)]),
  ) as T;
}
