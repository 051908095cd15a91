import { CREATED_KEY_POOL } from './seed.js';
import { SEED_PUBLIC_KEYS } from './seed-public-keys.js';

/** How many keys of each size this process has handed out. */
const handedOut = new Map<number, number>();

/**
 * The public half for a version the twin creates, of `bits`: the next key of that size from the committed pool (in
 * turn, so a key and the version that replaces it differ), or undefined when the pool holds none of that size.
 */
export function createdPublicKey(bits: number): { n: string; e: string } | undefined {
  const pool = CREATED_KEY_POOL.filter((key) => key.bits === bits).flatMap(({ version }) => SEED_PUBLIC_KEYS[version] ?? []);
  if (pool.length === 0) return undefined;
  const turn = handedOut.get(bits) ?? 0;
  handedOut.set(bits, turn + 1);
  return pool[turn % pool.length];
}
