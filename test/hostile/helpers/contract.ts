import { isDeepStrictEqual } from 'node:util';
import { TOOL_ERROR_STATUS } from '../../../shared/pipeline/errors.js';
import { TOOLS } from '../../../shared/tools/registry.js';
import { findLeak, sseMessages, type RawRequest, type RawResponse } from './raw-http.js';

/**
 * The response contract every request must meet, whatever was sent: what an attacker or a broken client may see.
 * Returns the list of broken promises (empty when the response is fine).
 */

/** Where the local host routes a request target (it matches the WHATWG-normalised path, case-insensitively). */
export type Route = { kind: 'mcp' } | { kind: 'tool'; tool: string } | { kind: 'router-404' } | { kind: 'other'; path: string };

const TOOL_NAMES = new Set(TOOLS.map((tool) => tool.name));

export function routeOf(method: string, rawPath: string): Route {
  let pathname: string;
  try {
    pathname = new URL(rawPath, 'http://127.0.0.1').pathname;
  } catch {
    return { kind: 'router-404' };
  }
  const lower = pathname.toLowerCase();
  if (lower === '/mcp') return ['GET', 'POST', 'DELETE'].includes(method) ? { kind: 'mcp' } : { kind: 'router-404' };
  const tool = /^\/tools\/([^/]+)$/.exec(lower)?.[1];
  if (tool && TOOL_NAMES.has(tool)) return method === 'POST' ? { kind: 'tool', tool } : { kind: 'router-404' };
  const known = ['/health', '/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp', '/tools/manifest'];
  if (known.includes(lower) || /^\/approvals\/[^/]+$/.test(lower) || lower.startsWith('/.auth/')) return { kind: 'other', path: lower };
  return { kind: 'router-404' };
}

/** The URL an absolute-form (`http://host:port/path`) or scheme-relative (`//host/path`) request target names. */
export function absoluteTarget(rawPath: string): URL | undefined {
  if (!/^(?:[a-z][a-z0-9+.-]*:)?\/\//i.test(rawPath)) return undefined;
  try {
    return new URL(rawPath, 'http://127.0.0.1');
  } catch {
    return undefined;
  }
}

/** Loopback names the sandbox app serves; a challenge or link must never point anywhere else. */
const OUR_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether a URL names the app itself: one of its loopback names, on the port it is served on (the whole authority). */
export function namesUs(url: URL, port: string): boolean {
  return OUR_HOSTS.has(url.hostname) && (url.port || (url.protocol === 'https:' ? '443' : '80')) === port;
}

/** Links the app builds to itself (metadata, MCP endpoint, approval pages, sign-in): each must name its own authority. */
const APP_LINK = /https?:\/\/[^/\s"'\\]+\/(?:mcp\b|\.well-known\/oauth-protected-resource|approvals\/|tools\/|\.auth\/)/g;

export interface Expectation {
  request: RawRequest;
  /** Valid bearer tokens in play: none may ever be echoed back. */
  secrets: readonly string[];
  /** The port the app is served on: a link or challenge naming any other authority is a failure. */
  port: string;
}

export function checkResponse({ request, secrets, port }: Expectation, response: RawResponse): string[] {
  const problems: string[] = [];
  const route = routeOf(request.method, request.path);
  if (response.status >= 500 || response.status < 100) problems.push(`HTTP ${response.status} (a server failure for a client's input)`);
  const leak = findLeak(response.text, secrets) ?? findLeak(JSON.stringify(response.headers), secrets);
  if (leak) problems.push(`the response leaks ${leak}`);
  const challenge = response.headers['www-authenticate'];
  if (challenge) {
    const metadata = /resource_metadata="([^"]+)"/.exec(String(challenge))?.[1];
    if (!metadata) problems.push(`a challenge without resource_metadata: ${challenge}`);
    else if (!namesUs(new URL(metadata), port)) problems.push(`the challenge points at another authority: ${metadata}`);
  }
  for (const link of `${JSON.stringify(response.headers)} ${response.text}`.matchAll(APP_LINK)) {
    if (!namesUs(new URL(link[0]), port)) problems.push(`a link names another authority: ${link[0]}`);
  }

  if (response.status === 431) {
    // Node's HTTP server (like any front end) refuses oversized header blocks before a function runs.
    const headerBytes = Object.entries(request.headers).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);
    if (headerBytes < 16 * 1024) problems.push(`431 for ${headerBytes} bytes of headers`);
    return problems;
  }
  const target = absoluteTarget(request.path);
  if (target !== undefined && !namesUs(target, port) && (route.kind === 'mcp' || route.kind === 'tool') && response.status !== 403) {
    problems.push(`a request target naming another authority (${target.host}) was answered ${response.status}, not 403`);
  }
  const hostHeader = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'host')?.[1];
  if (hostHeader !== undefined && (route.kind === 'mcp' || route.kind === 'tool') && ![400, 403, 431].includes(response.status)) {
    let named: URL | undefined;
    try {
      named = new URL(`http://${hostHeader}`);
    } catch {
      named = undefined;
    }
    if (named && !namesUs(named, port)) problems.push(`a Host naming another authority (${hostHeader}) was answered ${response.status}, not 403`);
  }
  if (route.kind === 'router-404') {
    // No function has this route: the host answers before the app runs (as the Functions host does).
    if (response.status !== 404) problems.push(`an unrouted target answered ${response.status}, not 404`);
    return problems;
  }
  if (route.kind === 'other') return problems;

  const type = String(response.headers['content-type'] ?? '');
  if (response.status !== 202 && response.headers['x-content-type-options'] !== 'nosniff') problems.push('no x-content-type-options: nosniff');
  if (route.kind === 'mcp') problems.push(...checkMcp(request, response, type));
  else problems.push(...checkTool(response, type));
  return problems;
}

/** The JSON-RPC id a response must echo: present only when the request was one JSON object with a valid id. */
function requestId(request: RawRequest): { valid: boolean; id?: string | number } {
  try {
    const text = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body ?? new Uint8Array());
    // Only an object carries an id: a body that does not start as one (after JSON's whitespace) is not parsed,
    // which spares parsing the fuzzers' megabytes of nested arrays.
    if (!/^[ \t\n\r]*\{/.test(text)) return { valid: false };
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !('id' in parsed)) return { valid: false };
    const id = parsed.id;
    // JSON-RPC ids are strings or numbers (MCP narrows them to integers, but echoing any number is correct).
    if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) return { valid: true, id };
  } catch {
    // not JSON: no id to echo
  }
  return { valid: false };
}

function checkMcp(request: RawRequest, response: RawResponse, type: string): string[] {
  const problems: string[] = [];
  if (response.status === 202) {
    if (response.text !== '') problems.push(`202 with a body: ${response.text.slice(0, 200)}`);
    return problems;
  }
  let messages: unknown[];
  try {
    if (/^application\/json\b/i.test(type)) messages = [JSON.parse(response.text)];
    else if (/^text\/event-stream\b/i.test(type)) messages = sseMessages(response.text);
    else return [`/mcp answered ${response.status} with content type '${type}': ${response.text.slice(0, 200)}`];
  } catch {
    return [`/mcp answered a body that is not JSON: ${response.text.slice(0, 200)}`];
  }
  if (messages.length === 0) return [`/mcp answered ${response.status} with no JSON-RPC message`];
  const answer = messages.at(-1) as Record<string, unknown>;
  for (const note of messages.slice(0, -1) as Record<string, unknown>[]) {
    if (note?.jsonrpc !== '2.0' || typeof note.method !== 'string' || 'id' in note)
      problems.push(`a streamed message before the answer is not a notification: ${JSON.stringify(note).slice(0, 200)}`);
  }
  if (!answer || typeof answer !== 'object' || Array.isArray(answer))
    return [...problems, `the answer is not a JSON-RPC object: ${response.text.slice(0, 200)}`];
  if (answer.jsonrpc !== '2.0') problems.push(`jsonrpc is ${JSON.stringify(answer.jsonrpc)}`);
  if (!('id' in answer)) problems.push('the answer has no id');
  if ('result' in answer === 'error' in answer) problems.push('the answer must have exactly one of result and error');
  const expected = requestId(request);
  if ('result' in answer) {
    if (response.status !== 200) problems.push(`a result with HTTP ${response.status}`);
    if (!expected.valid || !isDeepStrictEqual(answer.id, expected.id))
      problems.push(`a result for id ${JSON.stringify(answer.id)}, but the request's id was ${JSON.stringify(expected.id)}`);
    problems.push(...checkToolResultInRpc(answer.result));
  } else if ('error' in answer) {
    const error = answer.error as { code?: unknown; message?: unknown } | null;
    if (!error || typeof error !== 'object') problems.push('error is not an object');
    else {
      if (!Number.isInteger(error.code)) problems.push(`error.code ${JSON.stringify(error.code)} is not an integer`);
      if (typeof error.message !== 'string' || error.message === '') problems.push('error.message is not a non-empty string');
      // JSON-RPC's "internal error" says the server broke; a client's bad request must get its own code.
      if (error.code === -32603) problems.push(`JSON-RPC internal error (-32603) for a client's request: ${String(error.message).slice(0, 300)}`);
    }
    if (answer.id !== null && !(expected.valid && isDeepStrictEqual(answer.id, expected.id))) {
      problems.push(`an error for id ${JSON.stringify(answer.id)}, but the request's id was ${JSON.stringify(expected.id)}`);
    }
  }
  if (response.status === 401 && !response.headers['www-authenticate']) problems.push('401 without WWW-Authenticate');
  return problems;
}

/** A tools/call result inside a JSON-RPC answer: if it is a CallToolResult, it must be a well-formed one. */
function checkToolResultInRpc(result: unknown): string[] {
  if (!result || typeof result !== 'object' || !('content' in result)) return [];
  const { content, isError } = result as { content: unknown; isError?: unknown };
  if (!Array.isArray(content) || content.length === 0) return ['a tool result without content'];
  if (isError === true) {
    const text = (content.at(-1) as { text?: unknown }).text;
    try {
      const error = (JSON.parse(String(text)) as { error?: { code?: unknown; message?: unknown } }).error;
      if (typeof error?.code !== 'string' || !(error.code in TOOL_ERROR_STATUS)) return [`a tool error with an unknown code: ${String(text).slice(0, 200)}`];
      if (TOOL_ERROR_STATUS[error.code as keyof typeof TOOL_ERROR_STATUS] >= 500) return [`a tool failed with ${error.code}: ${String(text).slice(0, 300)}`];
      if (typeof error.message !== 'string' || error.message === '') return ['a tool error without a message'];
    } catch {
      return [`a tool error whose last text is not the JSON error: ${String(text).slice(0, 200)}`];
    }
  }
  return [];
}

/** /tools/{name}: a CallToolResult with the status its outcome maps to, or the edge's JSON refusal. */
function checkTool(response: RawResponse, type: string): string[] {
  if (!/^application\/json\b/i.test(type)) return [`/tools answered content type '${type}': ${response.text.slice(0, 200)}`];
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(response.text) as Record<string, unknown>;
  } catch {
    return [`/tools answered a body that is not JSON: ${response.text.slice(0, 200)}`];
  }
  const problems: string[] = [];
  if ('content' in body) {
    const content = body.content as { type?: unknown; text?: unknown }[];
    if (!Array.isArray(content) || content.length === 0 || content.some((block) => block?.type !== 'text' || typeof block.text !== 'string')) {
      return [`content is not a list of text blocks: ${response.text.slice(0, 200)}`];
    }
    if (body.isError === true) {
      let error: { code?: unknown; message?: unknown; correlationId?: unknown } | undefined;
      try {
        error = (JSON.parse(content.at(-1)!.text as string) as { error?: typeof error }).error;
      } catch {
        return [`the error text is not JSON: ${String(content.at(-1)!.text).slice(0, 200)}`];
      }
      if (typeof error?.code !== 'string' || !(error.code in TOOL_ERROR_STATUS)) return [`unknown error code ${JSON.stringify(error?.code)}`];
      const status = TOOL_ERROR_STATUS[error.code as keyof typeof TOOL_ERROR_STATUS];
      if (response.status !== status) problems.push(`error ${error.code} answered with HTTP ${response.status}, not ${status}`);
      if (typeof error.message !== 'string' || error.message.length < 10) problems.push(`error ${error.code} without a message that says what to do`);
      if (typeof error.correlationId !== 'string' || !/^[0-9a-f-]{36}$/.test(error.correlationId)) problems.push('an error without a correlation id');
      if (status === 429 && !response.headers['retry-after']) problems.push('429 without Retry-After');
    } else {
      if (response.status !== 200) problems.push(`a successful result with HTTP ${response.status}`);
      const structured = body.structuredContent;
      if (!structured || typeof structured !== 'object') problems.push('a successful result without structuredContent');
      else {
        try {
          if (!isDeepStrictEqual(JSON.parse(content.at(-1)!.text as string), structured)) problems.push('the text copy differs from structuredContent');
        } catch {
          problems.push('the last text block is not the JSON of structuredContent');
        }
      }
    }
    return problems;
  }
  const error = body.error as { code?: unknown; message?: unknown } | undefined;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string' || error.message === '') {
    return [`neither a CallToolResult nor an {error:{code,message}} refusal: ${response.text.slice(0, 200)}`];
  }
  if (![400, 401, 403, 413, 415].includes(response.status)) problems.push(`an edge refusal with HTTP ${response.status}`);
  if (response.status === 401 && !response.headers['www-authenticate']) problems.push('401 without WWW-Authenticate');
  return problems;
}
