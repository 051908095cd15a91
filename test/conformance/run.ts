import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { trustSandboxOrRelaunch } from '../../dev/sandbox/relaunch.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance) against the app on the local host:
 *
 *   node dist/test/conformance/run.js [--node /path/to/node22] [--scenario NAME ...] [--direct]
 *
 * Starts the test stack (sandbox twin + Azurite in this process, the app in its own process, ephemeral ports),
 * runs each server scenario with the suite's CLI, stops what it started, and exits non-zero if any check fails.
 * The suite needs Node >= 22 (it uses fs.globSync): run this with Node 22, or pass --node / CONFORMANCE_NODE.
 *
 * The suite's client cannot send an Authorization header (its CLI has no header option, and its MCP client is
 * built without request options). Our server refuses every unauthenticated request — by design — so the suite
 * talks to a loopback gateway in front of the app that adds a bearer token (Mcp.Reader) to requests that carry
 * none, as API Management or App Service Authentication would in Azure. The gateway passes everything else
 * through untouched — method, path, Host and Origin headers (so DNS-rebinding protection is the app's own, on
 * the Host the client sent), body, status, response headers and SSE streams. `--direct` points the suite at the
 * app itself, without the gateway: every scenario then fails with 401, which is the point of the gateway.
 */
const DEFAULT_SCENARIOS = ['server-initialize', 'tools-list', 'ping', 'dns-rebinding-protection'];
const SCENARIO_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  options: {
    node: { type: 'string' },
    scenario: { type: 'string', multiple: true },
    direct: { type: 'boolean', default: false },
  },
});
const scenarios = values.scenario?.length ? values.scenario : DEFAULT_SCENARIOS;
const node = values.node ?? process.env.CONFORMANCE_NODE ?? process.execPath;

const require = createRequire(import.meta.url);
const SUITE = join(dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist', 'index.js');

function nodeMajor(path: string): number {
  const run = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`Cannot run ${path}: ${run.stderr || run.error?.message}`);
  return Number(run.stdout.trim().split('.')[0]);
}

/** A transparent loopback gateway that adds `Authorization: Bearer <token>` when the request has none. */
function startGateway(target: URL, token: string): Promise<{ server: Server; url: string }> {
  let ownAuthority = '';
  const server = createServer((req, res) => {
    const headers: IncomingHttpHeaders = { ...req.headers };
    if (!headers.authorization) headers.authorization = `Bearer ${token}`;
    // Like API Management, the gateway names the app's own authority to it; any other Host passes unchanged (so
    // the suite's foreign-Host requests still reach the app as foreign).
    if (headers.host === ownAuthority) headers.host = target.host;
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`gateway: ${error.message}`);
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      ownAuthority = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      resolve({ server, url: `http://${ownAuthority}` });
    }),
  );
}

interface Check {
  id: string;
  name: string;
  /** SUCCESS, FAILURE, WARNING, INFO, or whatever a later suite adds. */
  status: string;
  errorMessage?: string;
}

/** Runs one scenario with the suite's CLI; resolves with its exit code and the checks it saved. */
function runScenario(scenario: string, mcpUrl: string, outputDir: string): Promise<{ code: number; checks: Check[] }> {
  return new Promise((resolve) => {
    const child = spawn(node, [SUITE, 'server', '--url', mcpUrl, '--scenario', scenario, '--output-dir', outputDir], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const timer = setTimeout(() => {
      console.error(`conformance: ${scenario} did not finish within ${SCENARIO_TIMEOUT_MS / 1000} s; stopping it`);
      child.kill('SIGKILL');
    }, SCENARIO_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 1 : 0), checks: savedChecks(outputDir, scenario) });
    });
  });
}

/** The suite saves `<output-dir>/server-<scenario>-<timestamp>/checks.json`; the newest one for the scenario. */
function savedChecks(outputDir: string, scenario: string): Check[] {
  const dirs = readdirSync(outputDir)
    .filter((name) => name.startsWith(`server-${scenario}-`) || name.startsWith(`${scenario}-`))
    .map((name) => join(outputDir, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const dir of dirs) {
    try {
      return JSON.parse(readFileSync(join(dir, 'checks.json'), 'utf8')) as Check[];
    } catch {
      // not written (the scenario crashed): try the next
    }
  }
  return [];
}

if (await trustSandboxOrRelaunch('.sandbox/tls')) {
  let stack: TestStack | undefined;
  let gateway: Server | undefined;
  const outputDir = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  const cleanUp = async () => {
    gateway?.closeAllConnections();
    gateway?.close();
    await stack?.stop();
    rmSync(outputDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanUp().finally(() => process.exit(1)));
  }

  let failed = 0;
  try {
    const major = nodeMajor(node);
    if (major < 22) {
      throw new Error(`the conformance suite needs Node >= 22 (it uses fs.globSync); ${node} is Node ${major}. Pass --node or CONFORMANCE_NODE.`);
    }
    stack = await startTestStack();
    const token = await stack.token({ roles: ['Mcp.Reader'] });
    let mcpUrl = stack.mcpUrl;
    if (!values.direct) {
      const started = await startGateway(new URL(stack.baseUrl), token);
      gateway = started.server;
      mcpUrl = `${started.url}/mcp`;
    }
    console.log(
      `conformance: ${SUITE} on Node ${major}, against ${values.direct ? `${mcpUrl} directly (no token)` : `${mcpUrl} (gateway adding a Mcp.Reader bearer token) → ${stack.mcpUrl}`}`,
    );

    const summary: string[] = [];
    for (const scenario of scenarios) {
      console.log(`\n=== ${scenario}`);
      const { code, checks } = await runScenario(scenario, mcpUrl, outputDir);
      const failures = checks.filter((check) => check.status === 'FAILURE');
      const ok = code === 0 && failures.length === 0 && checks.length > 0;
      if (!ok) failed += 1;
      const counted = checks.filter((check) => check.status === 'SUCCESS' || check.status === 'FAILURE');
      summary.push(
        `${ok ? 'PASS' : 'FAIL'} ${scenario}: ${counted.length - failures.length}/${counted.length} checks passed` +
          `${checks.some((check) => check.status === 'WARNING') ? `, ${checks.filter((check) => check.status === 'WARNING').length} warnings` : ''}` +
          `${code !== 0 ? ` (suite exit code ${code})` : ''}` +
          `${failures.map((check) => `\n       ${check.name}: ${check.errorMessage ?? 'failed'}`).join('')}`,
      );
    }
    console.log(`\n=== MCP conformance summary\n${summary.map((line) => `  ${line}`).join('\n')}`);
  } catch (error) {
    console.error(`conformance: ${error instanceof Error ? error.message : String(error)}`);
    failed += 1;
  } finally {
    await cleanUp();
  }
  process.exit(failed > 0 ? 1 : 0);
}
