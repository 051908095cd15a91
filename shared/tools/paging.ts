import * as z from 'zod';
import { ToolError } from '../pipeline/errors.js';
import { isMissingResourceGroup } from '../azure/errors.js';
import { withoutTrailingSlashes } from '../text/trailing-slashes.js';

/** Inputs every list tool shares: a page size and the opaque cursor from the previous page. */
export const pageInput = {
  top: z.number().int().min(1).max(100).default(25).describe('How many items to return (1-100, default 25)'),
  cursor: z.string().max(4096).optional().describe('nextCursor from the previous page, to continue the listing'),
};

export const nextCursorOutput = z.string().optional().describe('Pass as cursor to get the next page; absent on the last page');

/**
 * Where a listing stopped: which source (resource group) it was reading, that source's Azure page link (absent for
 * its first page) and the position within the page.
 */
interface Position {
  source?: number;
  link?: string;
  offset: number;
}

/**
 * Cursors carry Azure's nextLink. A nextLink is a URL the SDK would call with the app's identity, so a cursor is
 * accepted only when its link points at the expected service and path: a forged cursor cannot aim the identity
 * at another host.
 */
export interface LinkRule {
  origin: string;
  /**
   * The exact collection path a link must have for a source (resource group): a cursor cannot move a listing to
   * another group or collection (say, the containers of an account the CMK rule refuses).
   */
  path: (source: string | undefined) => string;
}

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** `marker`: the continuation is an opaque marker the SDK sends as a query parameter (blob listings), not a URL. */
export type ContinuationRule = LinkRule | 'marker';

export function decodeCursor(cursor: string | undefined, rule: ContinuationRule, sources?: readonly string[]): Position {
  if (cursor === undefined) return { offset: 0 };
  const invalid = () => new ToolError('invalid_arguments', 'cursor is not a cursor from this listing; call again without cursor to start over.');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const parsed = z
    .object({ source: z.number().int().min(0).max(10_000).optional(), link: z.string().max(4000).optional(), offset: z.number().int().min(0).max(100_000) })
    .strict()
    .safeParse(value);
  if (!parsed.success) throw invalid();
  const { source, link, offset } = parsed.data;
  if ((source ?? 0) >= (sources?.length ?? 1)) throw invalid();
  if (link !== undefined && rule !== 'marker') {
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      throw invalid();
    }
    const expected = rule.path(sources?.[source ?? 0]).toLowerCase();
    if (url.origin !== rule.origin || withoutTrailingSlashes(url.pathname.toLowerCase()) !== expected) throw invalid();
  }
  return { ...(source !== undefined ? { source } : {}), ...(link !== undefined ? { link } : {}), offset };
}

export interface PageOf<T> {
  items: T[];
  nextCursor?: string;
}

/** Bounds the Azure pages read for one answer when a filter drops most items, so latency stays bounded. */
const MAX_PAGES_PER_CALL = 20;

/**
 * Reads `top` items from an SDK listing starting at `cursor`, one Azure page at a time (memory stays bounded by
 * Azure's page size), keeping only items that pass `keep`. `open(link, source)` starts the SDK's byPage iterator at
 * a link; `linkOf(page)` reads the page's continuation link. With `sources` (resource groups), the listings of each
 * source are read one after another, so a listing never needs more than per-group permissions.
 */
export async function readPage<T, R>(options: {
  cursor: string | undefined;
  top: number;
  rule: ContinuationRule;
  sources?: readonly string[];
  open: (link: string | undefined, source: string | undefined) => AsyncIterableIterator<T[]>;
  linkOf: (page: T[]) => string | undefined;
  keep?: (item: T) => boolean;
  map: (item: T) => R;
}): Promise<PageOf<R>> {
  const { top, keep = () => true, map, sources } = options;
  const start = decodeCursor(options.cursor, options.rule, sources);
  const sourceCount = sources?.length ?? 1;
  const items: R[] = [];
  const at = (source: number, link: string | undefined, offset: number): Position => ({
    ...(sources ? { source } : {}),
    ...(link !== undefined ? { link } : {}),
    offset,
  });
  let pagesRead = 0;
  for (let source = start.source ?? 0; source < sourceCount; source += 1) {
    const first = source === (start.source ?? 0);
    let link = first ? start.link : undefined;
    let offset = first ? start.offset : 0;
    for await (const page of skippingMissingGroup(options.open(link, sources?.[source]), sources !== undefined)) {
      pagesRead += 1;
      const next = options.linkOf(page);
      for (let index = offset; index < page.length; index += 1) {
        const item = page[index] as T;
        if (!keep(item)) continue;
        items.push(map(item));
        if (items.length === top) {
          const after =
            index + 1 < page.length
              ? at(source, link, index + 1)
              : next
                ? at(source, next, 0)
                : source + 1 < sourceCount
                  ? at(source + 1, undefined, 0)
                  : undefined;
          return after ? { items, nextCursor: encodeCursor(after) } : { items };
        }
      }
      if (!next) break;
      link = next;
      offset = 0;
      if (pagesRead >= MAX_PAGES_PER_CALL) return { items, nextCursor: encodeCursor(at(source, link, 0)) };
    }
    if (pagesRead >= MAX_PAGES_PER_CALL && source + 1 < sourceCount) return { items, nextCursor: encodeCursor(at(source + 1, undefined, 0)) };
  }
  return { items };
}

/** With per-group sources, a configured group that does not exist lists as empty instead of failing the listing. */
async function* skippingMissingGroup<T>(pages: AsyncIterableIterator<T[]>, grouped: boolean): AsyncIterableIterator<T[]> {
  try {
    yield* pages;
  } catch (error) {
    if (!grouped || !(await isMissingResourceGroup(error))) throw error;
  }
}

/** The rule for nextLinks of a Resource Manager collection in a resource group, e.g. `providers/microsoft.storage/storageaccounts`. */
export function armCollectionRule(armEndpoint: string, subscriptionId: string, collection: string, fixedGroup?: string): LinkRule {
  return {
    origin: new URL(armEndpoint).origin,
    path: (group) => `/subscriptions/${subscriptionId}/resourcegroups/${fixedGroup ?? group ?? ''}/${collection}`,
  };
}

/** Continuation link of a page from the TypeSpec-generated SDKs (arm-storage, arm-compute, keyvault-keys). */
export function continuationOf(page: unknown): string | undefined {
  return (page as { continuationToken?: string }).continuationToken;
}

/** Adapts a listing whose pages are response objects (blob storage segments) to pages of items. */
export async function* segments<S, T>(
  responses: AsyncIterable<S>,
  itemsOf: (segment: S) => T[],
  markerOf: (segment: S) => string | undefined,
): AsyncIterableIterator<T[]> {
  for await (const segment of responses) {
    yield Object.assign([...itemsOf(segment)], { continuationToken: markerOf(segment) || undefined });
  }
}
