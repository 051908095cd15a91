// Local capture of the Application Insights / Azure Monitor ingestion endpoint (Breeze: POST /v2.1/track, /v2/track),
// so tests can read exactly the envelopes the app's telemetry exporter sends. Entra-only, as for an
// Application Insights resource with local authentication disabled: instrumentation-key-only requests get 401.
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { errors as joseErrors } from 'jose';
import type { Call, TwinContext } from './context.js';
import { bearerToken, sendJson } from './http.js';
import { verifyToken } from './issuer.js';

/** Ingestion paths (the twin trims trailing slashes; queries are ignored). */
export const TRACK_PATHS: readonly string[] = ['/v2.1/track', '/v2/track'];
/** Entra tokens for ingestion; the exporter asks for `https://monitor.azure.com//.default`, so the slash form too. */
export const MONITOR_AUDIENCES = ['https://monitor.azure.com', 'https://monitor.azure.com/'];

const gunzipAsync = promisify(gunzip);
const MAX_BODY = 32 * 1024 * 1024;

/** Breeze answers errors in its own track-response shape, not Azure's error envelope. */
class TrackError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function authenticate(ctx: TwinContext, call: Call): Promise<void> {
  const token = bearerToken(call.req);
  if (!token) {
    throw new TrackError(
      401,
      'Authentication is required: this Application Insights resource has local authentication disabled, so the instrumentation key alone is refused. Send an Entra bearer token for https://monitor.azure.com.',
    );
  }
  let payload;
  try {
    payload = await verifyToken(await ctx.issuerKeys.published(), token, MONITOR_AUDIENCES);
  } catch (e) {
    throw new TrackError(
      401,
      e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'aud'
        ? `The token's audience is not valid: it must be ${MONITOR_AUDIENCES.map((a) => `'${a}'`).join(' or ')}.`
        : e instanceof joseErrors.JWTExpired
          ? 'The token is expired.'
          : 'The token is invalid (signature, format or validity period).',
    );
  }
  if (payload['tid'] !== ctx.tenantId) throw new TrackError(401, `The token is from the wrong tenant '${String(payload['tid'])}'; expected '${ctx.tenantId}'.`);
}

async function readBody(call: Call): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of call.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new TrackError(413, 'The request body exceeds 32 MiB.');
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  const encoding = String(call.req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (encoding === 'identity' || encoding === '') return raw;
  if (encoding !== 'gzip') throw new TrackError(415, `Content-Encoding '${encoding}' is not supported; use gzip or none.`);
  try {
    return await gunzipAsync(raw, { maxOutputLength: MAX_BODY });
  } catch (e) {
    throw new TrackError(400, `The gzip body could not be decompressed: ${(e as Error).message}`);
  }
}

/** A JSON array of envelopes, a single envelope, or newline-delimited JSON (one envelope per line). */
function parseEnvelopes(text: string): Record<string, unknown>[] {
  let items: unknown[];
  try {
    const parsed: unknown = JSON.parse(text);
    items = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    try {
      items = text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
    } catch {
      throw new TrackError(400, 'The body is not valid JSON: expected an array of envelopes, one envelope, or newline-delimited envelopes.');
    }
  }
  const bad = items.findIndex((item) => typeof item !== 'object' || item === null || Array.isArray(item));
  if (bad >= 0) throw new TrackError(400, `Item ${bad} is not a telemetry envelope (a JSON object).`);
  return items as Record<string, unknown>[];
}

export async function handleTrack(ctx: TwinContext, call: Call): Promise<void> {
  const answer = (status: number, received: number, accepted: number, message?: string): void =>
    sendJson(
      call.res,
      status,
      { itemsReceived: received, itemsAccepted: accepted, appId: null, errors: message === undefined ? [] : [{ index: 0, statusCode: status, message }] },
      call.headers,
    );
  try {
    if (call.method !== 'POST') throw new TrackError(405, 'The ingestion endpoint only accepts POST.');
    await authenticate(ctx, call);
    const envelopes = parseEnvelopes((await readBody(call)).toString('utf8'));
    ctx.telemetry.add(envelopes, new Date().toISOString());
    answer(200, envelopes.length, envelopes.length);
  } catch (e) {
    if (!(e instanceof TrackError)) throw e;
    // Drain whatever is left of the body, so the connection stays usable for the exporter's next batch.
    call.req.resume();
    answer(e.status, 0, 0, e.message);
  }
}
