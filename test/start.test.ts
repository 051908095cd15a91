import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { TOOLS } from '../shared/tools/registry.js';
import { join, resolve } from 'node:path';
import { TOKEN_INPUT_ID, writeVsCodeConfig } from '../dev/vscode-config.js';

/**
 * `npm start` as an engineer uses it, the app running from its esbuild bundle (dev/bundle.sh) as `npm start` runs
 * it: the banner's URL and token work with an MCP client, the token command
 * mints tokens the running server accepts, the VS Code config and the Inspector command it prints work, audit lines
 * go to a file (and to the terminal with --verbose), and Ctrl-C stops everything. Ports are ephemeral, and the
 * sandbox folder and the workspace (where .vscode/mcp.json is written) are temporary, so this runs beside a
 * developer's own `npm start`.
 */
const sandboxDir = mkdtempSync(join(tmpdir(), 'sovereign-mcp-start-'));
const workspace = mkdtempSync(join(tmpdir(), 'sovereign-mcp-workspace-'));
const auditLogFile = join(sandboxDir, 'audit.log');
const START = resolve('dist/dev/start.js');
// Without the test run's CA setting (a path relative to the repository): npm start trusts its own sandbox's certificate.
const { NODE_EXTRA_CA_CERTS: _testRunCa, ...inherited } = process.env;
const env = {
  ...inherited,
  // As under `npm start` (which has just run dev/build-dev.sh): the app runs from the esbuild bundle, built below.
  npm_lifecycle_event: 'start',
  PORT: '0',
  SANDBOX_DIR: sandboxDir,
  SANDBOX_ARM_PORT: '0',
  SANDBOX_VAULT_PORT: '0',
  SANDBOX_BLOB_PORT: '0',
  SANDBOX_TABLE_PORT: '0',
};
const run = promisify(execFile);
let child: ChildProcess;
/** All that the first `npm start` printed so far, and what it had printed by the end of its banner. */
let terminal: () => string;
let banner = '';

/** Runs `npm start` (its built entry) in the workspace and resolves once the banner is out. */
async function start(args: string[] = []): Promise<{ child: ChildProcess; output: () => string }> {
  const started = spawn(process.execPath, [START, ...args], { cwd: workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  started.stderr.on('data', (chunk) => (text += chunk));
  started.stdout.on('data', (chunk) => (text += chunk));
  // No deadline of our own: a busy machine is slow to start, and jest's hook timeout bounds the wait.
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (text.includes('Ctrl-C stops everything')) {
        clearInterval(poll);
        resolve();
      }
    }, 50);
    started.once('exit', () => {
      clearInterval(poll);
      reject(new Error(`npm start exited early:\n${text}`));
    });
  });
  return { child: started, output: () => text };
}

async function stop(running: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));
  running.kill('SIGINT');
  return exited;
}

/** Polls (no fixed sleep) until `read` returns something, for what arrives in its own time. */
async function eventually<T>(read: () => T | undefined): Promise<T> {
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the sandbox's Application Insights capture held when last read (read over HTTPS trusting `ca`). */
let captured: { data?: { baseType?: string; baseData?: { properties?: Record<string, unknown> } } }[] = [];
let capturing = false;
async function capture(url: string, ca: Buffer): Promise<void> {
  if (capturing) return;
  capturing = true;
  try {
    captured = await new Promise((resolve, reject) => {
      get(url, { ca }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(JSON.parse(text) as typeof captured));
      }).on('error', reject);
    });
  } finally {
    capturing = false;
  }
}

const auditLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{"audit":'))
    .map((line) => (JSON.parse(line) as { audit: { tool?: string; callerOid?: string; traceId?: string } }).audit);

const bannerUrl = () => /MCP endpoint\s+(\S+)/.exec(banner)?.[1];
const bannerToken = () => /Dev bearer token[^\n]*\n\n(\S+)\n/.exec(banner)?.[1];
const mint = (...args: string[]) => execFileSync(process.execPath, ['dist/dev/token.js', ...args], { env, encoding: 'utf8' }).trim();

async function whoami(baseUrl: string, token: string): Promise<Response> {
  return fetch(`${baseUrl}/tools/access_whoami`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
}

beforeAll(async () => {
  execFileSync('sh', ['dev/bundle.sh']);
  const started = await start();
  child = started.child;
  terminal = started.output;
  banner = terminal();
}, 120_000);
afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(sandboxDir, { recursive: true, force: true });
  rmSync(workspace, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints an MCP URL and a token that an official MCP client can use', async () => {
    const url = bannerUrl();
    const token = bannerToken();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(token?.split('.')).toHaveLength(3);
    const client = new ClientV1({ name: 'banner-client', version: '1.0.0' });
    await client.connect(new TransportV1(new URL(url!), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    const { tools } = await client.listTools();
    // Reader + Operator: every tool (destructive ones can be requested; they then wait for an approver).
    expect(tools.map((tool) => tool.name).sort()).toEqual(TOOLS.map((tool) => tool.name).sort());
    const result = await client.callTool({ name: 'access_whoami', arguments: {} });
    expect(result.structuredContent).toMatchObject({ name: 'Dev Engineer', roles: ['Mcp.Reader', 'Mcp.Operator'] });
    await client.close();
  });

  it('mints tokens with the token command that the running server accepts', async () => {
    const url = bannerUrl()!.replace(/\/mcp$/, '');
    const token = mint('--roles', 'Mcp.Reader', '--oid', 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', '--name', 'Ada');
    expect(token.split('.')).toHaveLength(3);
    const response = await whoami(url, token);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { structuredContent: unknown }).structuredContent).toMatchObject({
      oid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      name: 'Ada',
      roles: ['Mcp.Reader'],
    });
  });

  it("sends the audit trail to Application Insights from the bundled app: the sandbox's capture gets the event, request and dependency", async () => {
    const url = bannerUrl()!.replace(/\/mcp$/, '');
    const response = await fetch(`${url}/tools/group_get`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bannerToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rg-ddr-records-prod-uks' }),
    });
    expect(response.status).toBe(200);
    const armUrl = /Sandbox ARM\s+(\S+)/.exec(banner)?.[1];
    expect(armUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    // npm start's sandbox has its own certificate (in its folder), not the one this test run trusts.
    const ca = readFileSync(join(sandboxDir, 'tls', 'cert.pem'));
    const kinds = await eventually(() => {
      void capture(`${armUrl}/_sandbox/telemetry`, ca);
      // The call's audit event names the tool; its request and Azure dependency carry the same correlation id.
      const event = captured.find((envelope) => envelope.data?.baseType === 'EventData' && envelope.data.baseData?.properties?.tool === 'group_get');
      const correlationId = event?.data?.baseData?.properties?.correlationId;
      if (correlationId === undefined) return undefined;
      const envelopes = captured.filter((envelope) => envelope.data?.baseData?.properties?.correlationId === correlationId);
      const seen = new Set(envelopes.map((envelope) => envelope.data?.baseType));
      return seen.has('EventData') && seen.has('RequestData') && seen.has('RemoteDependencyData') ? [...seen].sort() : undefined;
    });
    expect(kinds).toEqual(['EventData', 'RemoteDependencyData', 'RequestData']);
  });

  it('refuses an unknown role in the token command with a clear message', () => {
    expect(() => execFileSync(process.execPath, ['dist/dev/token.js', '--roles', 'Owner'], { env, encoding: 'utf8', stdio: 'pipe' })).toThrow(
      /Unknown role Owner: roles are Mcp\.Reader, Mcp\.Operator, Mcp\.Approver/,
    );
  });

  it('writes .vscode/mcp.json that asks for the token instead of holding it, and it connects with the token given', async () => {
    const file = join(workspace, '.vscode', 'mcp.json');
    // Named as the engineer would type it in the folder npm start runs in.
    expect(banner).toContain('VS Code: .vscode/mcp.json written: VS Code asks for the token (a password prompt)');
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(bannerToken()!);
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
    const config = JSON.parse(text) as {
      inputs: { type: string; id: string; password?: boolean }[];
      servers: Record<string, { type: string; url: string; headers: Record<string, string> }>;
    };
    expect(config.inputs).toEqual([expect.objectContaining({ type: 'promptString', id: TOKEN_INPUT_ID, password: true })]);
    const server = config.servers['sovereign-mcp']!;
    expect(server).toMatchObject({ type: 'http', url: bannerUrl() });
    expect(server.headers.Authorization).toBe(`Bearer \${input:${TOKEN_INPUT_ID}}`);
    // What VS Code sends once the engineer has typed the banner's token into the prompt.
    const authorization = server.headers.Authorization!.replace(`\${input:${TOKEN_INPUT_ID}}`, bannerToken()!);
    const client = new ClientV1({ name: 'vscode-config-client', version: '1.0.0' });
    await client.connect(new TransportV1(new URL(server.url), { requestInit: { headers: { authorization } } }));
    expect((await client.callTool({ name: 'access_whoami', arguments: {} })).structuredContent).toMatchObject({ name: 'Dev Engineer' });
    await client.close();
  });

  it('prints an MCP Inspector command that works from the repository root', async () => {
    const command = /^ {2}(npm run --silent inspector -- .+)$/m.exec(banner)?.[1];
    expect(command).toContain('$(npm run --silent token)');
    // The shell runs the command as printed; only the token it would mint (a Reader's, as the token command's
    // default) is minted here, so this test does not run the dev build beside the other test files.
    const { stdout } = await run('sh', ['-c', command!.replace('$(npm run --silent token)', mint())], { cwd: process.cwd(), env, timeout: 120_000 });
    const { tools } = JSON.parse(stdout) as { tools: { name: string }[] };
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      TOOLS.filter((tool) => tool.risk === 'read')
        .map((tool) => tool.name)
        .sort(),
    );
  }, 120_000);

  it('keeps audit lines out of the terminal: they go to the audit log file the banner names', async () => {
    expect(banner).toContain(`Audit log      ${auditLogFile}   (npm start -- --verbose prints it here too)`);
    const oid = 'cccccccc-0000-4000-8000-0000000a0d17';
    expect((await whoami(bannerUrl()!.replace(/\/mcp$/, ''), mint('--oid', oid, '--name', 'Audit Reader'))).status).toBe(200);
    const record = await eventually(() =>
      existsSync(auditLogFile) ? auditLines(readFileSync(auditLogFile, 'utf8')).find((line) => line.callerOid === oid) : undefined,
    );
    expect(record).toMatchObject({ tool: 'access_whoami', callerOid: oid });
    // Nothing the app logged reached the terminal: every JSON line went to the file.
    expect(
      terminal()
        .split('\n')
        .filter((line) => line.startsWith('{')),
    ).toEqual([]);
  });

  it('stops everything it started on Ctrl-C', async () => {
    expect(await stop(child)).toBe(0);
    const leftovers = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(sandboxDir));
    expect(leftovers).toEqual([]);
  });
});

describe('npm start -- --verbose, started again', () => {
  it('prints audit lines in the terminal as well as in the file, and leaves an existing .vscode/mcp.json as it is', async () => {
    const file = join(workspace, '.vscode', 'mcp.json');
    const before = readFileSync(file, 'utf8');
    const verbose = await start(['--verbose']);
    try {
      const text = verbose.output();
      expect(text).toContain(`Audit log      ${auditLogFile}   (also printed here: --verbose)`);
      // Another port this time, so the file written by the first start differs: it is kept, and the entry printed.
      expect(text).toContain('VS Code: .vscode/mcp.json exists and was left as it is.');
      expect(readFileSync(file, 'utf8')).toBe(before);
      const url = /MCP endpoint\s+(\S+)/.exec(text)![1]!;
      expect(text).toContain(`"url": "${url}"`);

      const oid = 'cccccccc-0000-4000-8000-00000000fe4b';
      expect((await whoami(url.replace(/\/mcp$/, ''), mint('--oid', oid, '--name', 'Verbose Reader'))).status).toBe(200);
      expect(await eventually(() => auditLines(verbose.output()).find((line) => line.callerOid === oid))).toMatchObject({ tool: 'access_whoami' });
      await eventually(() => (auditLines(readFileSync(auditLogFile, 'utf8')).some((line) => line.callerOid === oid) ? true : undefined));
    } finally {
      expect(await stop(verbose.child)).toBe(0);
    }
  }, 120_000);
});

describe('the VS Code config file', () => {
  it("is written only where there is none, and an engineer's own file is never changed", () => {
    const folder = mkdtempSync(join(tmpdir(), 'sovereign-mcp-vscode-'));
    try {
      expect(writeVsCodeConfig(folder, 'http://127.0.0.1:7071/mcp').outcome).toBe('written');
      expect(writeVsCodeConfig(folder, 'http://127.0.0.1:7071/mcp').outcome).toBe('unchanged');
      const own = '// my servers\n{ "servers": { "other": { "type": "http", "url": "https://example.invalid/mcp" } } }\n';
      writeFileSync(join(folder, '.vscode', 'mcp.json'), own);
      const result = writeVsCodeConfig(folder, 'http://127.0.0.1:7071/mcp');
      expect(result.outcome).toBe('kept');
      expect(readFileSync(join(folder, '.vscode', 'mcp.json'), 'utf8')).toBe(own);
      expect(JSON.parse(result.text)).toMatchObject({ servers: { 'sovereign-mcp': { url: 'http://127.0.0.1:7071/mcp' } } });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
