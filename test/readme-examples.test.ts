import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { HTTP_FUNCTIONS } from '../functions/definitions.js';
import { parseDepartmentPolicy } from '../shared/policy/department-policy.js';
import { TOOLS } from '../shared/tools/registry.js';
import { LOCAL_MCP_URL, vsCodeConfig } from '../dev/vscode-config.js';
import { REQUIRED_SETTINGS } from './helpers/settings.js';

/**
 * Every JSON and YAML example in the docs parses, and each one of a shape the app knows is what the app accepts or
 * writes: the department policy passes the app's own validation (shared/policy/department-policy.ts), and an
 * `.vscode/mcp.json` for the local server is exactly what `npm start` writes (dev/vscode-config.ts).
 */
const DOCS = ['README.md', 'CONTRIBUTING.md', 'infra/README.md'].filter((file) => existsSync(file));
const LANGUAGES = new Set(['json', 'yaml', 'yml']);

interface Example {
  file: string;
  /** The line of the opening fence (1-based), to name the example in a failure. */
  line: number;
  language: string;
  text: string;
}

/** The fenced code blocks in a Markdown file, indented ones (inside a list) included, with their indentation removed. */
function fencedBlocks(file: string): Example[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Example[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const opening = lines[i]!;
    const indent = opening.length - opening.trimStart().length;
    if (!opening.trimStart().startsWith('```')) continue;
    const language = opening.trim().slice(3).trim().toLowerCase();
    const end = lines.findIndex((line, j) => j > i && line.trim() === '```');
    if (end < 0) throw new Error(`${file}:${i + 1}: a code block that is never closed`);
    blocks.push({
      file,
      line: i + 1,
      language,
      text: lines
        .slice(i + 1, end)
        .map((line) => line.slice(indent))
        .join('\n'),
    });
    i = end;
  }
  return blocks;
}

const examples = DOCS.flatMap(fencedBlocks).filter((block) => LANGUAGES.has(block.language));
const where = (example: Example) => `${example.file}:${example.line}`;
const parsed = (example: Example): unknown => (example.language === 'json' ? JSON.parse(example.text) : parseYaml(example.text, { uniqueKeys: true }));

/**
 * The policy example's placeholders (each the kind of value it stands for), so the example can be validated as the
 * app would validate a department's file.
 */
const POLICY_PLACEHOLDERS: Record<string, string> = {
  '<sub>': REQUIRED_SETTINGS.AZURE_SUBSCRIPTION_ID,
  '<agent client app id>': '5a1c9e3b-7d2f-4b8a-9e6c-1f3a5d7b9c2e',
  '<casework operators group id>': '8e2d4c6a-1b3f-4a5c-9d7e-2f4a6c8e0b1d',
};

describe('the JSON and YAML examples in the docs', () => {
  it('finds the examples (a fence the parser missed would pass unchecked)', () => {
    expect(examples.map(where)).toEqual(expect.arrayContaining([expect.stringMatching(/^README\.md:/), expect.stringMatching(/^infra\/README\.md:/)]));
    expect(examples.filter((example) => example.language !== 'json')).not.toHaveLength(0);
  });

  it('each parses', () => {
    for (const example of examples) {
      let problem: string | undefined;
      try {
        parsed(example);
      } catch (error) {
        problem = (error as Error).message.split('\n')[0];
      }
      expect({ example: where(example), problem }).toEqual({ example: where(example), problem: undefined });
    }
  });

  it('each department policy is one the app accepts (placeholders filled in)', () => {
    const policies = examples.filter((example) => example.language !== 'json' && typeof (parsed(example) as { department?: unknown }).department === 'string');
    expect(policies.length).toBeGreaterThan(0);
    for (const example of policies) {
      const text = Object.entries(POLICY_PLACEHOLDERS).reduce((filled, [placeholder, value]) => filled.replaceAll(placeholder, value), example.text);
      expect(text).not.toContain('<');
      let problem: string | undefined;
      try {
        parseDepartmentPolicy(
          text,
          where(example),
          TOOLS.map((tool) => tool.name),
          TOOLS.filter((tool) => tool.risk === 'write').map((tool) => tool.name),
        );
      } catch (error) {
        problem = (error as Error).message;
      }
      expect({ example: where(example), problem }).toEqual({ example: where(example), problem: undefined });
    }
  });

  it("each VS Code mcp.json names the app's MCP route; the local server's is exactly what npm start writes", () => {
    const mcpRoute = HTTP_FUNCTIONS.find((definition) => definition.name === 'mcp')!.route;
    const configs = examples.filter((example) => example.language === 'json' && typeof (parsed(example) as { servers?: unknown }).servers === 'object');
    expect(configs.length).toBeGreaterThanOrEqual(2);
    let local = 0;
    for (const example of configs) {
      const config = parsed(example) as { servers: Record<string, { type: string; url: string }> };
      for (const server of Object.values(config.servers)) {
        expect({ example: where(example), type: server.type, route: server.url.slice(server.url.lastIndexOf('/') + 1) }).toEqual({
          example: where(example),
          type: 'http',
          route: mcpRoute,
        });
        if (server.url === LOCAL_MCP_URL) {
          local += 1;
          expect({ example: where(example), config }).toEqual({ example: where(example), config: vsCodeConfig(LOCAL_MCP_URL) });
        }
      }
    }
    expect(local).toBe(1);
  });
});
