import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { BodyReceiver, PIECE_BYTES } from '../shared/http/received-body.js';
import { jsonShape } from '../shared/text/json-limits.js';

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
