import { createHash } from 'node:crypto';
import { JsonShapeScanner, type JsonShape } from '../text/json-limits.js';
import type { BodyDigest } from '../audit/body.js';
import { nextTurn } from '../runtime/next-turn.js';

/**
 * A request body taken in piece by piece: decoded, hashed for the audit and measured for the JSON limits as it
 * arrives, in pieces of at most PIECE_BYTES with a turn of the event loop between them. Done on the whole body at
 * once, each of these steps holds the event loop for tens of milliseconds on a body near the cap (hundreds on a
 * loaded machine), and every other request — /health included — waits behind it.
 */
export interface ReceivedBody {
  /** The body's bytes as they came, in pieces of at most PIECE_BYTES (not joined: nothing needs one copy). */
  pieces: Uint8Array[];
  byteLength: number;
  /** The body decoded as UTF-8, a byte-order mark dropped (as the MCP SDK and TextDecoder see it). */
  text: string;
  /** The UTF-8 size and SHA-256 of `text`, as the audit records a body (see `auditedBody`). */
  digest: BodyDigest;
  /** Nesting and entries of `text` as JSON, for the limits checked before anything parses it. */
  shape: JsonShape;
}

/** Small enough that one piece's work is a millisecond or two, large enough that the turns between cost nothing. */
export const PIECE_BYTES = 64 * 1024;

/** Receives the pieces of a body, already checked against the size cap by the caller. */
export class BodyReceiver {
  private readonly pieces: Uint8Array[] = [];
  private byteLength = 0;
  private text = '';
  private textBytes = 0;
  private readonly decoder = new TextDecoder();
  private readonly hash = createHash('sha256');
  private readonly scanner = new JsonShapeScanner();

  async add(chunk: Uint8Array): Promise<void> {
    for (let start = 0; start < chunk.byteLength; start += PIECE_BYTES) {
      // A turn between pieces, none before the first: a body of one piece (nearly every call) never waits.
      if (this.byteLength > 0) await nextTurn();
      const piece = chunk.subarray(start, Math.min(chunk.byteLength, start + PIECE_BYTES));
      this.pieces.push(piece);
      this.byteLength += piece.byteLength;
      // Streamed decoding keeps a character split between pieces whole, so no piece ends inside a surrogate pair:
      // hashing and measuring the decoded pieces one by one gives exactly the figures of the whole text.
      this.take(this.decoder.decode(piece, { stream: true }));
    }
  }

  finish(): ReceivedBody {
    this.take(this.decoder.decode());
    return {
      pieces: this.pieces,
      byteLength: this.byteLength,
      text: this.text,
      digest: { bytes: this.textBytes, sha256: this.hash.digest('hex') },
      shape: this.scanner.shape,
    };
  }

  private take(decoded: string): void {
    this.text += decoded;
    this.textBytes += Buffer.byteLength(decoded);
    this.hash.update(decoded);
    this.scanner.feed(decoded);
  }
}

/**
 * The body again as a stream, one piece per turn of the event loop, for a reader that must decode it itself (the
 * MCP SDK, when the body is not JSON and it answers the parse error).
 */
export function streamOf(pieces: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next > 0) await nextTurn();
      const piece = pieces[next];
      next += 1;
      if (piece) controller.enqueue(piece);
      else controller.close();
    },
  });
}
