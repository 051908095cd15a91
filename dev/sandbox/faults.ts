/**
 * Fault injection for the sandbox twin.
 *
 * A fault makes matching requests fail in a chosen way before they reach a route:
 *
 *   { "service": "arm" | "vault" | "identity" | "issuer" | "monitor" | "any",
 *                                                         (default "any"; "issuer" is discovery, the JWKS and the
 *                                                          sign-in page; "monitor" is Application Insights ingestion,
 *                                                          POST /v2.1/track and /v2/track, so an exporter's retries
 *                                                          can be tested)
 *     "method": "GET",                                    (optional, case-insensitive)
 *     "path": "resourcegroups" | "/regex/",               (optional; case-insensitive substring of the
 *                                                          path without query, or a regex between slashes)
 *     "kind": "429" | "500" | "403" | "reset" | "hang" | "hang-after" | "reset-after",
 *     "count": 1,                                         (how many requests it hits; 0 = until cleared)
 *     "retryAfterSeconds": 1 }                            (429 only)
 *
 *   429   ARM throttling: error JSON, `Retry-After` and `x-ms-ratelimit-remaining-*` headers.
 *   500   `{"error":{"code":"InternalServerError","message":...}}`.
 *   403   the service refuses the caller's identity: ARM `AuthorizationFailed`, Key Vault `Forbidden` (inner code
 *         `ForbiddenByRbac`), as when a role assignment is missing.
 *   reset the socket is destroyed without an answer.
 *   hang  the request is accepted and never answered (its socket closes only when the twin stops),
 *         so callers must time out or abort.
 *   hang-after   the twin carries the request out (the change lands), then never answers: a write whose answer is
 *                lost, as when Azure finishes after the caller's deadline.
 *   reset-after  the twin carries the request out, then destroys the socket instead of answering.
 *
 * Long-running operations: the 202's Location header is the URL the SDK polls, so a fault on the polls alone
 * matches its path (the query, e.g. ?monitor=true&api-version=..., is not part of the matched path):
 *   storage account create (PUT of a new account)
 *        /subscriptions/{sub}/providers/Microsoft.Storage/locations/{location}/asyncoperations/sacreate-{uuid}
 *        → { "service": "arm", "method": "GET", "path": "/asyncoperations/", "kind": "hang" }
 *        The account exists with provisioningState "Creating" (and the requested encryption) from the 202 on, and
 *        becomes "Succeeded" 0.8 s after the PUT whether or not it is polled, as Azure finishes it server-side: a
 *        500/reset/hang on every poll loses only the answer. DELETE works on it.
 *   resource group delete
 *        /subscriptions/{sub}/operationresults/rgdelete-{uuid}    → "path": "/operationresults/"
 *        (finishes on its own after 0.8 s, polled or not)
 *
 * Set faults at start with env `SANDBOX_FAULTS` (a JSON array of faults), or at run time through the
 * unauthenticated loopback admin API on the ARM listener:
 *   POST   /_sandbox/faults     body: a fault (without id) → 201 with the fault including its id
 *   GET    /_sandbox/faults     → the active faults
 *   DELETE /_sandbox/faults     → clears all faults
 *   GET    /_sandbox/requests   → request log [{at, service, method, path, status, requestId}], newest last;
 *                                 faulted requests appear too (status 0 for reset/hang)
 *   DELETE /_sandbox/requests   → clears the request log
 *   POST   /_sandbox/reset      → restores the seeded state (faults and log are kept)
 *   GET    /_sandbox/state/storage-accounts → the stored storage accounts [{id, name, resourceGroup, location,
 *                                 provisioningState, encryption, tags}], without the synthetic bulk ones
 *   POST   /_sandbox/issuer/rotate, /_sandbox/issuer/retire → signing-key rollover (see issuer-keys.ts)
 *   GET    /_sandbox/telemetry  → envelopes captured from POST /v2.1/track and /v2/track, each with receivedAt,
 *                                 newest last (last 20,000; kept across reset)
 *   DELETE /_sandbox/telemetry  → clears them
 * Faults are tried in the order added; the first match wins and its count goes down by one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Service = 'arm' | 'vault' | 'identity' | 'issuer' | 'monitor';
export type FaultKind = '429' | '500' | '403' | 'reset' | 'hang' | 'hang-after' | 'reset-after';

export interface FaultSpec {
  service?: Service | 'any';
  method?: string;
  path?: string;
  kind: FaultKind;
  count?: number;
  retryAfterSeconds?: number;
}

export interface Fault extends FaultSpec {
  id: string;
}

const KINDS: readonly FaultKind[] = ['429', '500', '403', 'reset', 'hang', 'hang-after', 'reset-after'];

/** Kinds that let the request reach its route first and only lose the answer. */
export const isAfterFault = (kind: FaultKind): kind is 'hang-after' | 'reset-after' => kind === 'hang-after' || kind === 'reset-after';
const SERVICES: readonly string[] = ['arm', 'vault', 'identity', 'issuer', 'monitor', 'any'];

/** Validates untrusted input (env or HTTP body) into a FaultSpec; throws with a message naming the bad field. */
export function parseFaultSpec(input: unknown): FaultSpec {
  if (typeof input !== 'object' || input === null) throw new Error('a fault must be a JSON object');
  const o = input as Record<string, unknown>;
  const kind = String(o['kind']);
  if (!KINDS.includes(kind as FaultKind)) throw new Error(`fault.kind must be one of ${KINDS.join(', ')}; got ${JSON.stringify(o['kind'])}`);
  if (o['service'] !== undefined && (typeof o['service'] !== 'string' || !SERVICES.includes(o['service']))) {
    throw new Error(`fault.service must be one of ${SERVICES.join(', ')}; got ${JSON.stringify(o['service'])}`);
  }
  for (const field of ['method', 'path'] as const) {
    if (o[field] !== undefined && typeof o[field] !== 'string') throw new Error(`fault.${field} must be a string`);
  }
  for (const field of ['count', 'retryAfterSeconds'] as const) {
    const v = o[field];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) throw new Error(`fault.${field} must be a non-negative integer`);
  }
  if (typeof o['path'] === 'string') pathMatcher(o['path']);
  return {
    kind: kind as FaultKind,
    ...(o['service'] !== undefined && { service: o['service'] as NonNullable<FaultSpec['service']> }),
    ...(o['method'] !== undefined && { method: o['method'] as string }),
    ...(o['path'] !== undefined && { path: o['path'] as string }),
    ...(o['count'] !== undefined && { count: o['count'] as number }),
    ...(o['retryAfterSeconds'] !== undefined && { retryAfterSeconds: o['retryAfterSeconds'] as number }),
  };
}

export function faultsFromEnv(value: string | undefined): FaultSpec[] {
  if (!value) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new Error(`SANDBOX_FAULTS is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!Array.isArray(parsed)) throw new Error('SANDBOX_FAULTS must be a JSON array of faults');
  return parsed.map(parseFaultSpec);
}

function pathMatcher(pattern: string): (path: string) => boolean {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    const re = new RegExp(pattern.slice(1, -1), 'i');
    return (p) => re.test(p);
  }
  const needle = pattern.toLowerCase();
  return (p) => p.toLowerCase().includes(needle);
}

export class FaultStore {
  private faults: { fault: Fault; remaining: number }[] = [];
  private nextId = 1;

  add(spec: FaultSpec): Fault {
    const fault: Fault = { ...spec, id: `fault-${this.nextId++}`, count: spec.count ?? 1 };
    this.faults.push({ fault, remaining: fault.count ?? 1 });
    return fault;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f.fault, ...(f.fault.count !== 0 && { count: f.remaining }) }));
  }

  clear(): void {
    this.faults = [];
  }

  /** Finds the first fault for this request and consumes one use of it. */
  take(service: Service, method: string, path: string): Fault | undefined {
    const hit = this.faults.find(
      ({ fault }) =>
        (fault.service === undefined || fault.service === 'any' || fault.service === service) &&
        (fault.method === undefined || fault.method.toUpperCase() === method.toUpperCase()) &&
        (fault.path === undefined || pathMatcher(fault.path)(path)),
    );
    if (!hit) return undefined;
    if (hit.fault.count !== 0) {
      hit.remaining -= 1;
      if (hit.remaining <= 0) this.faults = this.faults.filter((f) => f !== hit);
    }
    return hit.fault;
  }
}

/**
 * Answers (or deliberately doesn't answer) a request according to `fault`.
 * Returns the status to record in the request log: 0 when no response is sent.
 */
export function applyFault(fault: Fault, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>, service?: Service): number {
  switch (fault.kind) {
    case 'hang-after':
    case 'reset-after':
      loseAnswer(fault.kind, req, res);
      return 0;
    case '429': {
      const after = fault.retryAfterSeconds ?? 1;
      const kind = req.method === 'GET' || req.method === 'HEAD' ? 'reads' : 'writes';
      res.writeHead(429, {
        ...headers,
        'content-type': 'application/json; charset=utf-8',
        'retry-after': String(after),
        [`x-ms-ratelimit-remaining-subscription-${kind}`]: '0',
      });
      res.end(
        JSON.stringify({ error: { code: 'TooManyRequests', message: `The request was throttled (sandbox fault ${fault.id}). Retry after ${after} seconds.` } }),
      );
      return 429;
    }
    case '500':
      res.writeHead(500, { ...headers, 'content-type': 'application/json; charset=utf-8' });
      res.end(
        JSON.stringify({
          error: { code: 'InternalServerError', message: `The server encountered an internal error (sandbox fault ${fault.id}). Please retry the request.` },
        }),
      );
      return 500;
    case '403': {
      const vault = service === 'vault';
      const error = vault
        ? {
            code: 'Forbidden',
            message: `Caller is not authorized to perform action on resource (sandbox fault ${fault.id}).`,
            innererror: { code: 'ForbiddenByRbac' },
          }
        : { code: 'AuthorizationFailed', message: `The client does not have authorization to perform action over this scope (sandbox fault ${fault.id}).` };
      res.writeHead(403, { ...headers, 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error }));
      return 403;
    }
    case 'reset':
      req.socket.destroy();
      return 0;
    case 'hang':
      // Keep reading so the client sees its request accepted; never answer.
      req.resume();
      return 0;
  }
}

/**
 * Lets the route run but swallows its answer: nothing is written to the socket, and when the route finishes the
 * socket is destroyed ('reset-after') or left open ('hang-after').
 */
function loseAnswer(kind: 'hang-after' | 'reset-after', req: IncomingMessage, res: ServerResponse): void {
  const swallow = res as unknown as Record<string, unknown>;
  swallow['writeHead'] = () => res;
  swallow['setHeader'] = () => res;
  swallow['write'] = () => true;
  swallow['end'] = () => {
    if (kind === 'reset-after') req.socket.destroy();
    return res;
  };
}
