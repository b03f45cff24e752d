import { z } from 'zod';

/** Why a tool call's arguments were refused; the machine sends the hint back to the model instead of calling the tool. */
export type ArgumentProblem = 'malformed-json' | 'too-large' | 'forbidden-key' | 'schema' | 'unknown-tool';

/** A checked value, or the problem and a hint written for the model to act on. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: ArgumentProblem; hint: string };

/** Larger arguments are refused before parsing: a model that emits megabytes is looping, not calling. */
export const DEFAULT_MAX_ARGUMENT_BYTES = 256 * 1024;

/** Deeper nesting is refused: JSON.parse copes, but JSON.stringify (argument hashing) overflows the stack. */
const MAX_ARGUMENT_DEPTH = 64;

/** Keys that pollute prototypes when arguments reach a naive merge or assign. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// Hints go into the model's context on every refusal, so each part of one is bounded.
const MAX_ISSUES_LISTED = 10;
const MAX_SCHEMA_CHARS = 2048;
const MAX_ECHO_CHARS = 80;
const MAX_TOOLS_LISTED = 30;
const MAX_VALUES_LISTED = 20;

function refuse(problem: ArgumentProblem, hint: string): Checked<never> {
  return { ok: false, problem, hint };
}

/** Cuts text for a hint, so that a huge value is never copied whole into the model's context. */
function shorten(text: string): string {
  return text.length > MAX_ECHO_CHARS ? `${text.slice(0, MAX_ECHO_CHARS)}…` : text;
}

/** "; got <value>" for a primitive, cut short; nothing for a container, whose kind zod's message already names. */
function got(value: unknown): string {
  if (typeof value === 'string') return `; got ${JSON.stringify(shorten(value))}`;
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return `; got ${String(value)}`;
  return '';
}

/** Where in the arguments something is, as `a.b[2]`; `(root)` for the whole value. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('');
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Up to three candidates close enough to be a likely typo of `input` (case ignored), closest first. */
function closest(input: string, candidates: readonly string[]): string[] {
  const wanted = input.toLowerCase();
  return candidates
    .flatMap((candidate) => {
      const longer = Math.max(wanted.length, candidate.length);
      // Within a third of the length (at least one edit), and never a complete rewrite: 'c' is no typo of 'a'.
      const allowed = Math.min(longer - 1, Math.max(1, Math.floor(longer / 3)));
      // The length difference is a lower bound on the distance: a huge input is dismissed without the quadratic work.
      if (Math.abs(wanted.length - candidate.length) > allowed) return [];
      const distance = editDistance(wanted, candidate.toLowerCase());
      return distance <= allowed ? [{ candidate, distance }] : [];
    })
    .sort((a, b) => a.distance - b.distance)
    .slice(0, 3)
    .map(({ candidate }) => candidate);
}

function quoteAll(values: readonly string[]): string {
  return values.map((v) => `'${v}'`).join(', ');
}

/** A node met while walking arguments; the path is rebuilt from parent links only when reporting, so the walk stays linear. */
type Visit = { value: unknown; depth: number; key: PropertyKey | null; parent: Visit | null };

function pathOf(visit: Visit): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let at: Visit | null = visit; at && at.key !== null; at = at.parent) path.unshift(at.key);
  return path;
}

/** The first forbidden key or over-deep container, walked iteratively so hostile nesting cannot overflow the stack here. */
function findUnsafe(root: unknown): { problem: 'forbidden-key' | 'too-large'; hint: string } | null {
  const stack: Visit[] = [{ value: root, depth: 0, key: null, parent: null }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    const { value, depth } = visit;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_ARGUMENT_DEPTH) {
      return { problem: 'too-large', hint: `Arguments are nested deeper than ${MAX_ARGUMENT_DEPTH} levels. Send a flatter structure.` };
    }
    for (const [key, child] of Object.entries(value)) {
      const next: Visit = { value: child, depth: depth + 1, key: Array.isArray(value) ? Number(key) : key, parent: visit };
      if (FORBIDDEN_KEYS.has(key)) {
        return { problem: 'forbidden-key', hint: `Key "${key}" at ${formatPath(pathOf(next))} is not allowed (__proto__, constructor and prototype are refused at any depth). Rename or remove it.` };
      }
      stack.push(next);
    }
  }
  return null;
}

/** Parses a tool call's raw JSON arguments safely: size checked before parsing, keys __proto__ / constructor / prototype refused at any depth. Empty arguments mean `{}`, as some providers send them for tools without parameters. */
export function parseArguments(raw: string, maxBytes: number = DEFAULT_MAX_ARGUMENT_BYTES): Checked<unknown> {
  // UTF-8 never takes fewer bytes than UTF-16 code units, so a long string is refused without counting its bytes.
  const bytes = raw.length > maxBytes ? raw.length : Buffer.byteLength(raw, 'utf8');
  if (bytes > maxBytes) {
    return refuse('too-large', `Arguments are ${raw.length > maxBytes ? 'at least ' : ''}${bytes} bytes; the limit is ${maxBytes}. Send a smaller input, e.g. a reference or a part of the data instead of all of it.`);
  }
  if (raw.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    const reason = error instanceof Error ? error.message.slice(0, 200) : 'unparseable';
    return refuse('malformed-json', `Arguments are not valid JSON (${reason}). Got: ${shorten(raw)} Send one JSON object with double-quoted keys and strings.`);
  }
  const unsafe = findUnsafe(value);
  return unsafe ? refuse(unsafe.problem, unsafe.hint) : { ok: true, value };
}

/** The valid literals an enum / literal mismatch could have meant, including unions of literals. */
function allowedValues(issue: z.core.$ZodIssue): unknown[] {
  if (issue.code === 'invalid_value') return issue.values;
  if (issue.code === 'invalid_union') {
    return issue.errors.flatMap((branch) => branch.flatMap((sub) => (sub.path.length === 0 ? allowedValues(sub) : [])));
  }
  return [];
}

/** One issue as a hint line: where, what was wrong, the bad value, and for a wrong literal the likely intended ones. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const at = `- at ${formatPath(issue.path)}: `;
  const allowed = allowedValues(issue);
  const shown = allowed.slice(0, MAX_VALUES_LISTED).map((v) => JSON.stringify(v));
  if (allowed.length > MAX_VALUES_LISTED) shown.push(`… (${allowed.length} in all)`);
  const expected = allowed.length > 0 ? `one of ${shown.join(', ')}` : issue.code === 'invalid_type' ? issue.expected : null;
  // Parsed JSON has no undefined values: an undefined input is a missing key.
  if (issue.input === undefined) return expected ? `${at}missing; expected ${expected}` : `${at}${issue.message}`;
  if (allowed.length === 0) return `${at}${issue.message}${got(issue.input)}`;
  const suggestions = closest(String(issue.input), allowed.map(String));
  const guess = suggestions.length > 0 ? `; did you mean ${quoteAll(suggestions)}?` : '';
  return `${at}expected ${expected}${got(issue.input)}${guess}`;
}

/** The schema the model should have followed, as compact JSON Schema of the input side (before defaults and transforms), cut to about 2 KB. */
function expectedSchema(schema: z.ZodType): string {
  let text: string;
  try {
    const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
    text = JSON.stringify(json);
  } catch {
    // A hint must never crash the run; some custom schemas have no JSON Schema at all.
    return '(not expressible as JSON Schema)';
  }
  return text.length > MAX_SCHEMA_CHARS ? `${text.slice(0, MAX_SCHEMA_CHARS)}… (truncated)` : text;
}

/**
 * Parses `value` with `schema` and returns its output (defaults, transforms);
 * on failure the hint, headed by `what` (e.g. "Arguments do not match the
 * input schema"), lists each issue with its path, the expected JSON Schema,
 * and the closest valid values for enum / literal mismatches.
 */
export function matchSchema(schema: z.ZodType, value: unknown, what: string): Checked<unknown> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  const { issues } = result.error;
  const listed = issues.slice(0, MAX_ISSUES_LISTED).map(describeIssue);
  if (issues.length > MAX_ISSUES_LISTED) listed.push(`- and ${issues.length - MAX_ISSUES_LISTED} more`);
  return refuse('schema', `${what}:\n${listed.join('\n')}\nExpected JSON Schema: ${expectedSchema(schema)}`);
}

/** Validates parsed arguments with the tool's zod schema (see matchSchema). */
export function validateInput(schema: z.ZodType, value: unknown): Checked<unknown> {
  return matchSchema(schema, value, 'Arguments do not match the input schema');
}

/** Hint for a call to a tool that does not exist: the closest known names by edit distance, and the full list when short. */
export function unknownToolHint(name: string, known: readonly string[]): string {
  const missing = `There is no tool named ${JSON.stringify(shorten(name))}`;
  if (known.length === 0) return `${missing}, and no tools are available: answer without calling one.`;
  const suggestions = closest(name, known);
  const parts = [`${missing}.`];
  if (suggestions.length > 0) parts.push(`Did you mean ${quoteAll(suggestions)}?`);
  parts.push(known.length <= MAX_TOOLS_LISTED ? `Available tools: ${quoteAll(known)}.` : `${known.length} tools are available.`);
  return parts.join(' ');
}

/** The whole check of one call: known tool, parse, validate; returns the schema's parsed output. */
export function checkToolCall(
  tools: ReadonlyMap<string, { input: z.ZodType }>,
  name: string,
  rawArguments: string,
  maxBytes: number = DEFAULT_MAX_ARGUMENT_BYTES,
): Checked<unknown> {
  const tool = tools.get(name);
  if (!tool) return refuse('unknown-tool', unknownToolHint(name, [...tools.keys()]));
  const parsed = parseArguments(rawArguments, maxBytes);
  return parsed.ok ? validateInput(tool.input, parsed.value) : parsed;
}
