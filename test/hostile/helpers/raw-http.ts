import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/**
 * A raw HTTP client for hostile tests: unlike fetch it can send any Host header, any body bytes and header
 * combinations fetch would normalise away, and it never follows redirects or retries.
 */
export interface RawRequest {
  method: string;
  /** Sent exactly as given (it must only be free of spaces and control characters, which node:http refuses). */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  elapsedMs: number;
}

export function rawClient(baseUrl: string, options: { maxSockets?: number; timeoutMs?: number } = {}) {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 8 });
  const timeoutMs = options.timeoutMs ?? 30_000;

  function send(req: RawRequest): Promise<RawResponse> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest({ host: url.hostname, port: url.port, path: req.path, method: req.method, headers: req.headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), elapsedMs: Date.now() - started }),
        );
        res.on('error', reject);
      });
      outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms to ${req.method} ${req.path}`)));
      outgoing.on('error', reject);
      outgoing.end(req.body);
    });
  }

  return { send, close: () => agent.destroy() };
}

/** Runs `work` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The JSON-RPC messages of an SSE body (`event: message` / `data: {...}` blocks), in order. */
export function sseMessages(text: string): unknown[] {
  const messages: unknown[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data !== '') messages.push(JSON.parse(data));
  }
  return messages;
}

/**
 * What must never reach a caller: stack frames, Node internals, build paths, temp folders. Checked on the raw body,
 * where a JSON string's newline is the two characters `\n`.
 */
const LEAKS: readonly [string, RegExp][] = [
  ['a stack frame', /(?:\n|\\n)\s*at \S[^\n]*?:\d+:\d+/],
  ['a stack frame', /\bat (?:async )?[\w$.<>[\] ]*\((?:file:|node:|\/)[^)]*:\d+:\d+\)/],
  ['a Node internal', /node:internal|internal\/(?:process|modules)/],
  ['a build path', /[/\\]dist[/\\](?:shared|dev|functions|test)[/\\]/],
  ['a file URL', /file:\/\/\//],
  ['a checkout or temp path', /\/work\/main|sovereign-mcp-test-/],
  ['an error class dump', /\b(?:TypeError|ReferenceError|RangeError|SyntaxError): (?!.*\bJSON\b)/],
];

/** The first leak found in a response body, or undefined. */
export function findLeak(text: string, secrets: readonly string[]): string | undefined {
  for (const [what, pattern] of LEAKS) {
    const match = pattern.exec(text);
    if (match) return `${what}: ${JSON.stringify(text.slice(Math.max(0, match.index - 80), match.index + 120))}`;
  }
  for (const secret of secrets) {
    if (secret.length >= 16 && text.includes(secret)) return `a caller's bearer token (${secret.slice(0, 12)}...)`;
  }
  return undefined;
}
