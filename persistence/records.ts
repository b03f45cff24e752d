import { z } from 'zod';

/**
 * A JSON value as a store reads it back: stores validate what JSON.parse gave
 * them, and JSON.parse yields nothing but JSON, so this checks that the value
 * is there, not its shape (z.json() would walk a whole snapshot on every load
 * to say what the parse already guarantees).
 */
export const StoredJson = z.custom<z.core.util.JSONType>((value) => value !== undefined, 'missing');

/** Bumped when the stored layout changes; a record with another value is refused, never guessed at. */
export const RECORD_SCHEMA = 1;

/** Where a run is, for listings and control routing. `quarantined`: its record did not parse and is left untouched. */
export const RunStatus = z.enum(['running', 'paused', 'done', 'quarantined']);
export type RunStatus = z.infer<typeof RunStatus>;

/** The few facts `ps` and the index need, kept beside the snapshot so listing never parses snapshots. */
export const RunSummary = z.object({
  runId: z.string().min(1),
  agentId: z.string().min(1),
  parentId: z.string().nullable(),
  status: RunStatus,
  state: z.string(),
  step: z.number().int().nonnegative(),
  turns: z.number().int().nonnegative(),
  activeTool: z.string().nullable(),
  costUsd: z.number().nonnegative(),
  reason: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type RunSummary = z.infer<typeof RunSummary>;

/**
 * One run as stored: an envelope around XState's persisted snapshot naming
 * the machine, its chart version and the agent's version (a mismatch is
 * refused or migrated, never guessed), with a compare-and-set version that
 * every save bumps by one.
 */
export const RunRecord = z.object({
  schema: z.literal(RECORD_SCHEMA),
  machine: z.object({
    id: z.string(),
    /** The agent's (or pipeline's) own version: explicit, or computed from what its runs depend on. */
    version: z.string(),
    /** The version of reins' chart (lifecycle or pipeline) that stored the snapshot; absent in records from before charts had versions (chart 1). */
    chart: z.number().int().positive().optional(),
    /** The agent's tool names when it stored the snapshot: a later definition with only more tools hosts the run. */
    tools: z.array(z.string()).optional(),
  }),
  version: z.number().int().positive(),
  summary: RunSummary,
  /** The persisted XState snapshot; null once the run is killed or retained as a terminal record only. */
  snapshot: StoredJson.nullable(),
  /** The TerminalOutcome once the run ended (validated against the protocol by the runtime, not here). */
  outcome: StoredJson.nullable(),
});
export type RunRecord = z.infer<typeof RunRecord>;

/**
 * A new run's record as a store keeps it: its JSON text (where XState's
 * undefined fields drop out) and that text validated. Creation validates
 * once; saves are not re-validated (the supervisor builds them, every read
 * validates).
 */
export function storedRecord(record: RunRecord): { readonly text: string; readonly valid: RunRecord } {
  const text = JSON.stringify(record);
  return { text, valid: RunRecord.parse(JSON.parse(text)) };
}

/** A lease on one run: only its holder may save, and the token fences out a holder that lost it. */
export const Lease = z.object({
  owner: z.string().min(1),
  token: z.number().int().positive(),
  expiresAt: z.number(),
});
export type Lease = z.infer<typeof Lease>;

/** The checkpoint of one external call: `started` is durable before the call, `done` carries its result. */
export const JournalEntry = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('started'),
    key: z.string(),
    step: z.number().int().nonnegative(),
    at: z.number(),
    /** The lease token of the writer: the same lease finding its own entry again lost a reply, it did not crash. */
    token: z.number().int().optional(),
    /**
     * The writer's lease expiry and the call's timeout when it started: past their sum the call cannot
     * still be running under a live, self-fencing owner, so a new owner reconciles or retries only then.
     */
    leaseExpiresAt: z.number().optional(),
    timeoutMs: z.number().nonnegative().optional(),
  }),
  z.object({ status: z.literal('done'), key: z.string(), step: z.number().int().nonnegative(), at: z.number(), result: StoredJson }),
]);
export type JournalEntry = z.infer<typeof JournalEntry>;

/** One line of a run's trace: transitions, model and tool calls, operator commands. */
export const TraceEntry = z.looseObject({ at: z.number(), kind: z.string() });
export type TraceEntry = z.infer<typeof TraceEntry>;

/** An operator command addressed to a run. */
export const Command = z.discriminatedUnion('type', [
  z.object({ type: z.literal('PAUSE'), by: z.string(), why: z.string(), at: z.number() }),
  z.object({ type: z.literal('RESUME'), by: z.string(), at: z.number() }),
  z.object({ type: z.literal('KILL'), by: z.string(), why: z.string(), at: z.number() }),
  z.object({ type: z.literal('APPROVE'), by: z.string(), at: z.number() }),
  z.object({ type: z.literal('REJECT'), by: z.string(), feedback: z.string(), at: z.number() }),
]);
export type Command = z.infer<typeof Command>;

/**
 * A command as the queue holds it: `id` names it until the commit that
 * records its effect removes it (RunCommit.ackCommands), so a host that
 * reads the queue twice applies it once.
 */
export interface QueuedCommand {
  readonly id: string;
  readonly command: Command;
}

/** Filters for listing runs; all given filters must hold. */
export const RunFilter = z.object({
  status: RunStatus.optional(),
  agentId: z.string().optional(),
  reason: z.string().optional(),
  parentId: z.string().optional(),
  limit: z.number().int().positive().optional(),
});
export type RunFilter = z.infer<typeof RunFilter>;

/** Where an approval request is: only `pending` items can be decided, and only before their deadline. */
export const ApprovalStatus = z.enum(['pending', 'approved', 'rejected', 'expired', 'cancelled']);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

/** Who decided an approval, when, and how. */
export const ApprovalDecision = z.object({
  status: ApprovalStatus.exclude(['pending']),
  by: z.string().min(1),
  at: z.number(),
  feedback: z.string().nullable(),
  /** Arguments the operator edited before approving; the run validates them again before acting. */
  editedArguments: z.json().nullable(),
});
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/** One call waiting for a human, in the durable approval queue. Arguments are stored redacted. */
export const ApprovalItem = z.object({
  itemId: z.string().min(1).max(200),
  runId: z.string().min(1),
  agentId: z.string(),
  tool: z.string(),
  callId: z.string(),
  arguments: z.json(),
  priority: z.number().int(),
  requestedAt: z.number(),
  deadlineAt: z.number(),
  status: ApprovalStatus,
  decision: ApprovalDecision.nullable(),
});
export type ApprovalItem = z.infer<typeof ApprovalItem>;

export { RatePolicy, type RateDecision } from '../guards/rate-limit.js';
