import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { TOOLS } from '../shared/tools/registry.js';
import { join } from 'node:path';

/**
 * `npm start` as an engineer uses it: the banner's URL and token work with an MCP client, the token command
 * mints tokens the running server accepts, and Ctrl-C stops everything. Ports are ephemeral and the sandbox
 * folder is temporary so this runs beside a developer's own `npm start`.
 */
const sandboxDir = mkdtempSync(join(tmpdir(), 'sovereign-mcp-start-'));
const env = {
  ...process.env,
  PORT: '0',
  SANDBOX_DIR: sandboxDir,
  SANDBOX_ARM_PORT: '0',
  SANDBOX_VAULT_PORT: '0',
  SANDBOX_BLOB_PORT: '0',
  SANDBOX_TABLE_PORT: '0',
};
let child: ChildProcess;
let banner = '';

beforeAll(async () => {
  child = spawn(process.execPath, ['dist/dev/start.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (chunk) => (banner += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not print its banner in time:\n${banner}`)), 30_000);
    child.stdout!.on('data', (chunk) => {
      banner += chunk;
      if (banner.includes('Ctrl-C stops everything')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error(`npm start exited early:\n${banner}`)));
  });
});
afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(sandboxDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints an MCP URL and a token that an official MCP client can use', async () => {
    const url = /MCP endpoint\s+(\S+)/.exec(banner)?.[1];
    const token = /"Authorization": "Bearer ([^"]+)"/.exec(banner)?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
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
    const url = /MCP endpoint\s+(\S+)/.exec(banner)?.[1]!.replace(/\/mcp$/, '');
    const token = execFileSync(process.execPath, ['dist/dev/token.js', '--roles', 'Mcp.Reader', '--oid', 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', '--name', 'Ada'], {
      env,
      encoding: 'utf8',
    }).trim();
    expect(token.split('.')).toHaveLength(3);
    const response = await fetch(`${url}/tools/access_whoami`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { structuredContent: unknown }).structuredContent).toMatchObject({
      oid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      name: 'Ada',
      roles: ['Mcp.Reader'],
    });
  });

  it('refuses an unknown role in the token command with a clear message', () => {
    expect(() => execFileSync(process.execPath, ['dist/dev/token.js', '--roles', 'Owner'], { env, encoding: 'utf8', stdio: 'pipe' })).toThrow(
      /Unknown role Owner: roles are Mcp\.Reader, Mcp\.Operator, Mcp\.Approver/,
    );
  });

  it('stops everything it started on Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const leftovers = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(sandboxDir));
    expect(leftovers).toEqual([]);
  });
});
