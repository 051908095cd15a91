/**
 * Azure resource ids as the policy compares them: lower case (Azure compares ids case-insensitively), without
 * empty or trailing segments, and cut into the levels of Azure's hierarchy — subscription → resource group →
 * resource → child resource (→ its children) — so a protected level covers everything beneath it.
 */
export type ResourceIdKind = 'subscription' | 'resource group' | 'resource' | 'child resource';

export interface ResourceId {
  /** The normalised id. */
  id: string;
  kind: ResourceIdKind;
  /** The normalised id of each level, outermost (the subscription) first; the last is `id` itself. */
  levels: string[];
}

/** Longer than any id Azure issues (names are at most a few hundred characters). */
const MAX_ID_LENGTH = 2048;
// linear: anchored at the start, single character classes with one quantifier each: one pass.
const SUBSCRIPTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SEGMENT = /^[-\w.()]+$/;

/** Types that are data inside a resource, not resources Resource Manager knows: never a level of an id. */
const DATA_PLANE_TYPES = new Set(['blobs']);

/** Why an id cannot be used, or the id cut into its levels. */
export function parseResourceId(raw: string): ResourceId | { problem: string } {
  if (raw.length > MAX_ID_LENGTH) return { problem: `is longer than ${MAX_ID_LENGTH} characters` };
  const segments = raw
    .toLowerCase()
    .split('/')
    .filter((segment) => segment !== '');
  if (!raw.startsWith('/')) return { problem: 'must start with /subscriptions/' };
  const bad = segments.find((segment) => segment === '.' || segment === '..' || !SEGMENT.test(segment));
  if (bad !== undefined)
    return { problem: `has a segment '${bad.slice(0, 40)}' that is not an Azure name (letters, digits, - _ . ( ) only; no . or .. segments)` };
  const [subscriptions, subscription, groups, group, providers, namespace, ...pairs] = segments;
  if (subscriptions !== 'subscriptions' || subscription === undefined) return { problem: 'must start with /subscriptions/<subscription id>' };
  if (!SUBSCRIPTION_ID.test(subscription)) return { problem: `names subscription '${subscription.slice(0, 40)}', which is not a subscription id (a GUID)` };
  const levels = [`/subscriptions/${subscription}`];
  if (groups === undefined) return { id: levels[0]!, kind: 'subscription', levels };
  if (groups !== 'resourcegroups' || group === undefined) return { problem: 'must continue /resourceGroups/<name> after the subscription' };
  levels.push(`${levels[0]}/resourcegroups/${group}`);
  if (providers === undefined) return { id: levels[1]!, kind: 'resource group', levels };
  if (providers !== 'providers' || namespace === undefined || pairs.length === 0 || pairs.length % 2 !== 0) {
    return { problem: 'must continue /providers/<namespace>/<type>/<name>[/<child type>/<child name>…] after the resource group' };
  }
  let current = `${levels[1]}/providers/${namespace}`;
  for (let index = 0; index < pairs.length; index += 2) {
    const type = pairs[index]!;
    if (DATA_PLANE_TYPES.has(type))
      return { problem: `names ${type}, which are data inside a resource, not Azure resources; protect the container (or tag the account) instead` };
    current = `${current}/${type}/${pairs[index + 1]!}`;
    levels.push(current);
  }
  return { id: current, kind: pairs.length === 2 ? 'resource' : 'child resource', levels };
}

/** Whether `inner` lies strictly beneath `outer` (both normalised). */
export function isBeneath(inner: string, outer: string): boolean {
  return inner.length > outer.length && inner.startsWith(outer) && inner[outer.length] === '/';
}
