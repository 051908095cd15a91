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
import { open, stat } from 'node:fs/promises';

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
/** How long the file must stay the same size before it is read, since Azurite writes its log asynchronously. */
const SETTLE_MS = 30;
const SETTLE_MAX_MS = 1000;

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

export function parseAzuriteLog(text: string, origins: AzuriteOrigins): AzuriteRequest[] {
  const out: AzuriteRequest[] = [];
  const byId = new Map<string, AzuriteRequest>();
  for (const line of text.split('\n')) {
    const prefix = PREFIX.exec(line);
    const req = REQUEST.exec(line);
    if (req) {
      const service = req[1] === 'Blob' ? 'blob' : req[1] === 'Table' ? 'table' : undefined;
      if (!service) continue;
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

/** Azurite's debug log, read from an offset that `clear` moves to the current end. */
export class AzuriteLog {
  private offset = 0;

  constructor(
    readonly file: string,
    private readonly origins: AzuriteOrigins,
  ) {}

  async requests(): Promise<AzuriteRequest[]> {
    const size = await this.settledSize();
    if (size <= this.offset) return [];
    const handle = await open(this.file, 'r');
    try {
      const buf = Buffer.alloc(size - this.offset);
      await handle.read(buf, 0, buf.length, this.offset);
      const text = buf.toString('utf8');
      // A line still being written is left for the next read.
      return parseAzuriteLog(text.slice(0, text.lastIndexOf('\n') + 1), this.origins);
    } finally {
      await handle.close();
    }
  }

  async clear(): Promise<void> {
    this.offset = await this.settledSize();
  }

  private async settledSize(): Promise<number> {
    const deadline = Date.now() + SETTLE_MAX_MS;
    let last = await this.size();
    for (;;) {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const now = await this.size();
      if (now === last || Date.now() > deadline) return now;
      last = now;
    }
  }

  private async size(): Promise<number> {
    try {
      return (await stat(this.file)).size;
    } catch {
      return 0;
    }
  }
}
