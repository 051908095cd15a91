#!/usr/bin/env node
// Builds the Microsoft Graph PATCH body that brings an app registration up to date with app-manifest.json without
// losing what was added to it since: Graph replaces a complex property (web, api, optionalClaims) as a whole, so a
// plain PATCH of the manifest would erase redirect URIs, pre-authorised client applications (VS Code, an agent) and
// anything else set later. Used by register-app.sh; plain Node, no dependencies.
//
// Usage: node merge-app.mjs MANIFEST CURRENT [--app-id ID] [--redirect-uri URI]... [--identifier-uri URI]...
//   MANIFEST  infra/entra/app-manifest.json
//   CURRENT   the registration as Graph returns it (GET /v1.0/applications/{object id}); "-" or a missing file: none
// Prints the merged body (JSON) on stdout.
//
// The manifest wins for every setting it names; from the current registration the body keeps the redirect URIs, the
// pre-authorised applications (their delegated permissions merged per application), known client applications,
// Application ID URIs, home page and logout URLs, optional claims the manifest does not name, and app roles and
// scopes the manifest does not define (Graph refuses to remove an enabled role or scope in one step anyway).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const unique = (items) => [...new Set(items.filter((item) => typeof item === 'string' && item !== ''))];
const byKey = (key, current = [], wanted = []) => [...wanted, ...current.filter((item) => !wanted.some((w) => w[key] === item[key]))];
const pick = (object, keys) => Object.fromEntries(keys.filter((key) => object?.[key] !== undefined && object[key] !== null).map((key) => [key, object[key]]));

export function mergeApp(manifest, current = {}, { appId = current.appId, redirectUris = [], identifierUris = [] } = {}) {
  const web = {
    ...pick(current.web, ['homePageUrl', 'logoutUrl']),
    ...manifest.web,
    redirectUris: unique([...(current.web?.redirectUris ?? []), ...(manifest.web?.redirectUris ?? []), ...redirectUris]),
  };
  const preAuthorized = new Map();
  for (const entry of [...(current.api?.preAuthorizedApplications ?? []), ...(manifest.api?.preAuthorizedApplications ?? [])]) {
    const known = preAuthorized.get(entry.appId) ?? [];
    preAuthorized.set(entry.appId, unique([...known, ...(entry.delegatedPermissionIds ?? [])]));
  }
  const api = {
    ...pick(current.api, ['acceptMappedClaims', 'knownClientApplications']),
    ...manifest.api,
    oauth2PermissionScopes: byKey('id', current.api?.oauth2PermissionScopes, manifest.api?.oauth2PermissionScopes),
    preAuthorizedApplications: [...preAuthorized].map(([id, delegatedPermissionIds]) => ({ appId: id, delegatedPermissionIds })),
  };
  const optionalClaims = {};
  for (const token of unique([...Object.keys(current.optionalClaims ?? {}), ...Object.keys(manifest.optionalClaims ?? {})])) {
    optionalClaims[token] = byKey('name', current.optionalClaims?.[token] ?? [], manifest.optionalClaims?.[token] ?? []);
  }
  return {
    ...manifest,
    identifierUris: unique([...(current.identifierUris ?? []), ...(appId ? [`api://${appId}`] : []), ...identifierUris]),
    appRoles: byKey('id', current.appRoles, manifest.appRoles),
    api,
    web,
    optionalClaims,
  };
}

function main(argv) {
  const [manifestPath, currentPath, ...rest] = argv;
  if (!manifestPath || !currentPath) {
    console.error('Usage: node merge-app.mjs MANIFEST CURRENT [--app-id ID] [--redirect-uri URI]... [--identifier-uri URI]...');
    process.exit(2);
  }
  const options = { redirectUris: [], identifierUris: [] };
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (value === undefined) {
      console.error(`merge-app.mjs: ${flag} needs a value`);
      process.exit(2);
    }
    if (flag === '--app-id') options.appId = value;
    else if (flag === '--redirect-uri') options.redirectUris.push(value);
    else if (flag === '--identifier-uri') options.identifierUris.push(value);
    else {
      console.error(`merge-app.mjs: unknown option ${flag}`);
      process.exit(2);
    }
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const current = currentPath !== '-' && existsSync(currentPath) ? JSON.parse(readFileSync(currentPath, 'utf8')) : {};
  process.stdout.write(`${JSON.stringify(mergeApp(manifest, current, options), null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
