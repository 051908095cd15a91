/**
 * How long one request may take, end to end, and why the settings must fit inside it. Azure's front end ends an
 * HTTP-triggered Function after 230 seconds whatever `functionTimeout` says, and the host stops the function at
 * `functionTimeout` (host.json, kept above this limit): every deadline the app sets must end, with the clean-up
 * after a failed long-running operation and the audit record, before then — or the host would stop a long create
 * before its clean-up runs and leave a half-made resource behind.
 */
export const HTTP_TRIGGER_LIMIT_MS = 230_000;

/**
 * How long a change waits for the audit store to accept records before it starts. A cold instance first fetches the
 * audit key, registers its writer and loads the Blob SDK (started in the background shortly after start-up,
 * WARM_UP_DELAY_MS, but the first change can come sooner), which takes seconds on a busy instance: a change is
 * refused only when the store really does not answer.
 */
export const AUDIT_READY_TIMEOUT_MS = 10_000;

/**
 * The warm-up after start waits this long, because on an instance started by a request that request comes at once
 * and the warm-up would compete with it on the one thread. The audit store's part (its keys, the writer's
 * registration, the Blob SDK) starts then or with the first record stored, whichever comes first: a read's answer
 * does not need it (its record is stored after the answer), and started at once it delayed the first answer by about
 * 70 ms (spawn → first group_get answered, median of 7 on 2 cores: 397 → 327 ms after the ready line); a change that
 * comes sooner does the same work in its own readiness check. Compiling redaction's and the shield's patterns starts
 * then too: a first read compiles those it uses itself, after its answer, when its record is written (first answer
 * 211 → 195, 188 → 179 ms on Node 20 and 181 → 175 ms on Node 22, medians of 9 alternated runs).
 */
export const WARM_UP_DELAY_MS = 1_000;

/**
 * Records nobody waits for (a read is answered without waiting for its stored copy) wait up to this long for
 * company in the tamper-evident store (AUDIT_READ_LINGER_MS), so even one caller's reads, a millisecond apart, share
 * an append and an anchor. A record someone waits for (a change), a readiness probe or a flush cuts the wait short:
 * nothing a caller waits on is held back by it. The log and telemetry copies of these records are sent at once.
 */
export const DEFAULT_UNAWAITED_LINGER_MS = 100;

/** How long a change's answer waits for its audit record to reach the tamper-evident store. */
export const AUDIT_STORED_WAIT_MS = 5_000;

/** Everything else one request does around its Azure calls: token check, policy, approval record, the answer. */
export const REQUEST_OVERHEAD_MS = 15_000;

export interface Deadlines {
  azureCallTimeoutMs: number;
  azureLroTimeoutMs: number;
  azureTokenTimeoutMs: number;
}

/**
 * The longest a long-running tool call can take: waiting for the audit store, the operation's own deadline, a
 * clean-up of two Azure calls (look at what was left, delete it) each with the call deadline, one token request,
 * the wait for the audit record, and the rest of the request.
 */
export function longestRequestMs(deadlines: Deadlines): number {
  return (
    AUDIT_READY_TIMEOUT_MS +
    deadlines.azureLroTimeoutMs +
    2 * deadlines.azureCallTimeoutMs +
    deadlines.azureTokenTimeoutMs +
    AUDIT_STORED_WAIT_MS +
    REQUEST_OVERHEAD_MS
  );
}

/** The longest AZURE_LRO_TIMEOUT_MS that fits the HTTP trigger limit with the other deadlines as given. */
export function maxLroTimeoutMs(deadlines: Omit<Deadlines, 'azureLroTimeoutMs'>): number {
  return HTTP_TRIGGER_LIMIT_MS - longestRequestMs({ ...deadlines, azureLroTimeoutMs: 0 });
}
