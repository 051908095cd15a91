// Key Vault secrets data plane (7.x wire shapes): set (a new version), get (latest or a version), list versions,
// update a version's attributes. The app reads its audit HMAC key here; a rotation is a new version.
import type { Call, TwinContext } from './context.js';
import { HttpError, readJson, sendJson } from './http.js';
import type { SecretVersion, Tags, VaultData, VaultSecret } from './model.js';
import { page } from './paging.js';
import { newKeyVersionId } from './seed.js';

const RECOVERABLE_DAYS = 90;
const DEFAULT_MAX_RESULTS = 25;

function secretId(vaultUrl: string, name: string, version?: string): string {
  return `${vaultUrl}secrets/${name}${version ? `/${version}` : ''}`;
}

function attributes(v: SecretVersion): Record<string, unknown> {
  return { enabled: v.enabled, created: v.created, updated: v.updated, recoveryLevel: 'Recoverable', recoverableDays: RECOVERABLE_DAYS };
}

/** Metadata only: list answers never carry a value, as in Azure. */
function item(vaultUrl: string, secret: VaultSecret, v: SecretVersion): Record<string, unknown> {
  return {
    id: secretId(vaultUrl, secret.name, v.version),
    attributes: attributes(v),
    tags: v.tags,
    ...(v.contentType !== undefined && { contentType: v.contentType }),
  };
}

function notFound(name: string, version?: string): HttpError {
  return new HttpError(404, 'SecretNotFound', `A secret with (name/id) ${version ? `${name}/${version}` : name} was not found in this key vault.`);
}

function findVersion(vault: VaultData, name: string, version: string): { secret: VaultSecret; v: SecretVersion } {
  const secret = vault.secrets?.[name];
  if (!secret) throw notFound(name);
  const v = version ? secret.versions.find((x) => x.version === version) : secret.versions.at(-1);
  if (!v) throw notFound(name, version);
  return { secret, v };
}

async function setSecret(ctx: TwinContext, vault: VaultData, vaultUrl: string, call: Call, name: string): Promise<void> {
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(name))
    throw new HttpError(400, 'BadParameter', `The secret name '${name}' is invalid: use 1-127 letters, digits and dashes.`);
  const body = await readJson(call.req);
  if (typeof body['value'] !== 'string') throw new HttpError(400, 'BadParameter', 'The secret value is required (a string).');
  const attrs = (body['attributes'] ?? {}) as { enabled?: unknown };
  const now = Math.floor(Date.now() / 1000);
  const v: SecretVersion = {
    version: newKeyVersionId(),
    value: body['value'],
    ...(typeof body['contentType'] === 'string' && { contentType: body['contentType'] }),
    enabled: typeof attrs.enabled === 'boolean' ? attrs.enabled : true,
    created: now,
    updated: now,
    tags: (typeof body['tags'] === 'object' && body['tags'] !== null ? body['tags'] : {}) as Tags,
  };
  vault.secrets ??= {};
  const secret = (vault.secrets[name] ??= { name, versions: [] });
  secret.versions.push(v);
  ctx.state.save();
  sendJson(call.res, 200, { value: v.value, ...item(vaultUrl, secret, v) }, call.headers);
}

export async function handleSecrets(ctx: TwinContext, vault: VaultData, vaultUrl: string, call: Call, segs: string[]): Promise<void> {
  const [, name, sub] = segs;
  const m = call.method;
  if (name === undefined || name === '' || segs.length > 3) throw new HttpError(400, 'BadParameter', `The sandbox vault does not support ${m} ${call.path}.`);
  if (segs.length === 2 && m === 'PUT') return setSecret(ctx, vault, vaultUrl, call, name);
  if (sub === 'versions' && m === 'GET') {
    const secret = vault.secrets?.[name];
    if (!secret) throw notFound(name);
    let body;
    try {
      body = page(
        secret.versions.map((v) => item(vaultUrl, secret, v)),
        call.url,
        DEFAULT_MAX_RESULTS,
        'maxresults',
      );
    } catch (e) {
      throw new HttpError(400, 'BadParameter', `The $skiptoken is not valid: ${(e as Error).message}.`);
    }
    return sendJson(call.res, 200, body, call.headers);
  }
  if (m === 'GET') {
    const { secret, v } = findVersion(vault, name, sub ?? '');
    if (!v.enabled) throw new HttpError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.');
    return sendJson(call.res, 200, { value: v.value, ...item(vaultUrl, secret, v) }, call.headers);
  }
  if (m === 'PATCH') {
    const { secret, v } = findVersion(vault, name, sub ?? '');
    const body = await readJson(call.req);
    const attrs = (body['attributes'] ?? {}) as { enabled?: unknown };
    if (typeof attrs.enabled === 'boolean') v.enabled = attrs.enabled;
    if (typeof body['tags'] === 'object' && body['tags'] !== null) v.tags = body['tags'] as Tags;
    v.updated = Math.floor(Date.now() / 1000);
    ctx.state.save();
    return sendJson(call.res, 200, item(vaultUrl, secret, v), call.headers);
  }
  throw new HttpError(400, 'BadParameter', `The sandbox vault does not support ${m} ${call.path}.`);
}
