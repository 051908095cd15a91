// ARM/Key Vault style paging: a page of items plus an absolute nextLink carrying an opaque $skiptoken.

export interface Page<T> {
  value: T[];
  nextLink?: string;
}

/** What paging needs of a collection; arrays qualify, and `concat` builds one without copying its parts. */
export interface Sliceable<T> {
  readonly length: number;
  slice(start: number, end: number): T[];
}

/** The parts one after another, sliced in O(slice size), so a page of a large listing costs only that page. */
export function concat<T>(...parts: readonly (readonly T[])[]): Sliceable<T> {
  const length = parts.reduce((n, p) => n + p.length, 0);
  return {
    length,
    slice(start, end) {
      const out: T[] = [];
      let at = 0;
      for (const part of parts) {
        if (at >= end) break;
        const from = Math.max(0, start - at);
        const to = Math.min(part.length, end - at);
        for (let i = from; i < to; i++) out.push(part[i] as T);
        at += part.length;
      }
      return out;
    },
  };
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

function decodeToken(token: string | null): number {
  if (!token) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown };
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through to the error below
  }
  throw new Error('invalid $skiptoken');
}

/**
 * Slices `items` for the request at `requestUrl` (absolute, as the client sees it).
 * `sizeParam` names the query parameter that may lower the page size ($top for ARM, maxresults for Key Vault).
 */
export function page<T>(items: Sliceable<T>, requestUrl: URL, defaultSize: number, sizeParam: string): Page<T> {
  const requested = Number(requestUrl.searchParams.get(sizeParam));
  const size = Number.isInteger(requested) && requested > 0 ? requested : defaultSize;
  const offset = decodeToken(requestUrl.searchParams.get('$skiptoken'));
  const value = items.slice(offset, offset + size);
  if (offset + size >= items.length) return { value };
  const next = new URL(requestUrl.href);
  next.searchParams.set('$skiptoken', encodeToken(offset + size));
  return { value, nextLink: next.href };
}
