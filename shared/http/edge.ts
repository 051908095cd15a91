import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { validateOriginHeader } from '@modelcontextprotocol/server';
import { randomUUID } from 'node:crypto';
import { AuthenticationError, IssuerUnavailableError, type Authenticator } from '../auth/authenticate.js';
import type { Caller } from '../domain/caller.js';
import { keepUserAssertion } from '../auth/user-assertion.js';
import type { Settings } from '../config/settings.js';
import { currentAudit } from '../audit/scope.js';
import { servesAuthority } from './authority.js';
import { BodyReceiver, type ReceivedBody } from './received-body.js';
import { noteCaller } from '../audit/audit-writer.js';

/** An HTTP refusal: the status and a caller-facing message, shaped by each entrance (JSON-RPC or plain JSON). */
export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** DNS-rebinding protection: the Host must be ours and a browser Origin, if any, must be allowed. */
export function checkHostAndOrigin(request: HttpRequest, settings: Settings): Refusal | undefined {
  // The whole authority, host and port: links and challenges name it, so a Host with another port is refused too.
  const url = new URL(request.url);
  if (!servesAuthority(request.headers.get('host'), url.protocol, settings)) {
    return { status: 403, message: 'Forbidden: the Host header does not name this server (host and port); use the URL the server was published at.' };
  }
  // An absolute-form request target (`POST http://evil.example/mcp`, or `//evil.example/mcp`) makes the request URL
  // name another host than the checked Host header; links and challenges are built from the URL, so it is checked too.
  if (!servesAuthority(url.host, url.protocol, settings)) {
    return { status: 403, message: 'Forbidden: the request URL names a host this server does not serve.' };
  }
  const origin = validateOriginHeader(request.headers.get('origin'), [...settings.allowedOrigins]);
  if (!origin.ok) return { status: 403, message: `Forbidden: ${origin.message}` };
  return undefined;
}

/**
 * Reads the body up to the configured cap; a larger body is refused before it is parsed. It is decoded, hashed and
 * measured piece by piece as it is read (see `BodyReceiver`), so no step holds the event loop for the whole body.
 */
export async function readBody(request: HttpRequest, maxBytes: number): Promise<ReceivedBody | Refusal> {
  const tooLarge = { status: 413, message: `Request body exceeds the limit of ${maxBytes} bytes.` };
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) return tooLarge;
  const receiver = new BodyReceiver();
  if (!request.body) return receiver.finish();
  // A reader rather than `for await`: the stream's async iterator cost ~20 µs more per request than these reads
  // (a one-piece body, as nearly every call has).
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  let total = 0;
  // Whatever ends the read early (the cap, a failure) cancels the rest of the stream, as leaving a `for await` did.
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return receiver.finish();
      }
      total += value.byteLength;
      if (total > maxBytes) return tooLarge;
      await receiver.add(value);
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
  }
}

export function isJsonContentType(request: HttpRequest): boolean {
  const type = request.headers.get('content-type') ?? '';
  // linear: anchored, one attempt: one space run, then ';' or the end.
  return /^application\/json\s*(;|$)/i.test(type.trim());
}

/** The app's public origin: configured, or else the request's own (its Host is checked against the allowlist first). */
export function publicOrigin(request: HttpRequest, settings: Settings): string {
  return settings.publicBaseUrl ?? new URL(request.url).origin;
}

/** The URL of the protected-resource metadata (RFC 9728). */
export function resourceMetadataUrl(request: HttpRequest, settings: Settings, path: '/mcp' | ''): string {
  return `${publicOrigin(request, settings)}/.well-known/oauth-protected-resource${path}`;
}

/** Validates the bearer token; a refusal carries the RFC 6750 challenge pointing at our metadata. */
export async function authenticateRequest(
  request: HttpRequest,
  authenticate: Authenticator,
  metadataUrl: string,
  /** On-behalf-of mode: keep the token beside the caller, for the exchange at Entra (and nothing else). */
  keepAssertion = false,
): Promise<{ caller: Caller } | Refusal> {
  if ([...new URL(request.url).searchParams.keys()].some((key) => key.toLowerCase() === 'access_token')) {
    return challenge(metadataUrl, 'invalid_request', 'Send the token in the Authorization header, never in the URL.');
  }
  try {
    const authorization = request.headers.get('authorization');
    const caller = await authenticate(authorization);
    if (keepAssertion && authorization) keepUserAssertion(caller, authorization.trim().slice('Bearer '.length).trim());
    // Attribution comes from the validated token only, never from headers or what the client says it is.
    noteCaller(caller);
    return { caller };
  } catch (error) {
    if (error instanceof AuthenticationError) {
      const refusal = challenge(metadataUrl, error.oauthError, error.message);
      return error.oauthError === 'insufficient_scope' ? { ...refusal, status: 403 } : refusal;
    }
    if (error instanceof IssuerUnavailableError) return { status: 503, message: error.message, headers: { 'retry-after': '5' } };
    throw error;
  }
}

function challenge(metadataUrl: string, error: string, description: string): Refusal {
  // linear: one character class, no quantifier: one step per character.
  const quoted = description.replace(/["\\]/g, '');
  return {
    status: 401,
    message: description,
    headers: { 'www-authenticate': `Bearer resource_metadata="${metadataUrl}", error="${error}", error_description="${quoted}"` },
  };
}

/** A server-generated id per request, quoted in errors and the audit; callers cannot choose or collide it. */
export function newCorrelationId(): string {
  return randomUUID();
}

/** The id of the request in progress (its audit record's), or a new one outside an audited request. */
export function requestCorrelationId(): string {
  return currentAudit()?.correlationId ?? newCorrelationId();
}

export type { HttpResponseInit };
