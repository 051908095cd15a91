import { afterEach, describe, expect, it } from '@jest/globals';
import { consoleLogger } from '../shared/log.js';

/** What the app's operational log prints for an error: enough to act on, never a stack trace. */
const printed: string[] = [];
const original = console.error;

afterEach(() => {
  console.error = original;
  printed.length = 0;
});

function capture(): void {
  console.error = (line: string) => printed.push(line);
}

describe('the operational log', () => {
  it('logs an error by its name, message and code, with no stack trace', () => {
    capture();
    const error = Object.assign(new TypeError('the store did not answer'), { code: 'ECONNRESET' });
    consoleLogger.error('Audit store is not accepting records', error, { queued: 3 });
    expect(printed).toHaveLength(1);
    const line = JSON.parse(printed[0]!) as Record<string, unknown>;
    expect(line).toEqual({
      level: 'error',
      message: 'Audit store is not accepting records',
      queued: 3,
      error: { name: 'TypeError', message: 'the store did not answer', code: 'ECONNRESET' },
    });
    expect(printed[0]).not.toContain('    at ');
    expect(printed[0]).not.toContain('log.test');
  });

  it('logs a thrown value that is not an Error as text (an object only by its kind), and no error field when there is none', () => {
    capture();
    consoleLogger.error('odd failure', 'just a string');
    consoleLogger.error('odder failure', { password: 'hunter2' });
    consoleLogger.error('no error given');
    expect(printed.map((line) => JSON.parse(line) as unknown)).toEqual([
      { level: 'error', message: 'odd failure', error: 'just a string' },
      { level: 'error', message: 'odder failure', error: 'a thrown [object Object]' },
      { level: 'error', message: 'no error given' },
    ]);
  });
});
