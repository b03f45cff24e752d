/** Base of every store error; `kind` is the tag to switch on. */
export class StoreError extends Error {
  readonly kind: string;
  readonly runId: string | null;
  constructor(kind: string, message: string, runId: string | null, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.runId = runId;
    this.name = new.target.name;
  }
}

/** create() for an id that exists. */
export class RunExistsError extends StoreError {
  constructor(runId: string) {
    super('run-exists', `run ${runId} already exists`, runId);
  }
}

/** save() for a run the store does not have. */
export class UnknownRunError extends StoreError {
  constructor(runId: string) {
    super('unknown-run', `no run ${runId} in the store`, runId);
  }
}

/** save() whose expected version is not the stored one: someone else wrote first. */
export class StaleVersionError extends StoreError {
  constructor(runId: string, expected: number, actual: number) {
    super('stale-version', `run ${runId}: expected version ${expected}, store has ${actual}`, runId);
  }
}

/**
 * A run's stored version moved under a writer that holds its lease: another writer wrote it. The writer
 * stops the run rather than overwrite or retry; this is a conflict, not an outage.
 */
export class VersionConflictError extends StoreError {
  constructor(runId: string, ours: number, stored: number) {
    super('version-conflict', `run ${runId}: the store has version ${stored}, this writer last wrote ${ours}; another writer moved the run`, runId);
  }
}

/** save() or journal write with a lease token that is no longer current: this writer lost the run. */
export class StaleLeaseError extends StoreError {
  constructor(runId: string, token: number, current: number | null) {
    super('stale-lease', `run ${runId}: lease token ${token} is stale (current: ${current ?? 'none'})`, runId);
  }
}

/** A stored record that does not parse; the run is quarantined and the bytes left as they were. */
export class CorruptRecordError extends StoreError {
  readonly key: string;
  constructor(runId: string, key: string, detail: string, options?: ErrorOptions) {
    super('corrupt-record', `run ${runId}: record ${key} is corrupt (${detail}); the run is quarantined`, runId, options);
    this.key = key;
  }
}

/** The store cannot be reached (connection refused, disk gone); the caller may retry. */
export class StoreUnavailableError extends StoreError {
  constructor(message: string, options?: ErrorOptions) {
    super('store-unavailable', message, null, options);
  }
}

/** approvalDecide() on an item that is no longer pending. */
export class ApprovalNotPendingError extends StoreError {
  constructor(itemId: string, status: string) {
    super('approval-not-pending', `approval ${itemId} is ${status}, not pending`, null);
  }
}

/** An approve or reject after the item's deadline: the action it would allow is stale. */
export class ApprovalExpiredError extends StoreError {
  constructor(itemId: string, deadlineAt: number) {
    super('approval-expired', `approval ${itemId} expired at ${new Date(deadlineAt).toISOString()}`, null);
  }
}

/** approvalDecide() or approvalGet() for an item the store does not have. */
export class UnknownApprovalError extends StoreError {
  constructor(itemId: string) {
    super('unknown-approval', `no approval item ${itemId}`, null);
  }
}
