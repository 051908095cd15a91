import { createRequire } from 'node:module';
import type { TyposquatPolicy } from './config.js';
import type { Finding } from './finding.js';
import type { Lockfile } from './lockfile.js';

const POLICY = 'supply-chain/typosquat-policy.json';
/** npm caps names at 214 characters; anything longer is compared on its first 214 (and is itself suspicious). */
const MAX_NAME = 214;

/** Unicode confusables (UTS #39, as shipped by `unhomoglyph`) plus the ASCII look-alikes typosquats use. */
const confusables = createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>;
const ASCII_LOOKALIKES: Record<string, string> = { '0': 'o', '1': 'l', i: 'l', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g' };

/** What a name looks like to a reader: confusables folded, digits read as letters, `-` `_` `.` dropped, rn→m, vv→w. */
export function skeleton(name: string): string {
  let out = '';
  for (const char of name.slice(0, MAX_NAME).toLowerCase()) {
    if (char === '-' || char === '_' || char === '.') continue;
    const folded = (confusables[char] ?? char).toLowerCase();
    out += ASCII_LOOKALIKES[folded] ?? folded;
  }
  return out.split('rn').join('m').split('vv').join('w');
}

/** Optimal-string-alignment distance (edits and adjacent swaps), giving up once it must exceed `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (before[j - 2] ?? 0) + 1);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > limit) return limit + 1;
    before = previous;
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

interface Parts {
  scope: string;
  bare: string;
}

function split(name: string): Parts {
  const slash = name.indexOf('/');
  return name.startsWith('@') && slash > 0 ? { scope: name.slice(0, slash), bare: name.slice(slash + 1) } : { scope: '', bare: name };
}

/** How far apart two names may be and still read as a slip: short names collide by chance, so they only match on looks. */
function allowedEdits(length: number): number {
  if (length < 5) return 0;
  return length < 9 ? 1 : 2;
}

/**
 * Why `name` reads as an imitation of `reference` (same scope, or the same look overall), or undefined if it does not.
 * `skeletonOf` may remember skeletons: a lockfile's every name is compared with every other.
 */
export function lookalike(name: string, reference: string, skeletonOf: (name: string) => string = skeleton): string | undefined {
  if (name === reference) return undefined;
  if (skeletonOf(name) === skeletonOf(reference)) return 'looks the same once confusable characters and - _ . are ignored';
  const a = split(name);
  const b = split(reference);
  if (a.scope !== b.scope) return undefined;
  const limit = allowedEdits(Math.min(a.bare.length, b.bare.length));
  if (limit === 0) return undefined;
  const edits = editDistance(a.bare, b.bare, limit);
  return edits <= limit ? `is ${edits} edit${edits === 1 ? '' : 's'} away` : undefined;
}

/** Two scopes one slip apart (`@azure` / `@azur3` / `@azure-`): whoever owns one does not own the other. */
function scopesLookAlike(a: string, b: string): boolean {
  return a !== b && (skeleton(a) === skeleton(b) || editDistance(a, b, 1) <= 1);
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\n${b}` : `${b}\n${a}`;
}

/**
 * Every name in the lockfile against the reviewed direct dependencies, the well-known names attackers imitate and
 * every other name in the tree: a near-miss (edit distance 1–2, a look-alike scope, confusable characters, swapped
 * separators) fails unless the pair is a reviewed exception. Names npm itself would refuse (non-ASCII, upper case)
 * fail outright.
 */
export function checkTyposquats(lock: Lockfile, directNames: string[], policy: TyposquatPolicy): Finding[] {
  const findings: Finding[] = [];
  const exceptions = new Set(policy.exceptions.map(({ names: [a, b] }) => pairKey(a, b)));
  const seenExceptions = new Set<string>();
  const treeNames = [...new Set(lock.packages.flatMap((entry) => [entry.name, entry.registryName]))].sort();
  const references = [...new Set([...directNames, ...policy.wellKnown, ...treeNames])];
  const reported = new Set<string>();
  // Each name's skeleton once, not once per pair: recomputed, they were most of the gate's CPU on this repository's
  // lockfile (2.5 of 3.2 s).
  const skeletons = new Map<string, string>();
  const skeletonOf = (name: string): string => {
    let known = skeletons.get(name);
    if (known === undefined) skeletons.set(name, (known = skeleton(name)));
    return known;
  };
  // Name the newcomer, not the package it imitates: a reviewed or well-known name is never the suspect of a pair.
  const trusted = new Set([...directNames, ...policy.wellKnown].flatMap((name) => [name, split(name).scope].filter(Boolean)));
  const report = (first: string, second: string, why: string): void => {
    const [name, reference] = trusted.has(first) && !trusted.has(second) ? [second, first] : [first, second];
    const key = pairKey(name, reference);
    if (exceptions.has(key)) {
      seenExceptions.add(key);
      return;
    }
    if (reported.has(key)) return;
    reported.add(key);
    findings.push({
      check: 'typosquat',
      subject: name,
      message: `${why} from ${reference}. If both are genuine, add the pair with a reason to "exceptions" in ${POLICY} after checking each on the registry; otherwise remove ${name}.`,
    });
  };
  for (const name of treeNames) {
    if (name.length > MAX_NAME || !/^[a-z0-9@/._~-]+$/.test(name)) {
      findings.push({
        check: 'typosquat',
        subject: JSON.stringify(name),
        message:
          'is not a valid npm package name (non-ASCII, upper case or over-long): npm would not publish it, so it is a planted entry. Remove it and reinstall from the registry.',
      });
      continue;
    }
    for (const reference of references) {
      const why = lookalike(name, reference, skeletonOf);
      if (why) report(name, reference, why);
    }
  }
  // Scopes on their own: `@azur3/anything` imitates `@azure/*` even when no package of the same bare name exists.
  const treeScopes = [...new Set(treeNames.map((name) => split(name).scope).filter(Boolean))];
  const knownScopes = [...new Set(references.map((name) => split(name).scope).filter(Boolean))];
  for (const scope of treeScopes) {
    const holding = treeNames.filter((name) => split(name).scope === scope).join(', ');
    for (const known of knownScopes) {
      // Reported from the other side (naming the newcomer scope and what it holds) when that side is in the tree too.
      if (trusted.has(scope) && !trusted.has(known) && treeScopes.includes(known)) continue;
      if (scopesLookAlike(scope, known)) report(scope, known, `is a look-alike scope (holding ${holding}) one slip`);
    }
  }
  for (const {
    names: [a, b],
  } of policy.exceptions) {
    if (!seenExceptions.has(pairKey(a, b)))
      findings.push({
        check: 'typosquat',
        subject: `${a} / ${b}`,
        message: `is a reviewed exception in ${POLICY} that no longer occurs in the lockfile: remove it so the list stays small.`,
      });
  }
  return findings;
}
