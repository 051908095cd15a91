import type { HttpHandler } from '@azure/functions';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { HttpFunctionDefinition } from '../functions/definitions.js';
import { TOOLS } from '../shared/tools/registry.js';

/**
 * The second baseline: the naive pattern of the official MCP SDK v1 samples, served as one more Function by the
 * same local host as the trivial baseline. Per request: a fresh `McpServer`, the app's 24 tools registered with
 * their zod input schemas (so tools/list converts them to JSON Schema on every call, as the sample does), a fresh
 * stateless Streamable HTTP transport, connect, handle, close when the answer has been sent. No auth, no audit.
 *
 * The transport is `WebStandardStreamableHTTPServerTransport`, the class the sample's Node
 * `StreamableHTTPServerTransport` wraps (it only adds a Node ↔ web conversion, which a Functions handler does not
 * need): if anything, the baseline is a little faster than the sample.
 */
export const naiveSdkHandler: HttpHandler = async (request) => {
  const server = new McpServer({ name: 'naive-sample', version: '1.0.0' });
  for (const tool of TOOLS) {
    server.registerTool(tool.name, { title: tool.title, description: tool.description, inputSchema: tool.input }, async () => ({
      content: [{ type: 'text', text: 'ok' }],
    }));
  }
  const transport = new WebStandardStreamableHTTPServerTransport({}); // no sessionIdGenerator: stateless, as the sample's `sessionIdGenerator: undefined`
  await server.connect(transport);
  const parsedBody: unknown = await request.json();
  const response = await transport.handleRequest(new Request(request.url, { method: request.method, headers: request.headers }), { parsedBody });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  const close = () => void transport.close().then(() => server.close());
  if (!response.body) {
    close();
    return { status: response.status, headers };
  }
  // The sample closes transport and server when the response is done (`res.on('close')`).
  const body = response.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ flush: close }));
  return { status: response.status, headers, body };
};

/** The naive baseline as one more Function definition (route `bench/naive-sdk`). */
export const NAIVE_SDK_FUNCTION: HttpFunctionDefinition = {
  name: 'bench_naive_sdk',
  route: 'bench/naive-sdk',
  methods: ['POST'],
  handler: naiveSdkHandler,
};
