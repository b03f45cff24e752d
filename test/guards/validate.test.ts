import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { DEFAULT_MAX_ARGUMENT_BYTES, checkToolCall, parseArguments, unknownToolHint, validateInput } from '../../guards/validate.js';

const RefundInput = z.object({
  orderId: z.string(),
  action: z.enum(['refund', 'cancel', 'exchange']),
  amount: z.number().positive().default(1),
  note: z.string().trim().transform((s) => s.toUpperCase()).optional(),
});
const tools = new Map<string, { input: z.ZodType }>([
  ['refund_order', { input: RefundInput }],
  ['search', { input: z.object({ query: z.string() }) }],
  ['fetch_page', { input: z.object({ url: z.string() }) }],
]);

afterEach(() => {
  vi.restoreAllMocks();
});

function refused(result: ReturnType<typeof parseArguments>) {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result;
}

describe('parseArguments', () => {
  it('parses valid JSON', () => {
    expect(parseArguments('{"a":[1,{"b":null}]}')).toEqual({ ok: true, value: { a: [1, { b: null }] } });
  });

  it('reads empty arguments as {}, as providers send them for tools without parameters', () => {
    expect(parseArguments('')).toEqual({ ok: true, value: {} });
    expect(parseArguments('  \n')).toEqual({ ok: true, value: {} });
  });

  it('refuses malformed JSON with the parser position and the text echoed', () => {
    expect(parseArguments('{query: "x"}')).toEqual({
      ok: false,
      problem: 'malformed-json',
      hint: `Arguments are not valid JSON (Expected property name or '}' in JSON at position 1). Got: {query: "x"} Send one JSON object with double-quoted keys and strings.`,
    });
  });

  it('echoes a long malformed input cut to 80 characters', () => {
    const { hint } = refused(parseArguments(`{"query": "${'x'.repeat(10_000)}`));
    expect(hint).toContain(`Got: {"query": "${'x'.repeat(80 - 11)}… Send`);
    expect(hint.length).toBeLessThan(400);
  });

  it('refuses a 5 MB argument string as too-large without parsing or even measuring it', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const measure = vi.spyOn(Buffer, 'byteLength');
    const raw = `{"query":"${'x'.repeat(5 * 1024 * 1024)}"}`;
    expect(parseArguments(raw)).toEqual({
      ok: false,
      problem: 'too-large',
      hint: `Arguments are at least ${raw.length} bytes; the limit is ${DEFAULT_MAX_ARGUMENT_BYTES}. Send a smaller input, e.g. a reference or a part of the data instead of all of it.`,
    });
    expect(parse).not.toHaveBeenCalled();
    expect(measure).not.toHaveBeenCalled();
  });

  it('counts UTF-8 bytes, not characters, against the limit', () => {
    const raw = JSON.stringify({ s: 'é'.repeat(10) }); // 18 chars, 28 bytes
    expect(parseArguments(raw, 28).ok).toBe(true);
    expect(refused(parseArguments(raw, 27))).toMatchObject({ problem: 'too-large', hint: expect.stringContaining('Arguments are 28 bytes; the limit is 27.') });
  });

  it('refuses __proto__, constructor and prototype keys, at the top and nested, naming where', () => {
    expect(refused(parseArguments('{"__proto__": {"admin": true}}'))).toEqual({
      ok: false,
      problem: 'forbidden-key',
      hint: 'Key "__proto__" at __proto__ is not allowed (__proto__, constructor and prototype are refused at any depth). Rename or remove it.',
    });
    expect(refused(parseArguments('{"a": {"b": [1, {"__proto__": {"polluted": 1}}]}}')).hint).toContain('Key "__proto__" at a.b[1].__proto__ is not allowed');
    expect(refused(parseArguments('[{"constructor": {"prototype": {}}}]')).hint).toContain('Key "constructor" at [0].constructor');
    expect(refused(parseArguments('{"x": {"prototype": 1}}')).problem).toBe('forbidden-key');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('allows those names as values, and similar keys', () => {
    expect(parseArguments('{"name": "__proto__", "constructors": 1}')).toEqual({ ok: true, value: { name: '__proto__', constructors: 1 } });
  });

  it('refuses nesting that would overflow the stack when the arguments are hashed', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(refused(parseArguments(deep))).toEqual({ ok: false, problem: 'too-large', hint: 'Arguments are nested deeper than 64 levels. Send a flatter structure.' });
    expect(parseArguments('['.repeat(64) + ']'.repeat(64)).ok).toBe(true);
  });
});

describe('validateInput', () => {
  it('returns the parsed output, with zod defaults and transforms applied', () => {
    expect(validateInput(RefundInput, { orderId: 'o1', action: 'refund', note: '  thanks ' })).toEqual({
      ok: true,
      value: { orderId: 'o1', action: 'refund', amount: 1, note: 'THANKS' },
    });
  });

  it('lists each issue with its path, the bad value, a suggestion for an enum typo, and the expected schema', () => {
    const result = validateInput(RefundInput, { orderId: 42, action: 'refnd', amount: -5 });
    expect(result).toEqual({
      ok: false,
      problem: 'schema',
      hint: [
        'Arguments do not match the input schema:',
        '- at orderId: Invalid input: expected string, received number; got 42',
        `- at action: expected one of "refund", "cancel", "exchange"; got "refnd"; did you mean 'refund'?`,
        '- at amount: Too small: expected number to be >0; got -5',
        'Expected JSON Schema: {"type":"object","properties":{"orderId":{"type":"string"},"action":{"type":"string","enum":["refund","cancel","exchange"]},"amount":{"default":1,"type":"number","exclusiveMinimum":0},"note":{"type":"string"}},"required":["orderId","action"]}',
      ].join('\n'),
    });
  });

  it('says a required key is missing', () => {
    const { hint } = refused(validateInput(RefundInput, {}));
    expect(hint).toContain('- at orderId: missing; expected string\n');
    expect(hint).toContain('- at action: missing; expected one of "refund", "cancel", "exchange"\n');
  });

  it('suggests values for literals and unions of literals, nested, ignoring case', () => {
    const schema = z.object({ order: z.object({ mode: z.union([z.literal('full'), z.literal('partial')]), kind: z.literal('express') }) });
    const { hint } = refused(validateInput(schema, { order: { mode: 'FULL', kind: 'expres' } }));
    expect(hint).toContain(`- at order.mode: expected one of "full", "partial"; got "FULL"; did you mean 'full'?`);
    expect(hint).toContain(`- at order.kind: expected one of "express"; got "expres"; did you mean 'express'?`);
  });

  it('makes no suggestion when nothing is close', () => {
    const { hint } = refused(validateInput(z.enum(['a', 'b']), 'zzz'));
    expect(hint.split('\n')[1]).toBe('- at (root): expected one of "a", "b"; got "zzz"');
  });

  it('cuts a long bad value, the list of issues, and the schema', () => {
    const wide = z.object(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`field_${i}`, z.number()])));
    const { hint } = refused(validateInput(wide, Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`field_${i}`, 'y'.repeat(1000)]))));
    const lines = hint.split('\n');
    expect(lines[1]).toBe(`- at field_0: Invalid input: expected number, received string; got "${'y'.repeat(80)}…"`);
    expect(lines[11]).toBe('- and 290 more');
    expect(lines[12]).toMatch(/^Expected JSON Schema: \{.{2000,2100}… \(truncated\)$/);
    expect(hint.length).toBeLessThan(4000);
  });
});

describe('unknownToolHint', () => {
  it('suggests the closest names and lists all when the list is short', () => {
    expect(unknownToolHint('serch', ['search', 'fetch_page', 'refund_order'])).toBe(
      `There is no tool named "serch". Did you mean 'search'? Available tools: 'search', 'fetch_page', 'refund_order'.`,
    );
  });

  it('orders several suggestions by distance and gives at most three', () => {
    expect(unknownToolHint('get_user', ['get_users', 'get_user_v2', 'set_user', 'get_uses', 'delete_all'])).toBe(
      `There is no tool named "get_user". Did you mean 'get_users', 'set_user', 'get_uses'? Available tools: 'get_users', 'get_user_v2', 'set_user', 'get_uses', 'delete_all'.`,
    );
  });

  it('gives only a count when there are many tools', () => {
    const many = Array.from({ length: 40 }, (_, i) => `tool_${i}`);
    expect(unknownToolHint('tool_7x', many)).toBe(`There is no tool named "tool_7x". Did you mean 'tool_7', 'tool_0', 'tool_1'? 40 tools are available.`);
  });

  it('says when no tool is available at all, and never echoes a huge name', () => {
    expect(unknownToolHint('x', [])).toBe('There is no tool named "x", and no tools are available: answer without calling one.');
    expect(unknownToolHint('n'.repeat(1_000_000), ['search']).length).toBeLessThan(200);
  });
});

describe('checkToolCall', () => {
  it('refuses an unknown tool with a close-name suggestion', () => {
    expect(checkToolCall(tools, 'refund_ordr', '{}')).toEqual({
      ok: false,
      problem: 'unknown-tool',
      hint: `There is no tool named "refund_ordr". Did you mean 'refund_order'? Available tools: 'refund_order', 'search', 'fetch_page'.`,
    });
  });

  it('passes on parse problems unchanged', () => {
    expect(checkToolCall(tools, 'search', '{"query":')).toEqual(parseArguments('{"query":'));
    expect(checkToolCall(tools, 'search', '{"query":"abc"}', 5)).toMatchObject({ ok: false, problem: 'too-large' });
    expect(checkToolCall(tools, 'search', '{"query":"a","__proto__":{}}')).toMatchObject({ ok: false, problem: 'forbidden-key' });
  });

  it('refuses arguments that do not match the schema', () => {
    expect(checkToolCall(tools, 'refund_order', '{"orderId":"o1","action":"cancle"}')).toMatchObject({
      ok: false,
      problem: 'schema',
      hint: expect.stringContaining(`got "cancle"; did you mean 'cancel'?`),
    });
  });

  it('returns the schema output for a valid call', () => {
    expect(checkToolCall(tools, 'refund_order', '{"orderId":"o1","action":"exchange","note":" x "}')).toEqual({
      ok: true,
      value: { orderId: 'o1', action: 'exchange', amount: 1, note: 'X' },
    });
  });
});
