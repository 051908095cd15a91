// Long-running operations: each finishes LRO_MS after it starts, either by timer or when polled, whichever
// comes first (as Azure finishes them server-side whether or not anyone polls).

/** Shorter than the 1 s Retry-After we send, so the SDK's first poll normally sees the result. */
const LRO_MS = 800;

interface Operation {
  doneAt: number;
  finished: boolean;
  finish: () => void;
  /** Body of the final 200 on the operation-results URL (undefined → empty body). */
  result: () => unknown;
  timer: NodeJS.Timeout | undefined;
}

export class Operations {
  private ops = new Map<string, Operation>();

  start(id: string, finish: () => void, result: () => unknown = () => undefined): void {
    const op: Operation = { doneAt: Date.now() + LRO_MS, finished: false, finish, result, timer: undefined };
    op.timer = setTimeout(() => this.complete(op), LRO_MS);
    op.timer.unref();
    this.ops.set(id, op);
  }

  /** 'running' while in flight, the final body once done, undefined for an unknown id. */
  poll(id: string): { running: true } | { running: false; body: unknown } | undefined {
    const op = this.ops.get(id);
    if (!op) return undefined;
    if (!op.finished && Date.now() < op.doneAt) return { running: true };
    this.complete(op);
    return { running: false, body: op.result() };
  }

  close(): void {
    for (const op of this.ops.values()) clearTimeout(op.timer);
    this.ops.clear();
  }

  private complete(op: Operation): void {
    if (op.finished) return;
    op.finished = true;
    clearTimeout(op.timer);
    op.finish();
  }
}
