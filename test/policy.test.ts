import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireSharedStack, acquireSharedStackWith } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { callTool } from './helpers/tools.js';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { TOOLS } from '../shared/tools/registry.js';
import { loadDepartmentPolicy, parseDepartmentPolicy } from '../shared/policy/department-policy.js';
import { PolicyRulesError, createPolicyEngine, namedPolicies } from '../shared/policy/engine.js';
import { isAuditKeyRead } from './helpers/audit-key-read.js';

/**
 * Who may do what, decided by the Cedar rules over the department policy, checked from outside: the HTTP
 * status, the rule named in the refusal, and the twin's request log proving no Azure call was made.
 */
const TAGS = { owner: 'platform@ddr.gov.uk', costCentre: 'CC-4000', environment: 'production', dataClassification: 'OFFICIAL' };

const call = callTool;

async function azureCalls(stack: TestStack) {
  return (await stack.admin.requests())
    .filter((entry) => (entry.service === 'arm' || entry.service === 'vault') && !isAuditKeyRead(entry))
    .map((entry) => `${entry.method} ${entry.path}`);
}

async function mcpClient(stack: TestStack, token: string): Promise<Client> {
  const client = new Client({ name: 'policy-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

describe('the default department policy', () => {
  let stack: TestStack;
  let reader: string;
  // A new Operator per test: group_create allows 10 calls a minute per caller (the default policy).
  let operator: string;
  beforeAll(async () => {
    stack = await acquireSharedStack();
    reader = await stack.token({ roles: ['Mcp.Reader'] });
  });
  afterAll(async () => stack?.stop());
  beforeEach(async () => {
    operator = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
    await stack.admin.clearRequests();
  });

  it('refuses a write tool to a Reader before any Azure call, naming the missing role', async () => {
    const result = await call(stack, reader, 'group_create', { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: TAGS });
    expect(result.status).toBe(403);
    expect(result.error).toMatchObject({ code: 'forbidden', rule: 'default-deny' });
    expect(result.error?.message).toMatch(/needs the Mcp\.Operator role; the caller has Mcp\.Reader/);
    expect(await azureCalls(stack)).toEqual([]);

    const client = await mcpClient(stack, reader);
    const viaMcp = await client.callTool({ name: 'group_create', arguments: { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: TAGS } });
    await client.close();
    expect(viaMcp.isError).toBe(true);
    expect((viaMcp.content as { text: string }[])[0]!.text).toMatch(/Mcp\.Operator/);
    expect(await azureCalls(stack)).toEqual([]);
  });

  it('shows each role only the tools it may call', async () => {
    const listFor = async (token: string) => {
      const client = await mcpClient(stack, token);
      const { tools } = await client.listTools();
      await client.close();
      return tools.map((tool) => tool.name);
    };
    const readerTools = await listFor(reader);
    const operatorTools = await listFor(operator);
    expect(readerTools).not.toContain('group_create');
    expect(operatorTools).toContain('group_create');
    expect(operatorTools.filter((name) => !readerTools.includes(name))).toEqual(TOOLS.filter((tool) => tool.risk !== 'read').map((tool) => tool.name));
    expect(await listFor(await stack.token({ roles: ['Mcp.Approver'] }))).toEqual([]);
  });

  it('lets an Operator create a group the policy lists, in a UK region, with the required tags', async () => {
    const result = await call(stack, operator, 'group_create', { name: 'rg-ddr-newservice-ukw', location: 'UK West', tags: TAGS });
    expect(result.status).toBe(200);
    expect(result.body.structuredContent).toMatchObject({ name: 'rg-ddr-newservice-ukw', location: 'ukwest', created: true });
    expect(await azureCalls(stack)).toEqual(expect.arrayContaining([expect.stringMatching(/^PUT .*\/resourcegroups\/rg-ddr-newservice-ukw$/i)]));
    // Idempotent: the same call again succeeds and changes nothing.
    const again = await call(stack, operator, 'group_create', { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: TAGS });
    expect(again.body.structuredContent).toMatchObject({ created: false });
  });

  it.each(['westeurope', 'uk-south', 'UKSOUTH2', 'uks\u043euth', 'uksouth\u200b', 'ukwest;northeurope', 'global'])(
    'refuses region %j before any Azure call, naming the rule',
    async (location) => {
      const result = await call(stack, operator, 'group_create', { name: 'rg-ddr-newservice-ukw', location, tags: TAGS });
      expect(result.status).toBe(403);
      expect(result.error).toMatchObject({ code: 'forbidden', rule: 'policy.uk-regions-only' });
      expect(await azureCalls(stack)).toEqual([]);
    },
  );

  it('refuses a resource group outside the policy, for writes and reads, before any Azure call', async () => {
    const write = await call(stack, operator, 'group_create', { name: 'rg-shadow-it', location: 'uksouth', tags: TAGS });
    expect(write.status).toBe(403);
    expect(write.error).toMatchObject({ code: 'out_of_scope', rule: 'policy.resource-group-out-of-scope' });
    const read = await call(stack, reader, 'storage_account_list', { resourceGroup: 'rg-ddr-sandbox-neu' });
    expect(read.error).toMatchObject({ code: 'out_of_scope', rule: 'policy.resource-group-out-of-scope' });
    expect(await azureCalls(stack)).toEqual([]);
  });

  it('refuses changes to a resource group the policy lists as protected, before any Azure call', async () => {
    const result = await call(stack, operator, 'group_create', { name: 'rg-ddr-identity-uks', location: 'uksouth', tags: TAGS });
    expect(result.status).toBe(403);
    expect(result.error).toMatchObject({ rule: 'policy.protected-resource' });
    expect(await azureCalls(stack)).toEqual([]);
  });

  it('refuses changes to a resource tagged protected=true after only reading it', async () => {
    const result = await call(stack, operator, 'group_create', { name: 'rg-ddr-keys-uks', location: 'uksouth', tags: TAGS });
    expect(result.status).toBe(403);
    expect(result.error).toMatchObject({ rule: 'policy.protected-resource' });
    expect(await azureCalls(stack)).toEqual([expect.stringMatching(/^GET .*\/resourcegroups\/rg-ddr-keys-uks$/i)]);
  });

  it('refuses a new group without the required tags, naming them', async () => {
    const result = await call(stack, operator, 'group_create', { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: { owner: 'me' } });
    expect(result.error).toMatchObject({ rule: 'policy.required-tags' });
    expect(result.error?.message).toMatch(/missing or empty: costCentre, environment, dataClassification/);
    expect(await azureCalls(stack)).toEqual([]);
  });

  it('records the deciding rule in the audit trail', async () => {
    await call(stack, operator, 'group_create', { name: 'rg-shadow-it', location: 'uksouth', tags: TAGS });
    const records = stack.app.output.filter((line) => line.includes('"audit"')).map((line) => JSON.parse(line).audit);
    expect(records.at(-1)).toMatchObject({ tool: 'group_create', decision: 'denied', rule: 'policy.resource-group-out-of-scope' });
  });
});

describe('a read-only deployment with a tool switched off and tight rate limits', () => {
  let stack: TestStack;
  let operator: string;
  beforeAll(async () => {
    const policy = readFileSync('shared/policy/department.yaml', 'utf8')
      .replace('readOnly: false', 'readOnly: true')
      .replace('disabledTools: []', 'disabledTools: [compute_vm_list]')
      .replace('default: { requests: 120, perSeconds: 60 }', 'default: { requests: 3, perSeconds: 60 }');
    const file = join(mkdtempSync(join(tmpdir(), 'policy-')), 'department.yaml');
    writeFileSync(file, policy);
    stack = await acquireSharedStackWith({ MCP_POLICY_FILE: file });
    operator = await stack.token({ roles: ['Mcp.Operator'] });
  });
  afterAll(async () => stack?.stop());

  it('hides and refuses every non-read tool, and the switched-off tool', async () => {
    const client = await mcpClient(stack, operator);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    await client.close();
    expect(names).not.toContain('group_create');
    expect(names).not.toContain('compute_vm_list');
    expect(names).toContain('group_list');
    const write = await call(stack, operator, 'group_create', { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: TAGS });
    expect(write.error).toMatchObject({ code: 'forbidden', rule: 'policy.read-only-deployment' });
    const disabled = await call(stack, operator, 'compute_vm_list', {});
    expect(disabled.error).toMatchObject({ code: 'forbidden', rule: 'policy.tool-disabled' });
  });

  it('answers 429 with Retry-After on /tools and a clear error on /mcp once a caller is over the limit', async () => {
    for (let i = 0; i < 3; i += 1) expect((await call(stack, operator, 'access_whoami', {})).status).toBe(200);
    const limited = await call(stack, operator, 'access_whoami', {});
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    expect(limited.error).toMatchObject({ code: 'rate_limited', rule: 'policy.rate-limit' });

    const client = await mcpClient(stack, operator);
    const viaMcp = await client.callTool({ name: 'access_whoami', arguments: {} });
    await client.close();
    expect(viaMcp.isError).toBe(true);
    expect((viaMcp.content as { text: string }[])[0]!.text).toMatch(
      /Too many calls to access_whoami: the limit is 3 requests per 60 s per caller. Retry after \d+ s/,
    );

    // Another caller, and another tool, have their own allowance.
    expect((await call(stack, await stack.token({ roles: ['Mcp.Reader'], oid: 'bbbbbbbb-0000-4000-8000-000000000002' }), 'access_whoami', {})).status).toBe(
      200,
    );
    expect((await call(stack, operator, 'group_list', {})).status).toBe(200);
  });
});

describe('the department policy file, read at start (in process)', () => {
  const names = TOOLS.map((tool) => tool.name);
  const sample = readFileSync('shared/policy/department.yaml', 'utf8');
  const withSkus = (skus: string) => sample.replace(/ {2}skus:\n( {4}.*\n)+/, `  skus: ${skus}\n`);

  it('the sample offers in each region only SKUs Azure has there, the first being the default', () => {
    expect(parseDepartmentPolicy(sample, 'sample', names).storage.skus).toEqual({
      uksouth: ['Standard_ZRS', 'Standard_GZRS'],
      ukwest: ['Standard_LRS', 'Standard_GRS'],
    });
  });

  it('refuses zone-redundant SKUs for UK West at start, naming the line and what to use instead', () => {
    expect(() => parseDepartmentPolicy(withSkus('[Standard_ZRS, Standard_GZRS]'), 'p.yaml', names)).toThrow(
      /line \d+: storage\.skus: Standard_ZRS, Standard_GZRS are not offered in ukwest, which has no availability zones; use Standard_LRS or Standard_GRS there/,
    );
    expect(() => parseDepartmentPolicy(withSkus('{ uksouth: [Standard_ZRS], ukwest: [Standard_GZRS] }'), 'p.yaml', names)).toThrow(
      /storage\.skus\.ukwest: Standard_GZRS is not offered in ukwest/,
    );
  });

  it('refuses scoped authority, step-up and agents settings it cannot apply, naming the line', () => {
    const scoped = (entry: string) => `${sample}\nscopes:\n${entry}\n`;
    expect(() => parseDepartmentPolicy(scoped('  - group: not-a-guid\n    read: [rg-ddr-records-prod-uks]'), 'p.yaml', names)).toThrow(
      /line \d+: scopes\.0\.group: must be an Entra group object id/,
    );
    expect(() => parseDepartmentPolicy(scoped('  - role: Mcp.Reader\n    change: [rg-elsewhere]'), 'p.yaml', names)).toThrow(
      /scopes\.0\.change\.0: rg-elsewhere is not one of the managed resourceGroups/,
    );
    expect(() => parseDepartmentPolicy(scoped('  - read: [rg-ddr-records-prod-uks]'), 'p.yaml', names)).toThrow(/name exactly one of group .* or role/);
    expect(() => parseDepartmentPolicy(`${sample}\nstepUp: { write: mfa }\n`, 'p.yaml', names)).toThrow(
      /stepUp\.write: must be a Conditional Access authentication context id, c1 to c99/,
    );
    expect(() => parseDepartmentPolicy(`${sample}\nagents: { write: [my-agent] }\n`, 'p.yaml', names)).toThrow(/agents\.write\.0: must be a client app id/);
    const parsed = parseDepartmentPolicy(scoped('  - group: 5C0A7E21-8D4B-4F3A-9B2C-1E0D9F8A7B6C\n    read: [rg-ddr-records-prod-uks]'), 'p.yaml', names);
    expect(parsed.scopes).toEqual([{ group: '5c0a7e21-8d4b-4f3a-9b2c-1e0d9f8a7b6c', read: ['rg-ddr-records-prod-uks'], change: [], delete: [] }]);
    expect(parseDepartmentPolicy(sample, 'p.yaml', names)).toMatchObject({ stepUp: {}, agents: { write: [], destructive: [] } });
    expect(parseDepartmentPolicy(sample, 'p.yaml', names).scopes).toBeUndefined();
    const withoutVault = scoped('  - role: Mcp.Reader\n    read: [rg-ddr-records-prod-uks]').replace(/^keyVault:\n {2}resourceId: .*\n/m, '');
    expect(() => parseDepartmentPolicy(withoutVault, 'p.yaml', names)).toThrow(/scopes: scoped authority needs keyVault\.resourceId/);
  });

  it('needs a list for every allowed region; a plain list applies to all of them', () => {
    expect(() => parseDepartmentPolicy(withSkus('{ uksouth: [Standard_ZRS] }'), 'p.yaml', names)).toThrow(/list the SKUs allowed in ukwest/);
    expect(parseDepartmentPolicy(withSkus('[Standard_GRS]'), 'p.yaml', names).storage.skus).toEqual({ uksouth: ['Standard_GRS'], ukwest: ['Standard_GRS'] });
  });
});

describe('the Cedar rules, read at start (in process)', () => {
  const department = () =>
    loadDepartmentPolicy(
      'shared/policy/department.yaml',
      TOOLS.map((tool) => tool.name),
    );
  const caller = {
    oid: randomUUID(),
    tid: randomUUID(),
    roles: ['Mcp.Reader'],
    scopes: [],
    expiresAt: 0,
    authContexts: [],
    isAgent: false,
    groups: [],
    groupsOverage: false,
  };
  const readTool = { name: 'group_get', risk: 'read' as const };

  it('names every shipped rule by the @id Cedar itself reads from it', () => {
    const text = readFileSync('shared/policy/rules.cedar', 'utf8');
    const parts = cedar.policySetTextToParts(text);
    if (parts.type !== 'success') throw new Error('rules.cedar does not parse');
    const fromJson = parts.policies.map((policy) => {
      const json = cedar.policyToJson(policy);
      return json.type === 'success' ? json.json.annotations?.id : undefined;
    });
    expect(Object.keys(namedPolicies(text))).toEqual(fromJson);
    expect(Object.values(namedPolicies(text))).toEqual(parts.policies);
  });

  it('reads an @id that is not the first annotation, or has escapes, from Cedar', () => {
    const rules = [
      '@reason("readers read") @id("first.after-another-annotation") permit (principal, action in Action::"tier:read", resource) when { principal.roles.contains("Mcp.Reader") };',
      '@id("quoted \\"name\\"") forbid (principal, action, resource) when { context.tool == "compute_vm_list" };',
    ].join('\n');
    expect(Object.keys(namedPolicies(rules))).toEqual(['first.after-another-annotation', 'quoted "name"']);
    const engine = createPolicyEngine(department(), randomUUID(), rules);
    expect(engine.decide(caller, readTool)).toMatchObject({ allowed: true, rule: 'first.after-another-annotation' });
    expect(engine.decide(caller, { name: 'compute_vm_list', risk: 'read' })).toMatchObject({ allowed: false, rule: 'quoted "name"' });
  });

  it('refuses rules without an @id, or two rules with the same one', () => {
    expect(() => createPolicyEngine(department(), randomUUID(), 'permit (principal, action, resource);')).toThrow(PolicyRulesError);
    expect(() =>
      createPolicyEngine(department(), randomUUID(), '@id("same") permit (principal, action, resource);\n@id("same") forbid (principal, action, resource);'),
    ).toThrow(/Two Cedar rules share the @id same/);
  });
});
