// Bounded log of requests that reached the twin's service routes, for tests and dev scripts to inspect.
import type { Service } from './faults.js';

export interface LoggedRequest {
  at: string;
  service: Service;
  method: string;
  /** Path without the query string. */
  path: string;
  /** HTTP status sent; 0 when the request was reset or left hanging. */
  status: number;
  requestId: string;
}

const LIMIT = 5000;

export class RequestLog {
  private entries: LoggedRequest[] = [];

  add(entry: LoggedRequest): void {
    this.entries.push(entry);
    if (this.entries.length > LIMIT) this.entries.splice(0, this.entries.length - LIMIT);
  }

  list(): LoggedRequest[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries = [];
  }
}
