// Redaction is a pure policy (guards/redact.ts); the runtime re-exports it where it redacts logs and listings.
export { DEFAULT_SECRET_KEYS, redact } from '../guards/redact.js';
