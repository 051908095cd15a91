import { beforeAll, describe, expect, it } from '@jest/globals';
import { checkKql, kqlFilesUnder, savedFunctions, workspace } from './kql-check.js';
import { WORKSPACE_TABLES } from './kql-schema.js';

/** Every KQL query in the repo (saved queries and alert rules) binds cleanly to the declared workspace schema. */
const files = kqlFilesUnder('infra/kql');
const functions = savedFunctions(files);
let globals: unknown;

beforeAll(() => {
  globals = workspace(functions);
}, 60_000);

const errorsIn = (query: string) => checkKql(query, globals).filter((d) => d.severity === 'Error');

describe('KQL in infra/kql', () => {
  it('has the saved audit function and the alert rules to check', () => {
    expect(Object.keys(functions)).toEqual(['SovereignMcpAudit']);
    expect(Object.keys(files).filter((path) => path.includes('/alerts/')).length).toBeGreaterThanOrEqual(5);
  });

  it.each(Object.keys(files))('%s has no errors against the workspace schema', (path) => {
    expect(errorsIn(files[path]!)).toEqual([]);
  });

  it('finds a misspelt audit column, an unknown table and a syntax error (the check can fail)', () => {
    const alert = files['infra/kql/alerts/denial-burst.kql']!;
    expect(errorsIn(alert.replace('callerOid', 'callerOld')).map((d) => d.code)).toContain('KS142');
    expect(errorsIn('AzureActivityLog | take 1').map((d) => d.code)).toContain('KS204');
    expect(errorsIn(`${alert}\n| summarize by`).length).toBeGreaterThan(0);
  });

  it('finds a column the audit function projects under another name (a renamed field breaks the queries)', () => {
    const renamed = workspace({ SovereignMcpAudit: functions.SovereignMcpAudit!.replace('callerOid = tostring(a.callerOid)', 'caller = tostring(a.callerOid)') });
    const broken = Object.entries(files).filter(([, text]) => checkKql(text, renamed).some((d) => d.severity === 'Error'));
    expect(broken.map(([path]) => path)).toEqual(expect.arrayContaining(['infra/kql/alerts/denial-burst.kql', 'infra/kql/alerts/injection-then-change.kql']));
  });

  it('declares the tables the queries read', () => {
    expect(Object.keys(WORKSPACE_TABLES).sort()).toEqual(['AppDependencies', 'AppEvents', 'AppRequests', 'AzureActivity']);
  });
});
