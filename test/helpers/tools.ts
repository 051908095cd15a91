import type { TestStack } from './stack.js';

export interface ToolCallResult {
  status: number;
  retryAfter: string | null;
  body: { isError?: boolean; content: { text: string }[]; structuredContent?: Record<string, unknown>; _meta?: Record<string, unknown> };
  /** structuredContent, or {} on errors. */
  out: Record<string, unknown>;
  /** The error object of an isError result (its last text block is the JSON error). */
  error?: { code: string; message: string; rule?: string; [key: string]: unknown };
}

/** POST /tools/{tool} as an automation client would call it. */
export async function callTool(stack: TestStack, token: string, tool: string, args: unknown): Promise<ToolCallResult> {
  const response = await fetch(`${stack.baseUrl}/tools/${tool}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(args),
  });
  const body = (await response.json()) as ToolCallResult['body'];
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body,
    out: body.structuredContent ?? {},
    ...(body.isError ? { error: JSON.parse(body.content.at(-1)!.text).error } : {}),
  };
}

/** The tool names tools/list shows this caller over /mcp. */
export async function listedToolNames(stack: TestStack, token: string): Promise<string[]> {
  const response = await fetch(stack.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  const text = await response.text();
  const json = text.trimStart().startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '');
  return (JSON.parse(json) as { result: { tools: { name: string }[] } }).result.tools.map((tool) => tool.name);
}
