import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../shared/auth/authenticate.js';
import { GUID } from '../shared/domain/caller.js';
import { AUTH_CONTEXT_ID } from '../shared/auth/step-up.js';
import { ROLES } from '../shared/auth/roles.js';
import { loadOrCreateIssuerKey, mintToken } from './sandbox/issuer.js';
import { sandboxIssuer } from './sandbox/discovery.js';
import { TENANT_ID } from './sandbox/seed.js';
import { runtimeFile, type RuntimeInfo } from './runtime-file.js';
import { DEV_USER, SANDBOX_AUDIENCE, SANDBOX_DIR, SANDBOX_PORTS, SANDBOX_SCOPE } from './sandbox-settings.js';

/**
 * `npm run --silent token -- --roles Mcp.Reader[,Mcp.Operator,...] [--oid ID] [--name NAME] [--ttl SECONDS] [--acrs c1[,c2]] [--groups ID[,ID]]`
 * prints one bearer token signed by the sandbox issuer (the one `npm start` serves), and nothing else.
 */
const usage =
  'usage: npm run --silent token -- --roles Mcp.Reader[,Mcp.Operator,Mcp.Approver] [--oid ID] [--name NAME] [--ttl SECONDS] [--acrs c1[,c2]] [--groups ID[,ID]]\n' +
  '  --acrs: the Conditional Access authentication contexts the sign-in satisfied (a step-up the department policy demands)\n' +
  "  --groups: Entra group object ids for the token's groups claim (the department policy's scoped authority)";
let values;
try {
  ({ values } = parseArgs({
    options: {
      roles: { type: 'string', default: ROLES.reader },
      oid: { type: 'string', default: DEV_USER.oid },
      name: { type: 'string', default: DEV_USER.name },
      ttl: { type: 'string', default: '3600' },
      acrs: { type: 'string', default: '' },
      groups: { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}

const known = Object.values(ROLES) as string[];
const roles = values.roles
  .split(',')
  .map((role) => role.trim())
  .filter(Boolean);
const unknown = roles.filter((role) => !known.includes(role));
const ttlSeconds = Number(values.ttl);
if (unknown.length > 0) {
  console.error(`Unknown role ${unknown.join(', ')}: roles are ${known.join(', ')}.\n${usage}`);
  process.exit(2);
}
const authContexts = values.acrs
  .split(',')
  .map((value) => value.trim())
  .filter(Boolean);
const badContext = authContexts.find((value) => !AUTH_CONTEXT_ID.test(value));
if (badContext !== undefined) {
  console.error(`--acrs takes authentication context ids c1 to c99 (comma-separated); '${badContext}' is not one.\n${usage}`);
  process.exit(2);
}
const groups = values.groups
  .split(',')
  .map((value) => value.trim())
  .filter(Boolean);
const badGroup = groups.find((value) => !GUID.test(value));
if (badGroup !== undefined) {
  console.error(`--groups takes Entra group object ids (GUIDs), comma-separated; '${badGroup}' is not one.\n${usage}`);
  process.exit(2);
}
if (!GUID.test(values.oid)) {
  console.error(`--oid must be a GUID (an Entra object id), e.g. ${DEV_USER.oid}; the app refuses any other.\n${usage}`);
  process.exit(2);
}
if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > MAX_TOKEN_LIFETIME_SECONDS) {
  console.error(`--ttl must be whole seconds between 60 and ${MAX_TOKEN_LIFETIME_SECONDS} (24 hours, the longest Entra issues).\n${usage}`);
  process.exit(2);
}

// The running sandbox says which issuer it serves; without one, the issuer `npm start` will serve on its port.
// SANDBOX_RUNTIME_FILE and SANDBOX_DATA_DIR name another sandbox's, as for the other sandbox CLIs.
const runtimePath = process.env.SANDBOX_RUNTIME_FILE ?? runtimeFile();
const runtime: Partial<RuntimeInfo> = existsSync(runtimePath) ? (JSON.parse(readFileSync(runtimePath, 'utf8')) as Partial<RuntimeInfo>) : {};
const issuer = runtime.issuer ?? sandboxIssuer(`https://127.0.0.1:${SANDBOX_PORTS.arm}`, TENANT_ID);
const key = await loadOrCreateIssuerKey(process.env.SANDBOX_DATA_DIR ?? resolve(SANDBOX_DIR, 'data'));
console.log(
  await mintToken(key, {
    issuer,
    audience: runtime.audience ?? SANDBOX_AUDIENCE,
    tenantId: runtime.tenantId ?? TENANT_ID,
    oid: values.oid,
    name: values.name,
    roles,
    ttlSeconds,
    extra: { scp: SANDBOX_SCOPE, ...(authContexts.length > 0 ? { acrs: authContexts } : {}), ...(groups.length > 0 ? { groups } : {}) },
  }),
);
