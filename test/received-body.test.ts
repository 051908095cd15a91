import { describe, expect, it } from '@jest/globals';
// Inside fast-check properties, node:assert: jest's expect() builds every matcher and an Error on each call, which
// over thousands of generated cases was a large share of these files' CPU.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BodyReceiver, PIECE_BYTES } from '../shared/http/received-body.js';
import fc from 'fast-check';
import { JsonShapeScanner, MAX_JSON_DEPTH, MAX_JSON_ENTRIES, jsonShape } from '../shared/text/json-limits.js';

/**
 * A body taken in piece by piece gives exactly what the whole body gave: the text the SDK would decode, the audit's
 * size and hash, and the JSON shape — however the network cut it (a character, a surrogate pair or an escape split
 * between pieces, a byte-order mark, bytes that are not UTF-8).
 */
const BODIES: [string, Buffer][] = [
  [
    'a byte-order mark and multi-byte characters',
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ a: '€😀'.repeat(70_000), b: [1, [2, [3]]] }))]),
  ],
  [
    'an escape at a piece boundary, then bytes that are not UTF-8',
    Buffer.concat([
      Buffer.from('{"x":"'),
      Buffer.alloc(PIECE_BYTES - 7, 0x61),
      Buffer.from('\\"],[[[{"a":1}'),
      Buffer.from([0xff, 0xf0, 0x9f]),
      Buffer.from('"}'),
    ]),
  ],
  ['deep nesting', Buffer.from('['.repeat(200_000) + ']'.repeat(200_000))],
  ['many entries', Buffer.from(`{${Array.from({ length: 6_000 }, (_, i) => `"k${i}":[${i},"a,b"]`).join(',')}}`)],
  ['nothing', Buffer.alloc(0)],
];

describe('a body received piece by piece', () => {
  for (const [what, bytes] of BODIES) {
    it(`gives the whole body's text, audit digest and JSON shape: ${what}`, async () => {
      const text = new TextDecoder().decode(bytes);
      for (const chunk of [7, PIECE_BYTES - 1, 3 * PIECE_BYTES + 5, Math.max(1, bytes.length)]) {
        const receiver = new BodyReceiver();
        for (let start = 0; start < bytes.length; start += chunk) await receiver.add(bytes.subarray(start, start + chunk));
        const body = receiver.finish();
        expect(body.text === text).toBe(true);
        expect(body.byteLength).toBe(bytes.length);
        expect(body.digest).toEqual({ bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') });
        expect(body.shape).toEqual(jsonShape(text));
        expect(body.pieces.every((piece) => piece.byteLength <= PIECE_BYTES)).toBe(true);
      }
    });
  }
});

/** The shape a character at a time: the scanner's definition, against which its quicker walk is checked. */
function shapeOneByOne(text: string): { depth: number; entries: number } {
  let [depth, deepest, entries, inString, escaped, awaitingFirst] = [0, 0, 0, false, false, false];
  for (const char of text.split('')) {
    if (inString) {
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (' \n\r\t'.includes(char)) continue;
    if (awaitingFirst && char !== ']' && char !== '}') entries += 1;
    awaitingFirst = false;
    if (char === '"') inString = true;
    else if (char === '[' || char === '{') {
      depth += 1;
      awaitingFirst = true;
      deepest = Math.max(deepest, depth);
    } else if (char === ']' || char === '}') depth -= 1;
    else if (char === ',') entries += 1;
    if (deepest > MAX_JSON_DEPTH || entries > MAX_JSON_ENTRIES) break;
  }
  return { depth: deepest, entries };
}

describe('the JSON shape of a body', () => {
  // JSON, and texts of JSON's structural characters, quotes, escapes, whitespace and runs of characters that change
  // nothing (around the run after which the scanner searches ahead, 16) in any order, cut anywhere.
  const run = fc.tuple(fc.constantFrom('a', ' ', 'é', '1', '\t', '😀'), fc.integer({ min: 14, max: 40 })).map(([char, count]) => char.repeat(count));
  const structural = fc.oneof(fc.constantFrom('"', '\\', '[', ']', '{', '}', ',', ':', ' ', '\n', 'a', '1', 'é', '😀', '\\"', '\\\\'), run);
  const texts = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }).map((value) => JSON.stringify(value)),
    fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value, null, 20)),
    fc.array(structural, { maxLength: 300 }).map((parts) => parts.join('')),
    fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.array(structural, { maxLength: 20 })).map(([value, noise]) => JSON.stringify(value) + noise.join('')),
  );

  it('is the same found in pieces as a character at a time, wherever the pieces are cut', () => {
    fc.assert(
      fc.property(texts, fc.array(fc.nat(), { maxLength: 6 }), (text, cuts) => {
        const scanner = new JsonShapeScanner();
        let from = 0;
        for (const at of [...cuts.map((cut) => cut % (text.length + 1))].sort((a, b) => a - b)) {
          scanner.feed(text.slice(from, at));
          from = at;
        }
        scanner.feed(text.slice(from));
        assert.deepEqual(scanner.shape, shapeOneByOne(text));
        assert.deepEqual(jsonShape(text), shapeOneByOne(text));
      }),
      { numRuns: 2_000, seed: 7_2026_12 },
    );
  });

  it('counts what is outside strings only, and stops counting past a limit', () => {
    // The outer object's two keys, the array's three items, the inner object's one key; nothing inside the strings.
    expect(jsonShape('{"a":"[[[,,,\\"]]]","b":[1,2,{"c":"\\\\"}]}')).toEqual({ depth: 3, entries: 6 });
    expect(jsonShape(`"${'x'.repeat(1_000_000)}"`)).toEqual({ depth: 0, entries: 0 });
    expect(jsonShape(`${'['.repeat(100)}`).depth).toBe(MAX_JSON_DEPTH + 1);
    expect(jsonShape(`[${'1,'.repeat(10_000)}1]`).entries).toBe(MAX_JSON_ENTRIES + 1);
  });
});
