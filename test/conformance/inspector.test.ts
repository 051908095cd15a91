import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { TOOLS } from '../../shared/tools/registry.js';
import { acquireSharedStack } from '../helpers/shared-stack.js';
import type { TestStack } from '../helpers/stack.js';

describe('conformance/inspector', () => {
  /**
   * Smoke test with the MCP Inspector's CLI (@modelcontextprotocol/inspector-cli), a client we did not write:
   * Streamable HTTP against the app on the local host, with the bearer token as a header.
   */
  const run = promisify(execFile);
  const require = createRequire(import.meta.url);
  // What `mcp-inspector-cli --cli` runs. Its working directory must be its own build folder: 1.0.3 checks for
  // "../package.json" relative to the working directory but imports it relative to the module.
  const CLI_DIR = join(dirname(require.resolve('@modelcontextprotocol/inspector-cli/package.json')), 'build');
  const CLI = join(CLI_DIR, 'index.js');

  let stack: TestStack;
  let token: string;

  beforeAll(async () => {
    stack = await acquireSharedStack();
    token = await stack.token({ roles: ['Mcp.Reader'] });
  });
  afterAll(async () => stack?.stop());

  /** Runs the Inspector CLI against /mcp (async: the sandbox answering the app lives in this process). */
  async function inspector(...args: string[]): Promise<unknown> {
    const { stdout } = await run(
      process.execPath,
      [CLI, stack.mcpUrl, '--transport', 'http', '--header', `Authorization: Bearer ${token}`, ...args],
      // Only what the CLI needs: no CA settings (it speaks plain HTTP on loopback), nothing else inherited.
      { cwd: CLI_DIR, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
    );
    return JSON.parse(stdout);
  }

  describe('MCP Inspector CLI', () => {
    it('lists our tools: every read tool, with input schemas and read-only annotations, for a Reader', async () => {
      const { tools } = (await inspector('--method', 'tools/list')) as {
        tools: { name: string; description: string; inputSchema: { type: string }; annotations?: { readOnlyHint?: boolean } }[];
      };
      const names = tools.map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(TOOLS.filter((tool) => tool.risk === 'read').map((tool) => tool.name)));
      for (const tool of tools) {
        expect(tool.description.length).toBeGreaterThan(0);
        expect(tool.inputSchema.type).toBe('object');
        // A Reader is offered read tools only.
        expect(tool.annotations?.readOnlyHint).toBe(true);
      }
    }, 60_000);

    it('calls a read tool and gets its result', async () => {
      const result = (await inspector('--method', 'tools/call', '--tool-name', 'group_get', '--tool-arg', 'name=rg-ddr-records-prod-uks')) as {
        isError?: boolean;
        content: { type: string; text: string }[];
        structuredContent?: { name?: string; location?: string; provisioningState?: string };
      };
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ name: 'rg-ddr-records-prod-uks', location: 'uksouth', provisioningState: 'Succeeded' });
      expect(result.content.some((block) => block.type === 'text' && block.text.includes('rg-ddr-records-prod-uks'))).toBe(true);
    }, 60_000);
  });
});
