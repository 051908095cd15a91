import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { compileFunction, runInThisContext } from 'node:vm';
import { WORKSPACE_TABLES } from './kql-schema.js';

/**
 * Checks KQL offline with the official Kusto language service (@kusto/language-service-next): parse and bind each
 * query against the declared workspace tables and the saved function the queries start from, so a misspelt column,
 * a table that does not exist or a syntax error is an error here rather than a rule that never fires in Azure.
 */

/** The parts of the language service's (Bridge.NET) API used here. */
interface KustoApi {
  Language: {
    KustoCode: { ParseAndAnalyze(text: string, globals: unknown): { GetDiagnostics(): unknown } };
    GlobalState: { Default: { WithDatabase(database: unknown): unknown } };
    Symbols: {
      TableSymbol: { $ctor7: new (name: string, schema: string, description: string | null) => unknown };
      FunctionSymbol: { $ctor16: new (name: string, parameters: string, body: string, description: string | null) => unknown };
      DatabaseSymbol: { $ctor1: new (name: string, members: unknown, isOpen: boolean) => unknown };
    };
  };
}
interface BridgeApi {
  toArray<T>(list: unknown): T[];
  toList<T>(items: T[]): unknown;
}
export interface KqlDiagnostic {
  severity: string;
  code: string;
  message: string;
  /** Offset in the query text. */
  start: number;
}

let loaded: { kusto: KustoApi; bridge: BridgeApi } | undefined;

/**
 * The language service is a Bridge.NET bundle that defines globals when loaded. It is run in the process's own
 * context, as Node's loader would run it: loaded through jest's module registry, into the test's sandboxed context,
 * its loading took 4.2 s of CPU in a profile of the suite, against 0.3 s for Node's own `require` of the same files.
 * There it adds three globals (Bridge, System, Kusto) and one property of `Object` ($$inheritors), and changes no
 * built-in prototype (compared before and after loading).
 */
function kustoLanguage(): { kusto: KustoApi; bridge: BridgeApi } {
  if (!loaded) {
    const resolve = createRequire(import.meta.url).resolve;
    for (const file of ['@kusto/language-service-next/bridge.js', '@kusto/language-service-next/Kusto.Language.Bridge.js']) {
      const path = resolve(file);
      const module = { exports: {} };
      // Its only require at run time is of fs (for files it is never asked to read here).
      const require = (name: string): unknown => {
        if (name === 'fs') return fs;
        throw new Error(`${file} asked for ${name}, which the KQL check does not provide`);
      };
      compileFunction(fs.readFileSync(path, 'utf8'), ['module', 'exports', 'require'], { filename: path })(module, module.exports, require);
    }
    const globals = runInThisContext('globalThis') as { Kusto: KustoApi; Bridge: BridgeApi };
    loaded = { kusto: globals.Kusto, bridge: globals.Bridge };
  }
  return loaded;
}

/** The body of a saved query without its comment lines, as a function body. */
function functionBody(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('//'))
    .join('\n')
    .trim();
}

/** A workspace with the declared tables and the given saved functions (name → query text). */
export function workspace(functions: Record<string, string> = {}, tables: Record<string, string> = WORKSPACE_TABLES): unknown {
  const { kusto, bridge } = kustoLanguage();
  const symbols = kusto.Language.Symbols;
  const members = [
    ...Object.entries(tables).map(([name, schema]) => new symbols.TableSymbol.$ctor7(name, schema, null)),
    ...Object.entries(functions).map(([name, text]) => new symbols.FunctionSymbol.$ctor16(name, '()', `{ ${functionBody(text)} }`, null)),
  ];
  return kusto.Language.GlobalState.Default.WithDatabase(new symbols.DatabaseSymbol.$ctor1('workspace', bridge.toList(members), false));
}

/** Errors (and warnings) the language service finds in a query bound to the workspace. */
export function checkKql(query: string, globals: unknown): KqlDiagnostic[] {
  const { kusto, bridge } = kustoLanguage();
  const code = kusto.Language.KustoCode.ParseAndAnalyze(query, globals);
  return bridge
    .toArray<{ Severity: string; Code: string; Message: string; Start: number }>(code.GetDiagnostics())
    .map((d) => ({ severity: d.Severity, code: d.Code, message: d.Message, start: d.Start }));
}

/** Every .kql file under a folder (recursively), by path. */
export function kqlFilesUnder(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) Object.assign(files, kqlFilesUnder(path));
    else if (entry.name.endsWith('.kql')) files[path] = fs.readFileSync(path, 'utf8');
  }
  return files;
}

/** The saved functions the queries use: a saved search whose header says "as the function X". */
export function savedFunctions(files: Record<string, string>): Record<string, string> {
  const functions: Record<string, string> = {};
  for (const text of Object.values(files)) {
    const header = text.split('\n').filter((line) => line.startsWith('//')).join('\n');
    const alias = /\bas\s+(?:a|the)\s+function\s+(?:named\s+)?([A-Z][A-Za-z0-9_]*)/.exec(header)?.[1];
    if (alias) functions[alias] = text;
  }
  return functions;
}
