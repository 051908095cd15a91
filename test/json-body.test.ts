import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { BodyReceiver, PIECE_BYTES, type ReceivedBody } from '../shared/http/received-body.js';
import { OFF_THREAD_PARSE_BYTES, parseJsonBody } from '../shared/http/json-body.js';
import { nextTurn } from '../shared/runtime/next-turn.js';
import { groupedNumber } from '../shared/text/grouped-number.js';

/**
 * A large body is parsed on a worker thread, so the event loop stays free; what comes back must be exactly what
 * JSON.parse gives on the body's text, or a refusal exactly where JSON.parse refuses.
 */
async function received(bytes: Uint8Array): Promise<ReceivedBody> {
  const receiver = new BodyReceiver();
  for (let start = 0; start < bytes.length; start += PIECE_BYTES) await receiver.add(bytes.subarray(start, start + PIECE_BYTES));
  return receiver.finish();
}

/** `text` padded with whitespace past the size at which the worker parses it. */
function large(text: string): Buffer {
  return Buffer.from(text + ' '.repeat(OFF_THREAD_PARSE_BYTES));
}

describe('a JSON body parsed off the event loop', () => {
  it('gives what JSON.parse gives: __proto__ keys, lone surrogates, numbers, nesting, a byte-order mark', async () => {
    const values = [
      '{"__proto__":{"admin":true},"constructor":1}',
      '{"name":"\\ud800 lone \\udc00","emoji":"😀","nul":"\\u0000"}',
      '[1e308,-0,0.1,12345678901234567890,-1.5e-7]',
      '{"a":[[[{"b":null}]]],"c":false}',
    ];
    for (const text of values) {
      const parsed = await parseJsonBody(await received(large(text)));
      expect(parsed).toEqual({ ok: true, value: JSON.parse(text) });
      if (text.includes('__proto__')) {
        const value = (parsed as { value: object }).value;
        // An own key, as JSON.parse makes it: nothing reaches the prototype (the value comes from another realm
        // under the test runner, so its prototype is compared by shape).
        expect(Object.hasOwn(value, '__proto__')).toBe(true);
        expect((value as { admin?: unknown }).admin).toBeUndefined();
        expect(Object.getPrototypeOf(Object.getPrototypeOf(value))).toBeNull();
      }
    }
    const withMark = await parseJsonBody(await received(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), large('{"a":1}')])));
    expect(withMark).toEqual({ ok: true, value: { a: 1 } });
  });

  it('refuses where JSON.parse refuses, large or small', async () => {
    for (const text of ['{"a":', 'not JSON', '{"a":1} trailing', '"unterminated']) {
      expect(await parseJsonBody(await received(large(text)))).toEqual({ ok: false });
      expect(await parseJsonBody(await received(Buffer.from(text)))).toEqual({ ok: false });
    }
  });

  it('agrees with JSON.parse on generated JSON values, small and large', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.boolean(), async (value, pad) => {
        const text = JSON.stringify(value);
        const bytes = pad ? large(text) : Buffer.from(text);
        expect(await parseJsonBody(await received(bytes))).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 60, seed: 2026_12_05 },
    );
  });

  it('answers many large bodies at once, each with its own value', async () => {
    const bodies = await Promise.all(Array.from({ length: 6 }, async (_, i) => received(large(JSON.stringify({ i, pad: 'x'.repeat(i * 1000) })))));
    const parsed = await Promise.all(bodies.map((body) => parseJsonBody(body)));
    parsed.forEach((result, i) => expect(result).toEqual({ ok: true, value: { i, pad: 'x'.repeat(i * 1000) } }));
  });
});

describe('a turn of the event loop between steps of a large body', () => {
  it('lets I/O that is ready run first, even when taken from inside an I/O callback', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const accepted: Socket[] = [];
    server.on('connection', (socket) => accepted.push(socket));
    const first = connect(port, '127.0.0.1');
    const second = connect(port, '127.0.0.1');
    try {
      await Promise.all([once(first, 'connect'), once(second, 'connect')]);
      while (accepted.length < 2) await once(server, 'connection');
      const peerOf = (socket: Socket) => accepted.find((peer) => peer.remotePort === socket.localPort)!;
      const order: string[] = [];
      second.on('data', () => order.push('ready I/O'));
      const turned = new Promise<void>((resolve) => {
        first.once('data', () => {
          // Inside an I/O callback: bytes for the other connection are sent now, and are waiting to be read by the
          // time the turn is taken.
          peerOf(second).write('b');
          const until = Date.now() + 50;
          while (Date.now() < until) {
            // let them arrive (bounded: 50 ms)
          }
          void nextTurn().then(() => {
            order.push('after the turn');
            resolve();
          });
        });
      });
      peerOf(first).write('a');
      await turned;
      expect(order).toEqual(['ready I/O', 'after the turn']);
    } finally {
      first.destroy();
      second.destroy();
      for (const socket of accepted) socket.destroy();
      server.close();
    }
  });
});

describe('counts in messages', () => {
  it('are grouped in threes as en-GB writes them', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), (count) => {
        expect(groupedNumber(count)).toBe(count.toLocaleString('en-GB'));
      }),
      { numRuns: 300, seed: 2026_12_05 },
    );
  });
});
