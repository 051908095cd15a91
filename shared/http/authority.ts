import type { Settings } from '../config/settings.js';
import { boundedMemo } from '../runtime/bounded-memo.js';

/**
 * The authority (host and port) a request names, checked against what the app serves: links and challenges are
 * built from it, so a Host with another port must not get through any more than another host name.
 *
 * What the app serves:
 * - each `MCP_ALLOWED_HOSTS` entry with a port (`name:port`): exactly that authority;
 * - each entry without a port: that name on the port the app is served on — locally the local host's own port
 *   (`PORT`, default 7071, as Core Tools), in Azure the scheme's default port (443 for https);
 * - the authority of `MCP_PUBLIC_BASE_URL`, when set.
 */

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };
/** Anything that makes a Host value more than `host[:port]` (a path, query, fragment, user info, space). */
// linear: one character class, no quantifier: one step per character.
const NOT_AN_AUTHORITY = /[/\\?#@\s]/;
// linear: each start is a ':' followed by at most five digits, so at most six steps per start.
const EXPLICIT_PORT = /:\d{1,5}$/;

interface Authority {
  hostname: string;
  /** Always explicit: the scheme's default port when the value names none. */
  port: string;
}

/** `host[:port]` as WHATWG URL parsing reads it for `scheme` (as the request URL is built), or undefined. */
function parseAuthority(value: string, scheme: string): Authority | undefined {
  if (value === '' || value.length > 300 || NOT_AN_AUTHORITY.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(`${scheme}//${value}`);
  } catch {
    return undefined;
  }
  return { hostname: url.hostname, port: url.port || (DEFAULT_PORTS[scheme] ?? '') };
}

function servedAuthorities(scheme: string, settings: Settings): Authority[] {
  const servedPort = settings.localPort !== undefined ? String(settings.localPort) : (DEFAULT_PORTS[scheme] ?? '');
  const served = settings.allowedHosts.flatMap((entry) => {
    const parsed = parseAuthority(entry, scheme);
    if (!parsed) return [];
    return [{ hostname: parsed.hostname, port: EXPLICIT_PORT.test(entry) ? parsed.port : servedPort }];
  });
  if (settings.publicBaseUrl) {
    const url = new URL(settings.publicBaseUrl);
    served.push({ hostname: url.hostname, port: url.port || (DEFAULT_PORTS[url.protocol] ?? '') });
  }
  return served;
}

/**
 * Per settings and scheme, the answers given lately: every request asks twice (Host header and URL), almost always
 * about the same authority, and each answer parses URLs. Bounded (./bounded-memo.ts): a caller sending a new Host each
 * time costs what the check costs anyway. Kept for the two schemes requests arrive over only (the local host builds a
 * request's URL from its target, which can name any scheme: those are worked out each time).
 */
const answers = new WeakMap<Settings, Partial<Record<'http:' | 'https:', (value: string) => boolean>>>();

/** Whether `value`, read as an authority for `scheme`, is one of `served`. */
function isServed(value: string, scheme: string, served: readonly Authority[]): boolean {
  const named = parseAuthority(value, scheme);
  return named !== undefined && served.some((authority) => authority.hostname === named.hostname && authority.port === named.port);
}

/** Whether `value` (a Host header, or the request URL's host) names an authority this app serves over `scheme`. */
export function servesAuthority(value: string | null, scheme: string, settings: Settings): boolean {
  if (value === null) return false;
  if (scheme !== 'http:' && scheme !== 'https:') return isServed(value, scheme, servedAuthorities(scheme, settings));
  let bySettings = answers.get(settings);
  if (!bySettings) answers.set(settings, (bySettings = {}));
  let answer = bySettings[scheme];
  if (!answer) {
    const served = servedAuthorities(scheme, settings);
    bySettings[scheme] = answer = boundedMemo((text) => isServed(text, scheme, served), { maxEntries: 256, maxLength: 300 });
  }
  return answer(value);
}
