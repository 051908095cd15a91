import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ROLES } from '../../shared/auth/roles.js';
import { loadTemplateSet, resourcesOf, type Json } from './templates.js';
import { UK_REGIONS } from './template-checks.js';

/** The files around the templates: parameters, packed template, azd entry point, docs, Entra registration. */
const main = JSON.parse(readFileSync('infra/main.json', 'utf8'));
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('infra deployment files', () => {
  it('has generated files that match their sources (node infra/scripts/build.mjs --check)', () => {
    const run = spawnSync(process.execPath, ['infra/scripts/build.mjs', '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('has a parameters file that names only main.json parameters, sets the required ones and stays in the UK', () => {
    const file = readJson('infra/main.parameters.json');
    expect(file.$schema).toBe('https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#');
    for (const name of Object.keys(file.parameters)) expect(Object.keys(main.parameters)).toContain(name);
    for (const [name, parameter] of Object.entries<Json>(main.parameters)) {
      if (parameter.defaultValue === undefined) expect(Object.keys(file.parameters)).toContain(name);
    }
    expect(UK_REGIONS).toContain(file.parameters.location.value);
    expect(file.parameters.managedResourceGroups.value.length).toBeGreaterThan(0);
    // Protected groups are managed groups the department policy protects.
    for (const group of file.parameters.protectedResourceGroups?.value ?? []) expect(file.parameters.managedResourceGroups.value).toContain(group);
  });

  it('takes the tenant and the app registration from the azd environment, and fails at once where nothing fills them in', () => {
    const file = readJson('infra/main.parameters.json');
    const readme = readFileSync('infra/README.md', 'utf8');
    for (const [name, variable] of [
      ['tenantId', 'AZURE_TENANT_ID'],
      ['entraClientId', 'ENTRA_CLIENT_ID'],
    ] as const) {
      // azd substitutes ${VAR} from its environment; `az deployment` does not, and then the literal text is shorter than
      // the parameter's minLength (GUID-sized), so a deployment with it left in fails at once.
      expect(file.parameters[name].value).toBe(`\${${variable}}`);
      expect(file.parameters[name].value.length).toBeLessThan(main.parameters[name].minLength);
      expect(readme).toContain(`azd env set ${variable}`);
    }
    // No other parameter is left for azd to fill in without saying so.
    const substituted = JSON.stringify(file.parameters).match(/\$\{[A-Z_]+\}/g) ?? [];
    expect(substituted.sort()).toEqual(['${AZURE_TENANT_ID}', '${ENTRA_CLIENT_ID}']);
  });

  it('packs main.json and every module into main.packed.json, with no relative links left', () => {
    const packed = readJson('infra/main.packed.json');
    expect(packed.parameters).toEqual(main.parameters);
    expect(packed.outputs).toEqual(main.outputs);
    expect(JSON.stringify(packed)).not.toContain('relativePath');
    const set = loadTemplateSet('infra/main.json');
    for (const deployment of resourcesOf(packed).filter((r: Json) => r.type === 'Microsoft.Resources/deployments')) {
      expect(deployment.properties.expressionEvaluationOptions).toEqual({ scope: 'inner' });
      const source = resourcesOf(main).find((r: Json) => r.name === deployment.name);
      expect(deployment.properties.template.parameters).toEqual(set.templates.get(`infra/${source.properties.templateLink.relativePath}`).parameters);
    }
  });

  it('gives azd an entry point that declares every main.json parameter and deploys main.packed.json', () => {
    const bicep = readFileSync('infra/main.bicep', 'utf8');
    expect(bicep).toContain("module sovereignMcp 'main.packed.json' = {");
    for (const name of Object.keys(main.parameters)) {
      expect(bicep).toMatch(new RegExp(`^param ${name} `, 'm'));
      expect(bicep).toMatch(new RegExp(`^    ${name}: ${name}$`, 'm'));
    }
    expect(bicep).toContain("@allowed([\n  'ukwest'\n  'uksouth'\n])\nparam location string = 'ukwest'");
  });

  it('has an azure.yaml that parses and points azd at infra/main', () => {
    const project = parseYaml(readFileSync('azure.yaml', 'utf8'));
    expect(project.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(project.infra).toEqual({ provider: 'bicep', path: 'infra', module: 'main' });
    expect(existsSync(`${project.infra.path}/${project.infra.module}.bicep`)).toBe(true);
    expect(existsSync(`${project.infra.path}/${project.infra.module}.parameters.json`)).toBe(true);
    expect(project.services.api).toMatchObject({ project: '.', language: 'ts', host: 'function' });
  });

  it('documents the custom roles in infra/README.md exactly as the template defines them', () => {
    const readme = readFileSync('infra/README.md', 'utf8');
    const table = readme.slice(readme.indexOf('<!-- roles:start'), readme.indexOf('<!-- roles:end -->'));
    const documented = table
      .split('\n')
      .filter((line) => line.startsWith('| Sovereign MCP'))
      .map((line) => {
        const [name, , actions, dataActions] = line.split('|').slice(1, -1).map((cell) => cell.trim());
        const list = (cell: string | undefined) => [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1]);
        return { name, actions: list(actions), dataActions: list(dataActions) };
      });
    const roles = readJson('infra/modules/roles.json');
    const defined = resourcesOf(roles)
      .filter((r: Json) => r.type === 'Microsoft.Authorization/roleDefinitions')
      .map((r: Json) => ({
        name: /format\('([^'(]+?)\s*\(/.exec(r.properties.roleName)![1],
        actions: r.properties.permissions[0].actions,
        dataActions: r.properties.permissions[0].dataActions,
      }));
    expect(documented).toEqual(defined);
    expect(defined.map((role: Json) => role.name)).toEqual([
      'Sovereign MCP Reader',
      'Sovereign MCP Key Reader',
      'Sovereign MCP Operator',
      'Sovereign MCP Key Operator',
      'Sovereign MCP Identity Assigner',
      'Sovereign MCP Delete',
      'Sovereign MCP Group Writer',
      'Sovereign MCP Platform',
      'Sovereign MCP Catalogue Signer',
    ]);
  });
});

describe('Entra app registration', () => {
  it("emits only the groups assigned to the application, so scoped authority's groups fit in the token", () => {
    expect(readJson('infra/entra/app-manifest.json').groupMembershipClaims).toBe('ApplicationGroup');
  });

  it('merges the manifest with the current registration, keeping redirect URIs, pre-authorised apps and identifier URIs', async () => {
    const { mergeApp } = await import(pathToFileURL(resolve('infra/entra/merge-app.mjs')).href);
    const manifest = readJson('infra/entra/app-manifest.json');
    const scope = manifest.api.oauth2PermissionScopes[0].id;
    const current = {
      appId: '11111111-2222-4333-8444-555555555555',
      identifierUris: ['api://11111111-2222-4333-8444-555555555555', 'https://mcp.example.gov.uk'],
      web: {
        homePageUrl: 'https://mcp.example.gov.uk',
        redirectUris: ['https://func-a.azurewebsites.net/.auth/login/aad/callback'],
        implicitGrantSettings: { enableIdTokenIssuance: false, enableAccessTokenIssuance: true },
      },
      api: {
        requestedAccessTokenVersion: 1,
        knownClientApplications: ['aebc6443-996d-45c2-90f0-388ff96faa56'],
        oauth2PermissionScopes: manifest.api.oauth2PermissionScopes,
        preAuthorizedApplications: [{ appId: 'aebc6443-996d-45c2-90f0-388ff96faa56', delegatedPermissionIds: [scope] }],
      },
      optionalClaims: { idToken: [{ name: 'email', essential: false }], accessToken: [], saml2Token: [] },
    };
    const body = mergeApp(manifest, current, { redirectUris: ['https://apim-a.azure-api.net/.auth/login/aad/callback', 'https://func-a.azurewebsites.net/.auth/login/aad/callback'] });
    expect(body.web.redirectUris).toEqual(['https://func-a.azurewebsites.net/.auth/login/aad/callback', 'https://apim-a.azure-api.net/.auth/login/aad/callback']);
    expect(body.web.homePageUrl).toBe('https://mcp.example.gov.uk');
    expect(body.web.implicitGrantSettings).toEqual(manifest.web.implicitGrantSettings);
    expect(body.api.preAuthorizedApplications).toEqual(current.api.preAuthorizedApplications);
    expect(body.api.knownClientApplications).toEqual(current.api.knownClientApplications);
    expect(body.api.requestedAccessTokenVersion).toBe(2);
    expect(body.identifierUris).toEqual(current.identifierUris);
    expect(body.appRoles).toEqual(manifest.appRoles);
    expect(body.optionalClaims.idToken.map((claim: Json) => claim.name).sort()).toEqual(['auth_time', 'email', 'preferred_username']);
    // A new registration: the manifest, api://<client id>, nothing else.
    const fresh = mergeApp(manifest, { appId: current.appId }, {});
    expect(fresh.identifierUris).toEqual([`api://${current.appId}`]);
    expect(fresh.web.redirectUris).toEqual([]);
    expect(fresh.api.preAuthorizedApplications).toEqual([]);
  });

  it('runs the merge from the command line, as register-app.sh does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'entra-'));
    try {
      const currentFile = join(dir, 'current.json');
      writeFileSync(currentFile, JSON.stringify({ appId: 'a', web: { redirectUris: ['https://x/.auth/login/aad/callback'] }, api: { preAuthorizedApplications: [{ appId: 'vscode', delegatedPermissionIds: ['s'] }] } }));
      const run = spawnSync(process.execPath, ['infra/entra/merge-app.mjs', 'infra/entra/app-manifest.json', currentFile, '--redirect-uri', 'https://y/.auth/login/aad/callback', '--identifier-uri', 'https://mcp.example.gov.uk'], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      const body = JSON.parse(run.stdout);
      expect(body.web.redirectUris).toEqual(['https://x/.auth/login/aad/callback', 'https://y/.auth/login/aad/callback']);
      expect(body.api.preAuthorizedApplications).toEqual([{ appId: 'vscode', delegatedPermissionIds: ['s'] }]);
      expect(body.identifierUris).toEqual(['api://a', 'https://mcp.example.gov.uk']);
      expect(readFileSync('infra/entra/register-app.sh', 'utf8')).toContain('merge-app.mjs');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const manifest = readJson('infra/entra/app-manifest.json');

  it('defines exactly the app roles the app checks, Mcp.Approver for people only', () => {
    const roles: Json[] = manifest.appRoles;
    expect(roles.map((role) => role.value).sort()).toEqual(Object.values(ROLES).sort());
    expect(roles.find((role) => role.value === ROLES.approver).allowedMemberTypes).toEqual(['User']);
    for (const role of roles) {
      expect(role.isEnabled).toBe(true);
      expect(role.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(role.allowedMemberTypes.every((type: string) => type === 'User' || type === 'Application')).toBe(true);
    }
    expect(new Set(roles.map((role) => role.id)).size).toBe(roles.length);
  });

  it('exposes Mcp.Access, issues v2 tokens and puts auth_time in ID tokens', () => {
    expect(manifest.api.requestedAccessTokenVersion).toBe(2);
    expect(manifest.api.oauth2PermissionScopes.map((scope: Json) => scope.value)).toEqual(['Mcp.Access']);
    expect(main.parameters.authScopes.defaultValue).toEqual(['Mcp.Access']);
    expect(manifest.optionalClaims.idToken.map((claim: Json) => claim.name)).toContain('auth_time');
    expect(manifest.web.implicitGrantSettings).toEqual({ enableIdTokenIssuance: true, enableAccessTokenIssuance: false });
    expect(manifest.signInAudience).toBe('AzureADMyOrg');
  });

  it('lists the app role ids in infra/README.md as the manifest has them', () => {
    const readme = readFileSync('infra/README.md', 'utf8');
    for (const role of manifest.appRoles) {
      const label = role.value.replace('Mcp.', '');
      expect(readme).toContain(`${label} \`${role.id}\``);
    }
  });

  it('has a register script that is valid bash, strict, and answers --help without Azure', () => {
    const script = 'infra/entra/register-app.sh';
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
    expect(readFileSync(script, 'utf8')).toMatch(/^#!\/usr\/bin\/env bash\n(#.*\n)*set -euo pipefail$/m);
    const help = spawnSync('bash', [script, '--help'], { encoding: 'utf8', env: { ...process.env, PATH: '/usr/bin:/bin' } });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: infra/entra/register-app.sh');
    const wrong = spawnSync('bash', [script, '--no-such-option'], { encoding: 'utf8' });
    expect(wrong.status).toBe(2);
    const bad = spawnSync('bash', [script, '--app-id', 'not-a-guid'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--app-id must be a client id (GUID)');
    const federated = spawnSync('bash', [script, '--federated-identity', 'my-identity'], { encoding: 'utf8' });
    expect(federated.status).toBe(1);
    expect(federated.stderr).toContain("--federated-identity must be the managed identity's principal (object) id, a GUID");
    expect(help.stdout).toContain('--auth-contexts');
  });
});
