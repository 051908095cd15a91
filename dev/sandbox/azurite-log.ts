// Azurite's debug log (--debug FILE) read back as the requests it received: evidence for tests of what reached storage.
// The format is Azurite's, not a contract, so lines are matched loosely and anything unrecognised is skipped (the
// queue service's requests included: nothing here uses it). Observed with Azurite 3.35 (one line per event,
// winston-style):
//   2026-11-22T00:22:44.578Z 069f4955-d8f5-47b7-a0d5-43fe595c0d3c info: BlobStorageContextMiddleware: RequestMethod=PUT
//     RequestURL=https://127.0.0.1/stx/cont1?restype=container RequestHeaders:{...} ClientIP=127.0.0.1 Protocol=https HTTPVersion=1.1
//   2026-11-22T00:22:44.596Z 069f4955-d8f5-47b7-a0d5-43fe595c0d3c info: EndMiddleware: End response. TotalTimeInMS=18 StatusCode=201 ...
// (the table service logs TableStorageContextMiddleware the same way, into the same file). RequestURL lacks the port,
// so URLs are re-based onto the origin of the service that logged them. The log also holds request headers,
// Authorization included: it is a dev-only file.
import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import { get as httpsGet, type RequestOptions } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';

export type AzuriteService = 'blob' | 'table';

export interface AzuriteRequest {
  service: AzuriteService;
  /** ISO time Azurite logged the request, when the line had one. */
  at?: string;
  /** Azurite's x-ms-request-id for it, when the line had one. */
  requestId?: string;
  method: string;
  /** Absolute URL on the service origin as clients address it, e.g. https://127.0.0.1:10000/stddrrecordsprod/case-files/x.txt */
  url: string;
  /** The response status, once Azurite logged the end of the response. */
  status?: number;
  /** The Authorization scheme only ('Bearer', 'SharedKey', ...), never the credential; absent for anonymous requests. */
  authScheme?: string;
}

// linear: each is a fixed text then runs of one character class, matched once per line.
const REQUEST = /\b(Blob|Table|Queue)StorageContextMiddleware: RequestMethod=(\S+)\s+RequestURL=(\S+)/;
const PREFIX = /^(\d{4}-\d\d-\d\dT\S+)\s+([0-9a-f-]{36})\s/i;
const STATUS = /EndMiddleware:.*?\bStatusCode=(\d{3})\b/;
const AUTH_SCHEME = /"authorization":"(\w+)[\s"]/i;
/** The account name marker requests go to (no such account exists; Azurite logs the request and refuses it). */
const MARK_ACCOUNT = 'sandbox-log-marker';
const MARK_WAIT_MS = 10_000;
const MARK_POLL_MS = 5;

function rebase(raw: string, origin: string): string {
  try {
    const u = new URL(raw);
    return `${origin}${u.pathname}${u.search}`;
  } catch {
    return raw;
  }
}

/** Where each service is addressed, e.g. { blob: 'https://127.0.0.1:41000', table: 'https://127.0.0.1:41002' }. */
export type AzuriteOrigins = Record<AzuriteService, string>;

function isMark(url: string): boolean {
  try {
    return new URL(url).pathname.startsWith(`/${MARK_ACCOUNT}/`);
  } catch {
    return false;
  }
}

export function parseAzuriteLog(text: string, origins: AzuriteOrigins): AzuriteRequest[] {
  const out: AzuriteRequest[] = [];
  const byId = new Map<string, AzuriteRequest>();
  for (const line of text.split('\n')) {
    const prefix = PREFIX.exec(line);
    const req = REQUEST.exec(line);
    if (req) {
      const service = req[1] === 'Blob' ? 'blob' : req[1] === 'Table' ? 'table' : undefined;
      if (!service || isMark(req[3] as string)) continue;
      const entry: AzuriteRequest = {
        service,
        ...(prefix?.[1] !== undefined && { at: prefix[1] }),
        ...(prefix?.[2] !== undefined && { requestId: prefix[2] }),
        method: (req[2] as string).toUpperCase(),
        url: rebase(req[3] as string, origins[service]),
      };
      const scheme = AUTH_SCHEME.exec(line)?.[1];
      if (scheme) entry.authScheme = scheme;
      out.push(entry);
      if (entry.requestId) byId.set(entry.requestId, entry);
      continue;
    }
    const status = STATUS.exec(line);
    const entry = status && prefix?.[2] ? byId.get(prefix[2]) : undefined;
    if (entry && status) entry.status = Number(status[1]);
  }
  return out;
}

/**
 * Azurite's debug log, read from an offset that `clear` moves to the current end. Azurite writes the log
 * asynchronously, so "the current end" is fixed by a barrier, not by waiting for the file to stop growing (that once
 * read a busy machine's log without a response's last line): a marker request is sent to the blob service, and
 * the log is read up to the marker's line. Azurite logs each response before sending it, in one process through one
 * logger, so every request a caller has had its answer to is in the log before the marker.
 */
export class AzuriteLog {
  private offset = 0;

  constructor(
    readonly file: string,
    private readonly origins: AzuriteOrigins,
  ) {}

  async requests(): Promise<AzuriteRequest[]> {
    return parseAzuriteLog((await this.readToMark()).toString('utf8'), this.origins);
  }

  async clear(): Promise<void> {
    this.offset += (await this.readToMark()).length;
  }

  /** The log from the offset up to the end of a new marker's line. */
  private async readToMark(): Promise<Buffer> {
    const id = randomUUID();
    await sendMark(`${this.origins.blob}/${MARK_ACCOUNT}/${id}`);
    const needle = Buffer.from(`/${MARK_ACCOUNT}/${id}`);
    const deadline = Date.now() + MARK_WAIT_MS;
    for (;;) {
      const text = await this.readFromOffset();
      const at = text.indexOf(needle);
      const lineEnd = at < 0 ? -1 : text.indexOf(0x0a, at);
      if (lineEnd >= 0) return text.subarray(0, lineEnd + 1);
      if (Date.now() > deadline) {
        throw new Error(
          `Azurite answered a marker request but did not log it within ${MARK_WAIT_MS / 1000}s (${this.file}): its log cannot be read up to now.`,
        );
      }
      await new Promise((r) => setTimeout(r, MARK_POLL_MS));
    }
  }

  private async readFromOffset(): Promise<Buffer> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (e) {
      // Azurite creates the file with its first line.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw e;
    }
    try {
      const { size } = await handle.stat();
      const buf = Buffer.alloc(Math.max(0, size - this.offset));
      const { bytesRead } = await handle.read(buf, 0, buf.length, this.offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
}

/**
 * The TLS context every marker connection uses (the default trust, NODE_EXTRA_CA_CERTS included): made once, because
 * a connection without an agent otherwise makes its own, which costs a few milliseconds of CPU each time.
 */
let markContext: SecureContext | undefined;

/** GETs the marker URL on a connection of its own (closed after, so Azurite's stop never waits on it); any answer will do. */
async function sendMark(url: string): Promise<void> {
  const secureContext = (markContext ??= createSecureContext());
  await new Promise<void>((resolve, reject) => {
    // `secureContext` goes on to tls.connect (Node's https types list only the options that build one).
    const options: RequestOptions & { secureContext: SecureContext } = { agent: false, secureContext, headers: { connection: 'close' }, timeout: MARK_WAIT_MS };
    const req = httpsGet(url, options, (res) => {
      res.resume();
      res.once('end', resolve);
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`Azurite did not answer a marker request within ${MARK_WAIT_MS / 1000}s (${url}); is it paused?`)));
    req.once('error', reject);
  });
}
