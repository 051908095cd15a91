import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Tool } from '@modelcontextprotocol/server';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { base64url, calculateJwkThumbprint, createLocalJWKSet, flattenedVerify, importJWK, type FlattenedVerifyGetKey, type JWK } from 'jose';
import { CATALOGUE_JWS_TYPE, type SignedCatalogue } from '../shared/mcp/catalogue-signer.js';
import type { CatalogueManifest } from '../shared/mcp/manifest.js';
import { withoutTrailingSlashes } from '../shared/text/trailing-slashes.js';
import { compareWithSignedCatalogue } from './catalogue-check.js';
import { sandboxCatalogueKey } from './sandbox-catalogue-key.js';
import { SANDBOX_DIR } from './sandbox-settings.js';
import { trustSandboxOrRelaunch } from './sandbox/relaunch.js';

/**
 * `npm run --silent verify-catalogue -- --url <base> --key <jwks or jwk file | thumbprint> [--token T]`: fetches the
 * tools the server lists (tools/list, with the official MCP client) and its signed catalogue (/tools/manifest),
 * verifies the signature with jose against the pinned key only, and compares the two. Exit 0: every listed tool is
 * exactly as signed; 1: a tool is missing, extra, changed or unsigned, or the signature does not verify (each named);
 * 2: it could not check (bad arguments, server unreachable or refusing).
 */
const usage =
  'usage: npm run --silent verify-catalogue -- --url <base URL, e.g. http://127.0.0.1:7071> --key <JWKS or JWK file | RFC 7638 SHA-256 thumbprint | sandbox> [--token <bearer token>] [--print-pins]\n' +
  '--key sandbox: the catalogue-signing key read from the vault of the sandbox npm start runs (not from the app).\n' +
  '--print-pins: once verified, print the catalogue as name@version=sha256 pins (one comma-separated line) for the API Management check.\n' +
  'Without --token it uses SOVEREIGN_MCP_TOKEN, else mints a sandbox token as `npm run --silent token -- --roles Mcp.Reader,Mcp.Operator` does\n' +
  '(a token whose roles hide some tools makes those tools missing).';

class Unverifiable extends Error {}

// linear: anchored, one character class of fixed length.
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/** Base64 or base64url, as `az keyvault key show` and the Key Vault REST API give a key's numbers: base64url. */
const asBase64url = (value: unknown) => (typeof value === 'string' ? base64url.encode(Buffer.from(value, 'base64')) : value);

function publicJwk(value: Record<string, unknown>): JWK {
  const { kty, n, e, kid, crv, x, y } = value;
  return Object.fromEntries(
    Object.entries({ kty, kid, crv, n: asBase64url(n), e: asBase64url(e), x: asBase64url(x), y: asBase64url(y) }).filter(([, v]) => v !== undefined),
  );
}

/** The pinned key: a JWKS or single JWK file, a thumbprint that the key in the JWS header must match, or `sandbox`. */
async function pinnedKey(pin: string): Promise<{ getKey: FlattenedVerifyGetKey; describe: string }> {
  if (pin === 'sandbox') {
    const jwk = await sandboxCatalogueKey();
    return { getKey: async () => importJWK(jwk, 'RS256'), describe: "the sandbox vault's catalogue-signing key" };
  }
  if (existsSync(pin)) {
    let parsed: { keys?: unknown } & Record<string, unknown>;
    try {
      parsed = JSON.parse(readFileSync(pin, 'utf8')) as typeof parsed;
    } catch {
      throw new Unverifiable(`--key ${pin} is not JSON: give a JWKS ({"keys":[...]}) or a JWK file.`);
    }
    // A single JWK (as `az keyvault key show --query key` prints it) pins that key alone, whatever kid the JWS names.
    const keys = Array.isArray(parsed.keys) ? (parsed.keys as Record<string, unknown>[]).map(publicJwk) : [{ ...publicJwk(parsed), kid: undefined }];
    const jwks = createLocalJWKSet({ keys: keys.map((key) => Object.fromEntries(Object.entries(key).filter(([, v]) => v !== undefined))) });
    return { getKey: jwks, describe: `the key(s) in ${pin}` };
  }
  if (!THUMBPRINT.test(pin)) throw new Unverifiable(`--key ${pin} is neither a file nor an RFC 7638 SHA-256 thumbprint (43 base64url characters).`);
  return {
    describe: `the key with thumbprint ${pin}`,
    async getKey(header) {
      if (!header.jwk || (await calculateJwkThumbprint(header.jwk, 'sha256')) !== pin)
        throw new Error('the signing key is not the pinned key (thumbprint differs)');
      return importJWK(header.jwk, 'RS256');
    },
  };
}

function tokenFrom(given: string | undefined): string {
  if (given) return given;
  if (process.env.SOVEREIGN_MCP_TOKEN) return process.env.SOVEREIGN_MCP_TOKEN;
  // The sandbox's token command, as a person would run it (npm runs scripts from the repository's root; this file may
  // be the bundle in dist/bundle/cli/ or the compiled module in dist/dev/).
  const command = resolve('dist/dev/token.js');
  return execFileSync(process.execPath, [command, '--roles', 'Mcp.Reader,Mcp.Operator'], { encoding: 'utf8' }).trim();
}

async function listTools(base: string, token: string): Promise<Tool[]> {
  const client = new Client({ name: 'sovereign-mcp-verify-catalogue', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  try {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      tools.push(...(page.tools as Tool[]));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return tools;
  } finally {
    await client.close();
  }
}

async function fetchSignedCatalogue(base: string, token: string): Promise<SignedCatalogue> {
  const response = await fetch(`${base}/tools/manifest`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  const text = await response.text();
  if (!response.ok) throw new Unverifiable(`GET ${base}/tools/manifest answered ${response.status}: ${text.slice(0, 500)}`);
  try {
    return JSON.parse(text) as SignedCatalogue;
  } catch {
    throw new Unverifiable(`GET ${base}/tools/manifest did not answer JSON.`);
  }
}

/**
 * A thumbprint is base64url, so one in 64 begins with '-', which parseArgs refuses as the value of `--key` (it takes
 * it for an option). The argument after `--key` is its value whatever it begins with, as getopt takes it.
 */
function keyValueTakenWhole(args: string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index++) {
    if (args[index] === '--key' && index + 1 < args.length) joined.push(`--key=${args[++index]}`);
    else joined.push(args[index]!);
  }
  return joined;
}

/** The exit code; undefined when the command was run again in a child (the child's code is passed through). */
async function main(): Promise<number | undefined> {
  let values;
  try {
    ({ values } = parseArgs({
      args: keyValueTakenWhole(process.argv.slice(2)),
      options: {
        url: { type: 'string' },
        key: { type: 'string' },
        token: { type: 'string' },
        'print-pins': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.url || !values.key) {
    console.error(`--url and --key are both required.\n${usage}`);
    return 2;
  }
  const base = withoutTrailingSlashes(values.url);
  // The sandbox's vault is HTTPS with the sandbox's own certificate: trusted from process start (a relaunch if need be).
  if (values.key === 'sandbox' && !(await trustSandboxOrRelaunch(resolve(SANDBOX_DIR, 'tls')))) return undefined;
  try {
    const pin = await pinnedKey(values.key);
    const token = tokenFrom(values.token);
    const [listed, signed] = await Promise.all([listTools(base, token), fetchSignedCatalogue(base, token)]);
    let manifest: CatalogueManifest;
    let kid: string | undefined;
    try {
      const verified = await flattenedVerify(signed.jws, pin.getKey, { algorithms: ['RS256'] });
      if (verified.protectedHeader?.typ !== CATALOGUE_JWS_TYPE)
        throw new Error(`its type is '${String(verified.protectedHeader?.typ)}', not ${CATALOGUE_JWS_TYPE}`);
      manifest = JSON.parse(new TextDecoder().decode(verified.payload)) as CatalogueManifest;
      kid = verified.protectedHeader?.kid;
    } catch (error) {
      console.error(
        `FAILED: the catalogue's signature does not verify with ${pin.describe}: ${(error as Error).message}. No tool from ${base} can be trusted.`,
      );
      return 1;
    }
    const problems = compareWithSignedCatalogue(listed, manifest);
    if (problems.length > 0) {
      console.error(`FAILED: ${problems.length} problem(s) between tools/list and the signed catalogue of ${base}:`);
      for (const problem of problems) console.error(`  ${problem}`);
      return 1;
    }
    if (values['print-pins']) {
      // Only what the signature covers, and only after the listing matched it.
      console.log(manifest.tools.map((tool) => `${tool.name}@${tool.version}=${tool.sha256}`).join(','));
      return 0;
    }
    console.log(
      `OK: ${listed.length} tools listed by ${base}, each exactly as signed in its catalogue (sha256 ${manifest.sha256}) by ${kid ?? 'the pinned key'}.`,
    );
    return 0;
  } catch (error) {
    console.error(`Could not check ${base}: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
}

const code = await main();
if (code !== undefined) process.exitCode = code;
