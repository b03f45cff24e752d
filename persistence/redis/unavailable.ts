import { ReplyError } from 'ioredis';
import { StoreUnavailableError } from '../errors.js';

/**
 * Redis error replies that mean "this server cannot serve you right now"
 * rather than "your request is wrong": wrong or missing credentials, a
 * server still loading, a read-only replica, a cluster without quorum…
 */
const UNAVAILABLE_REPLIES = new Set(['WRONGPASS', 'NOAUTH', 'NOPERM', 'LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'CLUSTERDOWN', 'TRYAGAIN', 'OOM', 'MISCONF']);

/**
 * Turns an error raised by the Redis client into StoreUnavailableError when
 * it is about reaching or using the server (connection refused or lost,
 * retries spent, timeouts, authentication); anything else (a bug in a
 * script, a key of the wrong type) is returned as it is.
 *
 * `secret` (the URL's password) is scrubbed from the message, in case a
 * client library ever echoes its connection options.
 */
export function toStoreError(err: unknown, secret: string | null): unknown {
  if (err instanceof StoreUnavailableError || !(err instanceof Error)) return err;
  if (err instanceof ReplyError) {
    const code = err.message.split(' ', 1)[0] ?? '';
    if (!UNAVAILABLE_REPLIES.has(code)) return err;
    const what = code === 'WRONGPASS' || code === 'NOAUTH' || code === 'NOPERM' ? 'Redis refused the credentials' : 'Redis cannot serve requests';
    return new StoreUnavailableError(`${what}: ${scrub(err.message, secret)}`, { cause: err });
  }
  return new StoreUnavailableError(`Redis is unreachable: ${scrub(err.message, secret)}`, { cause: err });
}

function scrub(message: string, secret: string | null): string {
  return secret ? message.split(secret).join('***') : message;
}

/** The password in a Redis URL, if any (to keep it out of error messages); null when there is none or the URL does not parse. */
export function passwordOf(url: string): string | null {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password.length > 0 ? password : null;
  } catch {
    return null;
  }
}
