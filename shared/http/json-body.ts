import { Worker } from 'node:worker_threads';
import type { ReceivedBody } from './received-body.js';

/**
 * A body at least this large is parsed on a worker thread. JSON.parse cannot be cut into pieces, and on a body near
 * the 4 MiB cap it holds the event loop for 15-25 ms here (more on a loaded machine), with every other request —
 * /health included — waiting behind it. Below this size parsing takes a millisecond or less here, too little to be
 * worth the trip to the worker and back.
 */
export const OFF_THREAD_PARSE_BYTES = 256 * 1024;

export type ParsedBody = { ok: true; value: unknown } | { ok: false };

/** The worker: decodes the bytes as UTF-8 (byte-order mark dropped, as the body's text was) and parses them. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const decoder = new TextDecoder();
parentPort.on('message', ({ id, bytes }) => {
  let reply;
  try {
    reply = { id, ok: true, value: JSON.parse(decoder.decode(bytes)) };
  } catch {
    reply = { id, ok: false };
  }
  parentPort.postMessage(reply);
});
`;

/**
 * The body parsed as JSON, or `ok: false` when it is not JSON. Only bodies within the JSON shape limits come here
 * (checked as they arrived), so the parsed value handed back from the worker is small in entries and cheap to copy
 * across. If the worker cannot be used, the body is parsed here: the answer is the same, only slower to share.
 */
export async function parseJsonBody(body: ReceivedBody): Promise<ParsedBody> {
  if (body.byteLength < OFF_THREAD_PARSE_BYTES) return parseHere(body.text);
  try {
    return await offThread.parse(joined(body.pieces, body.byteLength));
  } catch {
    return parseHere(body.text);
  }
}

function parseHere(text: string): ParsedBody {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The pieces in one buffer of their own, handed to the worker without a copy. */
function joined(pieces: readonly Uint8Array[], byteLength: number): Uint8Array {
  const bytes = new Uint8Array(byteLength);
  let at = 0;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.byteLength;
  }
  return bytes;
}

/** One worker for the process, started with the first large body; idle, it does not keep the process alive. */
class ParseWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (parsed: ParsedBody) => void; reject: (error: Error) => void }>();

  parse(bytes: Uint8Array): Promise<ParsedBody> {
    const worker = this.started();
    const id = (this.nextId += 1);
    // Held open while it has work, so an answer is never lost to a process that would otherwise end.
    if (this.waiting.size === 0) worker.ref();
    return new Promise<ParsedBody>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, bytes }, [bytes.buffer as ArrayBuffer]);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', ({ id, ok, value }: { id: number; ok: boolean; value?: unknown }) => {
      const waiter = this.waiting.get(id);
      this.waiting.delete(id);
      if (this.waiting.size === 0) worker.unref();
      waiter?.resolve(ok ? { ok: true, value } : { ok: false });
    });
    // A worker that fails (out of memory, killed) fails what it held; the next large body starts a new one.
    const fail = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`The JSON parse worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

const offThread = new ParseWorker();
