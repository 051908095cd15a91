import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TOOLS } from '../shared/tools/registry.js';

/**
 * What the Azure Functions host (func start, or Azure) would register when it loads `main`. The host provides
 * the `@azure/functions-core` module to the worker; here a stand-in module, found through NODE_PATH, records the
 * registrations, so the real `app.http` calls in functions/index.ts are what is checked.
 */
const coreStandIn = mkdtempSync(join(tmpdir(), 'functions-core-'));
mkdirSync(join(coreStandIn, '@azure', 'functions-core'), { recursive: true });
writeFileSync(
  join(coreStandIn, '@azure', 'functions-core', 'index.js'),
  `const registered = [];
   process.on('exit', () => process.stdout.write(JSON.stringify(registered)));
   module.exports = {
     registerFunction: (metadata) => { registered.push(metadata); return { dispose() {} }; },
     setProgrammingModel: () => {},
     registerHook: () => ({ dispose() {} }),
     log: () => {},
   };`,
);

const validSettings = {
  AZURE_TENANT_ID: '7d3f9c2a-1b4e-4f6a-9c8d-2e5b7a1f3c90',
  AZURE_SUBSCRIPTION_ID: 'b2e4c6a8-3d5f-4a7b-8c9e-0f1a2b3c4d5e',
  AZURE_CLIENT_ID: '3c8e1f5a-9b2d-4e7c-a6f0-8d4b2c9e1a37',
  KEY_VAULT_URL: 'https://kv-example-ukw.vault.azure.net/',
  AUTH_AUDIENCE: 'api://sovereign-mcp',
};

function loadMain(settings: Record<string, string>, cwd = process.cwd()) {
  const { PATH, HOME } = process.env;
  return spawnSync(process.execPath, ['-e', "import('./dist/functions/index.js')"], {
    cwd,
    env: { PATH, HOME, NODE_PATH: coreStandIn, ...settings },
    encoding: 'utf8',
  });
}

interface Metadata {
  name: string;
  bindings: Record<string, { type: string; direction: string; route?: string; methods?: string[]; authLevel?: string }>;
}

describe('Azure Functions registration (what func start loads)', () => {
  it('registers the MCP router, one Function per tool, the manifest, metadata, approval, revoke and health routes', () => {
    const run = loadMain(validSettings);
    expect(run.status).toBe(0);
    const registered = JSON.parse(run.stdout) as Metadata[];
    const triggers = registered.map((metadata) => {
      const trigger = Object.values(metadata.bindings).find((binding) => binding.type === 'httpTrigger')!;
      return { name: metadata.name, route: trigger.route, methods: trigger.methods?.map((m) => m.toUpperCase()).sort() };
    });
    expect(triggers).toEqual(
      expect.arrayContaining([
        { name: 'mcp', route: 'mcp', methods: ['DELETE', 'GET', 'POST'] },
        { name: 'health', route: 'health', methods: ['GET'] },
        { name: 'tool_manifest', route: 'tools/manifest', methods: ['GET'] },
        { name: 'approvals_revoke', route: 'approvals/revoke', methods: ['POST'] },
        { name: 'approval', route: 'approvals/{id}', methods: ['GET', 'POST'] },
        { name: 'oauth_protected_resource', route: '.well-known/oauth-protected-resource', methods: ['GET'] },
        { name: 'oauth_protected_resource_mcp', route: '.well-known/oauth-protected-resource/mcp', methods: ['GET'] },
        ...TOOLS.map((tool) => ({ name: `tool_${tool.name}`, route: `tools/${tool.name}`, methods: ['POST'] })),
      ]),
    );
    expect(triggers).toHaveLength(TOOLS.length + 7);
  });

  it('stops at start with a message naming each bad setting', () => {
    const run = loadMain({ ...validSettings, AZURE_TENANT_ID: 'contoso', AUTH_AUDIENCE: '' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('Sovereign MCP cannot start: invalid settings');
    expect(run.stderr).toContain('AZURE_TENANT_ID: must be a GUID');
    expect(run.stderr).toContain('AUTH_AUDIENCE: required but not set');
    expect(run.stdout).toBe('[]');
  });

  it('stops at start on an emergency mode it does not know, naming the setting and the modes', () => {
    const run = loadMain({ ...validSettings, MCP_EMERGENCY_MODE: 'lockdown' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('Sovereign MCP cannot start: invalid settings');
    expect(run.stderr).toContain("MCP_EMERGENCY_MODE: must be one of open, read-only, no-destructive, closed (the duty officer's switch; open is normal)");
    expect(run.stdout).toBe('[]');
  });

  it('stops at start when the department policy is invalid, naming the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    const file = join(dir, 'department.yaml');
    const lines = readFileSync('shared/policy/department.yaml', 'utf8').split('\n');
    const regions = lines.findIndex((line) => line.startsWith('regions:'));
    lines[regions] = 'regions: [uksouth, westeurope]';
    writeFileSync(file, lines.join('\n'));
    const run = loadMain({ ...validSettings, MCP_POLICY_FILE: file });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`the department policy ${file} is invalid`);
    expect(run.stderr).toContain(`line ${regions + 1}: regions.1: only uksouth and ukwest can be allowed`);
    expect(run.stdout).toBe('[]');
  });

  it('stops at start on a protected id it cannot enforce, or an exception for a delete tool, naming the lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    const file = join(dir, 'department.yaml');
    const lines = readFileSync('shared/policy/department.yaml', 'utf8').split('\n');
    const listed = lines.findIndex((line) => line.includes('/resourceGroups/rg-ddr-identity-uks'));
    lines[listed] = `${lines[listed]}/providers/Microsoft.Storage/storageAccounts/st1/blobServices/default/containers/c/blobs/b.txt`;
    const excepted = lines.findIndex((line) => line.includes('- tool: keyvault_key_rotate'));
    lines[excepted] = lines[excepted]!.replace('keyvault_key_rotate', 'storage_blob_delete');
    writeFileSync(file, lines.join('\n'));
    const run = loadMain({ ...validSettings, MCP_POLICY_FILE: file });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`line ${listed + 1}: protected.resources.0:`);
    expect(run.stderr).toContain('names blobs, which are data inside a resource');
    expect(run.stderr).toContain(`line ${excepted + 1}: protected.exceptions.0.tool: only these tools can be excepted`);
    expect(run.stdout).toBe('[]');
  });

  it('stops at start (and so does the local host npm start runs) when the compiled-in catalogue no longer describes the tools, naming the tool and the command', () => {
    // A build whose generated catalogue was not regenerated: a copy of the compiled app with one description changed.
    const build = mkdtempSync(join(tmpdir(), 'stale-catalogue-'));
    for (const dir of ['dist/shared', 'dist/functions', 'dist/dev/host', 'shared/policy']) cpSync(dir, join(build, dir), { recursive: true });
    writeFileSync(join(build, 'package.json'), JSON.stringify({ type: 'module' }));
    symlinkSync(resolve('node_modules'), join(build, 'node_modules'), 'dir');
    const catalogue = join(build, 'dist/shared/mcp/catalogue.generated.js');
    const compiled = readFileSync(catalogue, 'utf8');
    expect(compiled).toContain('Lists virtual machines in the managed resource groups');
    writeFileSync(
      catalogue,
      compiled.replace('Lists virtual machines in the managed resource groups', 'Lists and starts virtual machines in the managed resource groups'),
    );
    const run = loadMain(validSettings, build);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      "Sovereign MCP cannot start: the generated tool catalogue (shared/mcp/catalogue.generated.ts) no longer describes the registry's tools, so it would serve stale schemas:",
    );
    expect(run.stderr).toContain('  compute_vm_list: the generated entry differs in description\n');
    expect(run.stderr).toContain('Run `npm run generate`');
    expect(run.stdout).toBe('[]');
    // The local host (npm start) stops too, with the message alone: no stack trace.
    const { PATH, HOME } = process.env;
    const local = spawnSync(process.execPath, ['dist/dev/host/main.js'], { cwd: build, env: { PATH, HOME, PORT: '0', ...validSettings }, encoding: 'utf8' });
    expect(local.status).toBe(1);
    expect(local.stderr).toMatch(
      /^Sovereign MCP cannot start: the generated tool catalogue .*\n {2}compute_vm_list: the generated entry differs in description\nRun `npm run generate`[^\n]*\n$/,
    );
    expect(local.stdout).not.toContain('"ready":true');
    // The same copy with the catalogue as generated starts and registers every tool.
    writeFileSync(catalogue, compiled);
    const fresh = loadMain(validSettings, build);
    expect(fresh.status).toBe(0);
    expect(JSON.parse(fresh.stdout)).toHaveLength(TOOLS.length + 7);
    rmSync(build, { recursive: true, force: true });
  });
});
