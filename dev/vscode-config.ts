import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The MCP endpoint `npm start` serves by default (PORT=7071 on the loopback), as the committed .vscode/mcp.json names it. */
export const LOCAL_MCP_URL = 'http://127.0.0.1:7071/mcp';

/** The id of the VS Code input that asks for the bearer token; the server entry refers to it as ${input:ID}. */
export const TOKEN_INPUT_ID = 'sovereign-mcp-token';

/**
 * VS Code's `.vscode/mcp.json` for the local server. The token is not in the file (people commit it): VS Code asks
 * for it once, through a password prompt, and keeps it in its secret storage.
 */
export function vsCodeConfig(mcpUrl: string): object {
  return {
    inputs: [
      {
        type: 'promptString',
        id: TOKEN_INPUT_ID,
        description: 'Sovereign MCP bearer token (npm start prints one; npm run --silent token mints more)',
        password: true,
      },
    ],
    servers: { 'sovereign-mcp': { type: 'http', url: mcpUrl, headers: { Authorization: `Bearer \${input:${TOKEN_INPUT_ID}}` } } },
  };
}

/** The file's text: what `npm start` writes and `npm run generate` commits as .vscode/mcp.json (for LOCAL_MCP_URL). */
export function vsCodeConfigText(mcpUrl: string): string {
  return `${JSON.stringify(vsCodeConfig(mcpUrl), null, 2)}\n`;
}

export type VsCodeConfigOutcome = 'written' | 'unchanged' | 'kept';

/**
 * Writes `.vscode/mcp.json` under `folder` only when there is none: an existing file is the engineer's (it may hold
 * other servers, comments, their own settings) and is never changed. 'unchanged' when it already says exactly this.
 */
export function writeVsCodeConfig(folder: string, mcpUrl: string): { file: string; outcome: VsCodeConfigOutcome; text: string } {
  const file = join(folder, '.vscode', 'mcp.json');
  const text = vsCodeConfigText(mcpUrl);
  if (existsSync(file)) return { file, outcome: readFileSync(file, 'utf8') === text ? 'unchanged' : 'kept', text };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text, { flag: 'wx' });
  return { file, outcome: 'written', text };
}
