import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where the time goes in a V8 CPU profile (`node --cpu-prof`, or the inspector's Profiler): self time by function
 * and by module (package or project file), and total (inclusive) time by function. Runnable alone:
 * `node dist/bench/profile.js FILE.cpuprofile [TOP]`.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of sampled time, per function (self), highest first. */
  selfByFunction: { fn: string; ms: number; pct: number }[];
  /** Share of sampled time, per module (self time of everything in it), highest first. */
  selfByModule: { module: string; ms: number; pct: number }[];
  /** Inclusive time per function (counted once per sample however deep the recursion), highest first. */
  totalByFunction: { fn: string; ms: number; pct: number }[];
  /** Self time grouped into the pipeline's parts (see COMPONENTS), highest first. */
  byComponent: { component: string; ms: number; pct: number }[];
}

/**
 * Modules grouped into the parts of a request's life, in order of precedence (first match wins). Builtins
 * (JSON.stringify, RegExp, ...) count for the module that called them.
 */
const COMPONENTS: [string, RegExp][] = [
  ['token check (jose, WebCrypto RSA)', /^(jose|node:internal\/crypto\/(webcrypto|rsa|keys|util|sig))$|^dist\/shared\/auth\//],
  [
    'audit & telemetry (redaction, chain, log line, App Insights, blob append)',
    /^dist\/shared\/(audit|pipeline\/audit)|^@opentelemetry\/|^@azure\/monitor-opentelemetry-exporter$|^@azure\/storage-blob$|^canonicalize$/,
  ],
  ['MCP SDK (server, protocol, SSE)', /^@modelcontextprotocol\//],
  ['zod (schemas)', /^zod$/],
  ['policy (Cedar WASM, rate limit)', /^@cedar-policy\/|^rate-limiter-flexible$|^dist\/shared\/policy\//],
  ['shield', /^dist\/shared\/shield\//],
  [
    'Azure SDK core & outbound HTTPS',
    /^@azure\/(core-|arm-|identity|keyvault|data-tables|abort-controller|logger)|^@typespec\/|^node:(_http_|https|net|tls|_tls_|internal\/(tls|net|http|stream_base_commons))/,
  ],
  [
    'web Request/Response & streams (undici, @azure/functions)',
    /^node:internal\/(deps\/undici|webstreams|worker\/js_transferable)|^@azure\/functions$|^undici$/,
  ],
  ['other app code', /^dist\//],
  ['GC', /^\(garbage collector\)$/],
  ['idle (waiting on I/O or the thread pool)', /^\(idle\)$/],
];
const componentOf = (module: string) => COMPONENTS.find(([, pattern]) => pattern.test(module))?.[0] ?? 'other (Node internals, program)';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (inModules) {
    // The last package in the path (nested node_modules) is the one the code belongs to.
    const all = [...path.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
    return (all.at(-1)?.[1] ?? inModules[1]) as string;
  }
  return path.startsWith(ROOT) ? relative(ROOT, path) : path;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = moduleOf(url, functionName);
  if (!url) return functionName || '(anonymous)';
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const components = new Map<string, number>();
  /** The module a sample's self time counts for: its own, or for a builtin the nearest caller's that has one. */
  const owningModule = (id: number): string => {
    const node = byId.get(id) as ProfileNode;
    const { url, functionName } = node.callFrame;
    if (url || functionName.startsWith('(')) return moduleOf(url, functionName);
    for (let current = parent.get(id); current !== undefined; current = parent.get(current)) {
      const frame = byId.get(current) as ProfileNode;
      if (frame.callFrame.url) return moduleOf(frame.callFrame.url, frame.callFrame.functionName);
    }
    return '(native)';
  };
  const total = new Map<string, number>();
  let sum = 0;
  profile.samples.forEach((id, index) => {
    const micros = profile.timeDeltas[index + 1] ?? 0; // a sample's time is the gap to the next one
    const node = byId.get(id);
    if (!node) return;
    sum += micros;
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + micros);
    const mod = owningModule(id);
    modules.set(mod, (modules.get(mod) ?? 0) + micros);
    const component = componentOf(mod);
    components.set(component, (components.get(component) ?? 0) + micros);
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const frame = byId.get(current) as ProfileNode;
      if (frame.callFrame.functionName === '(root)') break;
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + micros);
    }
  });
  const ranked = <K extends string>(map: Map<string, number>, keyName: K) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([key, micros]) =>
          ({ [keyName]: key, ms: Math.round(micros / 100) / 10, pct: Math.round((micros / sum) * 1000) / 10 }) as { [P in K]: string } & {
            ms: number;
            pct: number;
          },
      );
  return {
    file,
    totalMs: Math.round(sum / 1000),
    selfByFunction: ranked(self, 'fn'),
    selfByModule: ranked(modules, 'module'),
    totalByFunction: ranked(total, 'fn'),
    byComponent: ranked(components, 'component'),
  };
}

export function printProfile(summary: ProfileSummary, title: string): void {
  console.log(`\n${title} — ${summary.file} (${summary.totalMs} ms sampled)`);
  console.log('  self time by part of the request (builtins count for their caller):');
  for (const row of summary.byComponent) console.log(`    ${String(row.pct).padStart(5)} %  ${row.component}`);
  console.log('  self time by module:');
  for (const row of summary.selfByModule) console.log(`    ${String(row.pct).padStart(5)} %  ${row.module}`);
  console.log('  self time by function:');
  for (const row of summary.selfByFunction) console.log(`    ${String(row.pct).padStart(5)} %  ${row.fn}`);
  console.log('  total (inclusive) time by function:');
  for (const row of summary.totalByFunction) console.log(`    ${String(row.pct).padStart(5)} %  ${row.fn}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/bench/profile.js FILE.cpuprofile [TOP]');
    process.exit(2);
  }
  printProfile(summarizeProfile(file, Number(top ?? 20)), 'CPU profile');
}
