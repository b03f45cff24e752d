import { describe, expect, it } from 'vitest';
import { actionLabel, hashValue } from '../../guards/action.js';

describe('action labels', () => {
  it('redact secret keys before the label is stored or shown', () => {
    expect(actionLabel('charge', '{"amount":5,"apiKey":"sk-live-123"}')).toBe('charge {"amount":5,"apiKey":"[redacted]"}');
    expect(actionLabel('login', '{"user":"a","creds":{"password":"hunter2"}}', ['password'])).toBe('login {"user":"a","creds":{"password":"[redacted]"}}');
  });

  it('cut long arguments short and show malformed ones as sent', () => {
    expect(actionLabel('search', JSON.stringify({ q: 'x'.repeat(200) })).length).toBeLessThanOrEqual('search '.length + 60);
    expect(actionLabel('search', '{"q": "unterminated')).toBe('search {"q": "unterminated');
  });

  it('hashes key order away', () => {
    expect(hashValue({ a: 1, b: 2 })).toBe(hashValue({ b: 2, a: 1 }));
  });
});
