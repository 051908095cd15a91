import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { ToolError } from '../pipeline/errors.js';

/**
 * The one resource a data-plane client may address: the service origin and the exact path segments, as names
 * (not encoded), e.g. `['stddrrecordsprod', 'case-files', '2025', 'summary.txt']`.
 */
export interface ExpectedAddress {
  origin: string;
  segments: readonly string[];
  /** How the resource is named to the caller in a refusal, e.g. "blob 'x' in container 'y'". */
  label: string;
  /** A service root (no names under the endpoint) may be addressed with a trailing '/', as the SDK does. */
  root: boolean;
}

// linear: one character class.
// eslint-disable-next-line no-control-regex -- finding control characters is this pattern's job
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why a request URL's path is not canonical, or undefined: the path as sent must be the path as any URL parser
 * reads it (no dot segments, backslashes or characters a parser rewrites), and every segment must decode to a
 * plain name (valid percent-encoding; no '/', '\' or '%' once decoded, so nothing was encoded twice or hid a
 * separator; no control characters; not '.' or '..'). An empty segment is allowed only at the end (`/keys/name/`).
 * Returns the decoded segments when the path is canonical.
 */
export function canonicalSegments(url: string): { segments: string[] } | { problem: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { problem: 'the request URL does not parse' };
  }
  const authorityEnd = url.indexOf('/', url.indexOf('//') + 2);
  const rawEnd = [url.indexOf('?'), url.indexOf('#')].filter((index) => index >= 0).reduce((least, index) => Math.min(least, index), url.length);
  const rawPath = authorityEnd < 0 || authorityEnd > rawEnd ? '/' : url.slice(authorityEnd, rawEnd);
  if (rawPath !== parsed.pathname)
    return { problem: 'the request path changes when a URL parser reads it (dot segments, backslashes or unencoded characters)' };
  const raw = rawPath.slice(1).split('/');
  const segments: string[] = [];
  for (const [index, piece] of raw.entries()) {
    let segment: string;
    try {
      segment = decodeURIComponent(piece);
    } catch {
      return { problem: `path segment ${index + 1} is not valid percent-encoding` };
    }
    if (segment === '' && index !== raw.length - 1) return { problem: `path segment ${index + 1} is empty` };
    if (segment === '.' || segment === '..') return { problem: `path segment ${index + 1} is a dot segment` };
    // linear: one character class.
    if (/[/\\%]/.test(segment) || CONTROL.test(segment)) return { problem: `path segment ${index + 1} hides a separator, an encoding or a control character` };
    segments.push(segment);
  }
  return { segments };
}

function refuse(message: string): ToolError {
  return new ToolError('forbidden', `${message}; nothing was sent to Azure.`, { rule: 'names.url-mismatch' });
}

/**
 * On every request of a Resource Manager or Key Vault client: the URL the SDK built must have a canonical path
 * (see canonicalSegments), so a name can never climb out of its place in the path. Runs before the request is sent.
 */
export const canonicalPathPolicy: PipelinePolicy = {
  name: 'sovereignMcpCanonicalPath',
  async sendRequest(request, next) {
    const checked = canonicalSegments(request.url);
    if ('problem' in checked) throw refuse(`The request Azure would receive is not addressed by plain names (${checked.problem})`);
    return next(request);
  },
};

/**
 * A data-plane client's only policy for where it may go: each outgoing request, as the SDK finally built and
 * encoded it, must address exactly `expected` (same origin, same decoded path segments; the query is the SDK's
 * own), or it is refused before anything is sent. A client carrying it cannot reach another container, account
 * or blob, whatever name it was given.
 */
export function exactAddressPolicy(expected: ExpectedAddress): PipelinePolicy {
  return {
    name: 'sovereignMcpExactAddress',
    async sendRequest(request, next) {
      const checked = canonicalSegments(request.url);
      if ('problem' in checked) throw refuse(`The request for ${expected.label} is not addressed by plain names (${checked.problem})`);
      const sameOrigin = new URL(request.url).origin === expected.origin;
      const actual = expected.root && checked.segments.at(-1) === '' ? checked.segments.slice(0, -1) : checked.segments;
      if (actual.includes('')) throw refuse(`The request for ${expected.label} has an empty path segment`);
      const samePath = actual.length === expected.segments.length && actual.every((segment, index) => segment === expected.segments[index]);
      if (!sameOrigin || !samePath) throw refuse(`The request built for ${expected.label} would address another resource`);
      return next(request);
    },
  };
}

/** The expected address of `names` under a service endpoint (whose own path, e.g. a path-style account, comes first). */
export function addressUnder(endpoint: string, names: readonly string[], label: string): ExpectedAddress {
  const base = canonicalSegments(endpoint);
  if ('problem' in base) throw refuse(`The endpoint for ${label} is not a plain URL (${base.problem})`);
  const baseSegments = base.segments.filter((segment) => segment !== '');
  return { origin: new URL(endpoint).origin, segments: [...baseSegments, ...names], label, root: names.length === 0 };
}

/** The URL of `names` under `endpoint`, each name percent-encoded as one path segment. */
export function urlUnder(endpoint: string, names: readonly string[]): string {
  return [withoutTrailingSlashes(endpoint), ...names.map((name) => encodeURIComponent(name))].join('/');
}

/** One pass from the end (`/\/+$/` would retry every run of slashes from each of its slashes: quadratic). */
function withoutTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === '/') end -= 1;
  return text.slice(0, end);
}
