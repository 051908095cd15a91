import functions from '@azure/functions';
import type { HttpRequestInit } from '@azure/functions';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { HttpFunctionDefinition } from '../../functions/definitions.js';
import type { EasyAuth } from './easy-auth.js';
import { streamOf } from '../../shared/http/received-body.js';
import { consoleLogger } from '../../shared/log.js';

// HttpRequest, HttpResponse and InvocationContext are not named ESM exports of @azure/functions.
const { HttpRequest, HttpResponse, InvocationContext } = functions;

/** Azure Functions refuses request bodies over 100 MB before any function runs; so does this host. */
const HOST_MAX_BODY_BYTES = 100 * 1024 * 1024;

export interface LocalHostOptions {
  /** App Service Authentication's stand-in, in front of every function as the platform is in Azure. */
  easyAuth?: EasyAuth;
}

/**
 * A small stand-in for the Azure Functions host, for machines without Core Tools: it serves the same function
 * definitions `functions/index.ts` registers (routePrefix ""), turning node:http requests into the
 * `HttpRequest`/`InvocationContext` objects the Functions runtime would pass.
 */
export function createLocalHost(definitions: readonly HttpFunctionDefinition[], options: LocalHostOptions = {}): Server {
  const { easyAuth } = options;
  // Route templates as Functions writes them: literal segments and `{name}` parameters (one segment each).
  const routes = definitions.map((definition) => ({
    definition,
    pattern: new RegExp(
      `^/${definition.route
        .split('/')
        .map((segment) => (/^\{\w+\}$/.test(segment) ? `(?<${segment.slice(1, -1)}>[^/]+)` : segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
        .join('/')}$`,
      'i',
    ),
  }));

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      } catch {
        // A Host header no URL can hold (`a b`, `[::1`): refused as a bad request, as Azure's front end does.
        return send(res, 400, 'Bad Request: invalid Host header');
      }
      if (easyAuth && (await easyAuth.serve(req, res, url))) return;
      let params: Record<string, string> = {};
      const route = routes.find((candidate) => {
        const match = candidate.pattern.exec(url.pathname);
        if (!match || !candidate.definition.methods.includes(req.method as never)) return false;
        try {
          params = Object.fromEntries(Object.entries(match.groups ?? {}).map(([key, value]) => [key, decodeURIComponent(value)]));
        } catch {
          return false; // a malformed %-escape names no resource: 404, not a handler crash
        }
        return true;
      });
      if (!route) return send(res, 404, 'Not found');
      const body = await readBody(req);
      if (!body) return send(res, 413, 'Request body too large');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      easyAuth?.forward(headers);
      // As the Functions runtime builds it when the app streams HTTP (`enableHttpStream`): a web Request whose body
      // streams, here from the chunks as they came, so no step copies the whole body in one piece.
      const hasBody = body.length > 0 && req.method !== 'GET' && req.method !== 'HEAD';
      const nativeRequest = new Request(url.toString(), {
        method: req.method ?? 'GET',
        headers,
        ...(hasBody ? { body: streamOf(body), duplex: 'half' } : {}),
      });
      const request = new HttpRequest({ nativeRequest, params } as HttpRequestInit);
      const context = new InvocationContext({ invocationId: randomUUID(), functionName: route.definition.name });
      const result = await route.definition.handler(request, context);
      await write(res, result instanceof HttpResponse ? result : new HttpResponse(result ?? {}));
    } catch (error) {
      // A handler throwing is a bug; the Functions host answers 500 without details, and so do we (logged as the app
      // logs errors: name and message, no stack).
      consoleLogger.error('Function failed', error);
      if (!res.headersSent) send(res, 500, 'Internal server error');
      else res.destroy();
    }
  };
  // serve catches every error itself (a 500, or the socket dropped once headers are out): its promise never
  // rejects, and Node's request listener has nothing to wait for.
  const server = createServer((req, res) => void serve(req, res));
  // Idle keep-alive connections stay open for minutes, as behind Azure's front end. With Node's default 5 s, a client
  // reusing a connection just as the server drops it gets ECONNRESET (seen on a busy machine): clients time out first.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  return server;
}

/** The body's chunks as they came (not joined: the request streams them on), or undefined past the host's cap. */
async function readBody(req: IncomingMessage): Promise<Buffer[] | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > HOST_MAX_BODY_BYTES) return undefined;
    if (chunk.byteLength > 0) chunks.push(chunk);
  }
  return chunks;
}

async function write(res: ServerResponse, response: InstanceType<typeof HttpResponse>): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status ?? 200, headers);
  if (!response.body) return void res.end();
  // Streams (SSE) are piped as they come, so progress reaches the client before the result.
  const stream = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  res.on('close', () => stream.destroy());
  for await (const chunk of stream) res.write(chunk);
  res.end();
}

function send(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(message);
}
