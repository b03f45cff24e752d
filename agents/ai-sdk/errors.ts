import { ModelCallError } from '../errors.js';

/** The AI SDK marks its errors with global symbols (`vercel.ai.error.<name>`), so they are recognised without importing `ai`. */
function hasMarker(error: unknown, name: string): boolean {
  if (error === null || typeof error !== 'object') return false;
  return (error as Record<symbol, unknown>)[Symbol.for(`vercel.ai.error.${name}`)] === true;
}

/** The provider sent something unusable (an empty body, bad JSON, a shape it should not have): another attempt may well succeed. */
const TRANSIENT_SDK_ERRORS = ['AI_EmptyResponseBodyError', 'AI_InvalidResponseDataError', 'AI_JSONParseError', 'AI_TypeValidationError', 'AI_NoContentGeneratedError'];
/** Configuration no retry can fix: a missing key or setting. */
const CONFIG_SDK_ERRORS = ['AI_LoadAPIKeyError', 'AI_LoadSettingError', 'AI_NoSuchModelError'];
/** Socket-level failures: the request may never have reached the provider, and a model call has no side effect to double. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/** HTTP statuses a retry can outlast: request timeout, conflict, rate limit, and server errors. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function networkCode(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR_'))) return code;
  }
  return null;
}

/**
 * Classifies what a provider call threw: provider failures become
 * `ModelCallError` (429, 5xx, 408, timeouts and network failures retryable;
 * other 4xx, a missing key or model not), which the loop retries, backs off
 * and trips the model's circuit on. Anything else is returned as is: a bug
 * (in reins' request, or in the provider package) ends the run INTERNAL_ERROR.
 */
export function classifyProviderError(error: unknown, provider: string): unknown {
  if (error instanceof ModelCallError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (hasMarker(error, 'AI_APICallError')) {
    const e = error as { statusCode?: number; isRetryable?: boolean };
    const status = typeof e.statusCode === 'number' ? e.statusCode : null;
    const retryable = e.isRetryable === true || (status !== null ? retryableStatus(status) : networkCode(error) !== null);
    return new ModelCallError(`${provider}${status !== null ? ` ${status}` : ''}: ${message}`, { retryable, status, cause: error });
  }
  if (TRANSIENT_SDK_ERRORS.some((name) => hasMarker(error, name))) return new ModelCallError(`${provider}: ${message}`, { retryable: true, cause: error });
  if (CONFIG_SDK_ERRORS.some((name) => hasMarker(error, name))) return new ModelCallError(`${provider}: ${message}`, { retryable: false, cause: error });
  const code = networkCode(error);
  if (code !== null || (error instanceof TypeError && message === 'fetch failed')) {
    return new ModelCallError(`${provider}: network failure${code ? ` (${code})` : ''}: ${message}`, { retryable: true, cause: error });
  }
  return error;
}
