import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadSettings } from '../../shared/config/settings.js';
import { servesAuthority } from '../../shared/http/authority.js';
import { acquireSharedStack } from '../helpers/shared-stack.js';
import type { TestStack } from '../helpers/stack.js';
import { rawClient, type RawResponse } from './helpers/raw-http.js';
import { IN_AZURE, REQUIRED_SETTINGS as REQUIRED } from '../helpers/settings.js';

describe('hostile/host-authority', () => {
  /**
   * The Host check covers the whole authority, host and port: links and challenges are built from the request's
   * authority, so `Host: 127.0.0.1:9999` must be refused like `Host: evil.example`, before any link names port 9999.
   */
  let stack: TestStack;
  let client: ReturnType<typeof rawClient>;
  let port: string;
  let reader: string;

  beforeAll(async () => {
    stack = await acquireSharedStack();
    client = rawClient(stack.baseUrl);
    port = new URL(stack.baseUrl).port;
    reader = await stack.token({ roles: ['Mcp.Reader'] });
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await stack?.stop();
  });

  const initialize = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'port-probe', version: '1' } },
  });

  function send(host: string, path: string, authorization?: string): Promise<RawResponse> {
    const body = path === '/mcp' ? initialize : '{}';
    return client.send({
      method: path.startsWith('/.well-known') ? 'GET' : 'POST',
      path,
      headers: {
        host,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(authorization ? { authorization } : {}),
      },
      ...(path.startsWith('/.well-known') ? {} : { body }),
    });
  }

  /** Every port a response names, in its headers or body (URLs like http://127.0.0.1:NNNN or localhost:NNNN). */
  function portsNamed(response: RawResponse): string[] {
    const text = `${JSON.stringify(response.headers)} ${response.text}`;
    return [...text.matchAll(/(?:127\.0\.0\.1|localhost|\[::1\]):(\d+)/g)].map((match) => match[1]!);
  }

  const PATHS = [
    '/mcp',
    '/tools/access_whoami',
    '/tools/group_list',
    '/.well-known/oauth-protected-resource/mcp',
    '/approvals/00000000-0000-4000-8000-000000000000',
  ];

  describe('a Host header naming another port', () => {
    const wrong = () => [
      `127.0.0.1:9999`,
      `localhost:9999`,
      `[::1]:9999`,
      `127.0.0.1:${Number(port) + 1}`,
      `127.0.0.1:1`,
      '127.0.0.1',
      'localhost:80',
      'localhost',
    ];

    it('is refused with 403 on /mcp and /tools/*, with or without a token, and nothing names another port', async () => {
      const problems: string[] = [];
      for (const host of wrong()) {
        for (const path of PATHS) {
          for (const authorization of [`Bearer ${reader}`, undefined]) {
            const response = await send(host, path, authorization);
            const label = `${host} ${path} ${authorization ? 'with token' : 'anonymous'}`;
            if (!path.startsWith('/approvals') && response.status !== 403) problems.push(`${label}: ${response.status}, not 403`);
            if (path.startsWith('/approvals') && ![302, 403].includes(response.status)) problems.push(`${label}: ${response.status}`);
            const others = portsNamed(response).filter((named) => named !== port);
            if (others.length > 0) problems.push(`${label}: the answer names port ${others.join(', ')}`);
            if (response.headers['www-authenticate']) problems.push(`${label}: a challenge for a foreign authority: ${response.headers['www-authenticate']}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('says why: the Host does not name this server (host and port)', async () => {
      const response = await send('127.0.0.1:9999', '/mcp', `Bearer ${reader}`);
      expect(JSON.parse(response.text).error.message).toMatch(/Host header does not name this server \(host and port\)/);
    });

    it('is refused when the request target names another port (absolute form)', async () => {
      const response = await client.send({
        method: 'POST',
        path: `http://127.0.0.1:9999/mcp`,
        headers: {
          host: `127.0.0.1:${port}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${reader}`,
        },
        body: initialize,
      });
      expect(response.status).toBe(403);
      expect(portsNamed(response).filter((named) => named !== port)).toEqual([]);
    });

    it('serves its own authority, by each loopback name (the control), and its challenge names that port', async () => {
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
        expect({ host, status: (await send(host, '/mcp', `Bearer ${reader}`)).status }).toEqual({ host, status: 200 });
        const anonymous = await send(host, '/mcp');
        expect(anonymous.status).toBe(401);
        expect(String(anonymous.headers['www-authenticate'])).toContain(
          `resource_metadata="http://${host.toLowerCase()}/.well-known/oauth-protected-resource/mcp"`,
        );
      }
    });
  });

  describe('what the app serves, by configuration', () => {
    it("in Azure: the app's own host name on the default port only", () => {
      const settings = loadSettings({ ...REQUIRED, ...IN_AZURE, PORT: '8080' });
      expect(servesAuthority('func-dept-mcp.azurewebsites.net', 'https:', settings)).toBe(true);
      expect(servesAuthority('func-dept-mcp.azurewebsites.net:443', 'https:', settings)).toBe(true);
      expect(servesAuthority('func-dept-mcp.azurewebsites.net:8080', 'https:', settings)).toBe(false);
      expect(servesAuthority('func-dept-mcp.azurewebsites.net:444', 'https:', settings)).toBe(false);
      expect(servesAuthority('evil.example', 'https:', settings)).toBe(false);
    });

    it('entries with a port allow exactly that authority; MCP_PUBLIC_BASE_URL is always allowed', () => {
      const settings = loadSettings({
        ...REQUIRED,
        ...IN_AZURE,
        MCP_ALLOWED_HOSTS: 'mcp.dept.gov.uk,gateway.internal:8443',
        MCP_PUBLIC_BASE_URL: 'https://apim-dept.azure-api.net:9443',
      });
      expect(servesAuthority('mcp.dept.gov.uk', 'https:', settings)).toBe(true);
      expect(servesAuthority('mcp.dept.gov.uk:8443', 'https:', settings)).toBe(false);
      expect(servesAuthority('gateway.internal:8443', 'https:', settings)).toBe(true);
      expect(servesAuthority('gateway.internal', 'https:', settings)).toBe(false);
      expect(servesAuthority('apim-dept.azure-api.net:9443', 'https:', settings)).toBe(true);
      expect(servesAuthority('apim-dept.azure-api.net', 'https:', settings)).toBe(false);
    });

    it('locally: loopback names on the local host port (PORT, default 7071)', () => {
      expect(servesAuthority('localhost:7071', 'http:', loadSettings(REQUIRED))).toBe(true);
      expect(servesAuthority('localhost', 'http:', loadSettings(REQUIRED))).toBe(false);
      expect(servesAuthority('127.0.0.1:8000', 'http:', loadSettings({ ...REQUIRED, PORT: '8000' }))).toBe(true);
      expect(servesAuthority('127.0.0.1:7071', 'http:', loadSettings({ ...REQUIRED, PORT: '8000' }))).toBe(false);
    });

    it('gives the same answer every time it is asked, past the answers it remembers and for values too long to remember', () => {
      const settings = loadSettings(REQUIRED);
      const asked = (value: string, scheme = 'http:') => servesAuthority(value, scheme, settings);
      // More distinct values than it remembers (256), then the first ones again: the memory has started again by then.
      const others = Array.from({ length: 600 }, (_, i) => `host-${i}.example:7071`);
      for (let round = 0; round < 2; round += 1) {
        expect(asked('localhost:7071')).toBe(true);
        expect(asked('localhost:7072')).toBe(false);
        expect(asked('LOCALHOST:7071')).toBe(true);
        expect(others.filter((value) => asked(value))).toEqual([]);
        // The same authority over another scheme is another question (its default port differs).
        expect(asked('localhost:7071', 'https:')).toBe(true);
        expect(asked('localhost', 'https:')).toBe(false);
        // Longer than any host name: never remembered, always refused.
        expect(asked(`${'a'.repeat(330)}:7071`)).toBe(false);
        expect(asked(`localhost:7071${' '.repeat(330)}`)).toBe(false);
      }
    });

    it('refuses Host values that are more than host[:port], and allowlist entries that are not hosts', () => {
      const settings = loadSettings(REQUIRED);
      for (const value of ['user@localhost:7071', 'localhost:7071/x', 'localhost:7071?x', 'localhost:7071#', '', 'localhost :7071']) {
        expect({ value, served: servesAuthority(value, 'http:', settings) }).toEqual({ value, served: false });
      }
      for (const entry of ['https://mcp.dept.gov.uk', '*.dept.gov.uk', 'mcp.dept.gov.uk/mcp']) {
        expect(() => loadSettings({ ...REQUIRED, MCP_ALLOWED_HOSTS: entry })).toThrow(/MCP_ALLOWED_HOSTS: each entry must be a host name or host:port/);
      }
    });
  });
});
