// Pure supervision policies: functions of (context, event) with no I/O.
export * from './action.js';
export * from './budget.js';
export * from './circuit.js';
export * from './cost.js';
export * from './loop.js';
export * from './progress.js';
export * from './random.js';
export * from './retry.js';
export * from './usage.js';
export * from './validate.js';
export * from './compaction.js';
export * from './rate-limit.js';
export * from './redact.js';
export * from './nested-budget.js';
