import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The request's audit record is written through one typed writer (shared/audit/audit-writer.ts): the app's code
 * outside shared/audit never takes the draft itself, so what a record can hold, and who may fill in the caller, is
 * decided in one place. A file that reaches for the draft directly fails here, naming the file.
 */
const SOURCES = ['shared', 'functions'];
/** Reads of the draft that write nothing: the request's correlation id. */
const READ_ONLY = new Map([['shared/http/edge.ts', /currentAudit\(\)\?\.correlationId/g]]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the audit record has one writer', () => {
  it('is never taken from the request scope outside shared/audit', () => {
    const offenders = SOURCES.flatMap(sourceFiles)
      .filter((file) => !file.startsWith('shared/audit/'))
      .filter((file) => {
        const text = readFileSync(file, 'utf8').replace(READ_ONLY.get(file) ?? /$^/g, '');
        return /\bcurrentAudit\(|\bwithAudit\(/.test(text) && !file.endsWith('shared/http/audited.ts');
      });
    expect(offenders).toEqual([]);
  });
});
