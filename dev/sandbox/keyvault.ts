// Key Vault keys data plane (7.x wire shapes) for one vault, served at the root of its own origin (secrets: keyvault-secrets.ts).
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { Call, TwinContext } from './context.js';
import { HttpError, bearerToken, readJson, sendJson } from './http.js';
import { handleSecrets } from './keyvault-secrets.js';
import { signDigest, verifyDigest } from './keyvault-sign.js';
import { verifyToken } from './issuer.js';
import type { DeletedKey, KeyVersion, LifetimeAction, RotationPolicy, Tags, VaultData, VaultKey } from './model.js';
import { page } from './paging.js';
import { DEFAULT_KEY_OPS, newKeyVersionId } from './seed.js';
import { createdPublicKey } from './created-keys.js';

const VAULT_AUDIENCES = ['https://vault.azure.net', 'https://vault.azure.net/'];
const DEFAULT_MAX_RESULTS = 25;
const RECOVERABLE_DAYS = 90;
const generateRsa = promisify(generateKeyPair);

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Parses the ISO 8601 durations Key Vault policies use (PnY, PnM, PnD) into seconds. */
function durationSeconds(iso: string): number | undefined {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$/.exec(iso);
  if (!m || iso === 'P') return undefined;
  const [, y = '0', mo = '0', d = '0'] = m;
  return (Number(y) * 365 + Number(mo) * 30 + Number(d)) * 86400;
}

// ---- rendering

function kid(vaultUrl: string, name: string, version?: string): string {
  return `${vaultUrl}keys/${name}${version ? `/${version}` : ''}`;
}

function attributes(v: KeyVersion): Record<string, unknown> {
  return {
    enabled: v.enabled,
    created: v.created,
    updated: v.updated,
    ...(v.exp !== undefined && { exp: v.exp }),
    ...(v.nbf !== undefined && { nbf: v.nbf }),
    recoveryLevel: 'Recoverable',
    recoverableDays: RECOVERABLE_DAYS,
    exportable: false,
  };
}

/** The public key only: `d`, `p`, `q` and friends are never stored, so they can never be returned. */
function bundle(vaultUrl: string, key: VaultKey, v: KeyVersion): Record<string, unknown> {
  return {
    key: { kid: kid(vaultUrl, key.name, v.version), kty: v.kty, key_ops: v.keyOps, n: v.n, e: v.e },
    attributes: attributes(v),
    tags: v.tags,
  };
}

function latest(key: VaultKey): KeyVersion {
  const v = key.versions.at(-1);
  if (!v) throw new Error(`key ${key.name} has no versions`);
  return v;
}

function renderPolicy(vaultUrl: string, key: VaultKey): Record<string, unknown> {
  const p = key.rotationPolicy;
  if (!p) {
    // A key that never had a policy reports the service default: notify 30 days before expiry, no rotation.
    return {
      id: `${vaultUrl}keys/${key.name}/rotationpolicy`,
      lifetimeActions: [{ trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'Notify' } }],
      attributes: {},
    };
  }
  return {
    id: `${vaultUrl}keys/${key.name}/rotationpolicy`,
    lifetimeActions: p.lifetimeActions,
    attributes: { ...(p.expiryTime !== undefined && { expiryTime: p.expiryTime }), created: p.created, updated: p.updated },
  };
}

// ---- errors and lookups

function keyNotFound(name: string, version?: string): HttpError {
  return new HttpError(
    404,
    'KeyNotFound',
    version
      ? `A key with (name/id) ${name}/${version} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`
      : `A key with (name/id) ${name} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
}

function findKey(vault: VaultData, name: string): VaultKey {
  const key = vault.keys[name];
  if (!key) throw keyNotFound(name);
  return key;
}

function findVersion(key: VaultKey, version: string): KeyVersion {
  const v = version ? key.versions.find((x) => x.version === version) : latest(key);
  if (!v) throw keyNotFound(key.name, version);
  return v;
}

// ---- mutations

async function newVersion(
  key: VaultKey | undefined,
  name: string,
  opts: { bits: number; keyOps: string[]; tags: Tags; enabled: boolean; exp?: number; nbf?: number; keepPrivate?: boolean },
): Promise<KeyVersion> {
  // A committed key of the size when the twin keeps no private half (dev/sandbox/created-keys.ts); else a new pair.
  const pooled = opts.keepPrivate ? undefined : createdPublicKey(opts.bits);
  const generated = pooled ? undefined : await generateRsa('rsa', { modulusLength: opts.bits });
  const jwk = pooled ?? generated!.publicKey.export({ format: 'jwk' });
  if (!jwk.n || !jwk.e) throw new Error(`RSA key export for ${name} lacked n/e`);
  const created = nowSeconds();
  const policyExpiry = key?.rotationPolicy?.expiryTime ? durationSeconds(key.rotationPolicy.expiryTime) : undefined;
  const exp = opts.exp ?? (policyExpiry !== undefined ? created + policyExpiry : undefined);
  return {
    version: newKeyVersionId(),
    kty: 'RSA',
    keySize: opts.bits,
    n: jwk.n,
    e: jwk.e,
    // A signing key rotated in the twin can still sign (see KeyVersion.privateKeyPem); any other key's is dropped here.
    ...(opts.keepPrivate && generated && { privateKeyPem: generated.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }),
    keyOps: opts.keyOps,
    enabled: opts.enabled,
    created,
    updated: created,
    ...(exp !== undefined && { exp }),
    ...(opts.nbf !== undefined && { nbf: opts.nbf }),
    tags: opts.tags,
  };
}

function asTags(v: unknown): Tags | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Tags) : undefined;
}

function asAttributes(v: unknown): { enabled?: boolean; exp?: number; nbf?: number } {
  if (typeof v !== 'object' || v === null) return {};
  const a = v as Record<string, unknown>;
  return {
    ...(typeof a['enabled'] === 'boolean' && { enabled: a['enabled'] }),
    ...(typeof a['exp'] === 'number' && { exp: a['exp'] }),
    ...(typeof a['nbf'] === 'number' && { nbf: a['nbf'] }),
  };
}

async function createKey(ctx: TwinContext, vault: VaultData, vaultUrl: string, call: Call, name: string): Promise<void> {
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(name)) throw new HttpError(400, 'BadParameter', `The key name '${name}' is invalid: use 1-127 letters, digits and dashes.`);
  if (vault.deletedKeys[name])
    throw new HttpError(
      409,
      'Conflict',
      `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`,
    );
  const body = await readJson(call.req);
  const kty = typeof body['kty'] === 'string' ? body['kty'] : '';
  if (kty !== 'RSA' && kty !== 'RSA-HSM') throw new HttpError(400, 'BadParameter', `The sandbox vault only creates RSA keys; got kty '${kty}'.`);
  const bits = body['key_size'] === undefined ? 2048 : Number(body['key_size']);
  if (![2048, 3072, 4096].includes(bits)) throw new HttpError(400, 'BadParameter', `key_size must be 2048, 3072 or 4096; got ${String(body['key_size'])}.`);
  const attrs = asAttributes(body['attributes']);
  const existing = vault.keys[name];
  const v = await newVersion(existing, name, {
    bits,
    keyOps: Array.isArray(body['key_ops']) ? (body['key_ops'] as string[]) : DEFAULT_KEY_OPS,
    tags: asTags(body['tags']) ?? {},
    enabled: attrs.enabled ?? true,
    ...(attrs.exp !== undefined && { exp: attrs.exp }),
    ...(attrs.nbf !== undefined && { nbf: attrs.nbf }),
  });
  const key: VaultKey = existing ?? { name, versions: [] };
  key.versions.push(v);
  vault.keys[name] = key;
  ctx.state.save();
  sendJson(call.res, 200, bundle(vaultUrl, key, v), call.headers);
}

async function rotateKey(ctx: TwinContext, vault: VaultData, vaultUrl: string, call: Call, name: string): Promise<void> {
  const key = findKey(vault, name);
  const current = latest(key);
  const v = await newVersion(key, name, {
    bits: current.keySize,
    keyOps: current.keyOps,
    tags: current.tags,
    enabled: true,
    keepPrivate: current.privateKeyPem !== undefined,
  });
  key.versions.push(v);
  ctx.state.save();
  sendJson(call.res, 200, bundle(vaultUrl, key, v), call.headers);
}

async function updateKey(ctx: TwinContext, vault: VaultData, vaultUrl: string, call: Call, name: string, version: string): Promise<void> {
  const key = findKey(vault, name);
  const v = findVersion(key, version);
  const body = await readJson(call.req);
  Object.assign(v, asAttributes(body['attributes']));
  const tags = asTags(body['tags']);
  if (tags) v.tags = tags;
  if (Array.isArray(body['key_ops'])) v.keyOps = body['key_ops'] as string[];
  v.updated = nowSeconds();
  ctx.state.save();
  sendJson(call.res, 200, bundle(vaultUrl, key, v), call.headers);
}

async function putPolicy(ctx: TwinContext, vault: VaultData, vaultUrl: string, call: Call, name: string): Promise<void> {
  const key = findKey(vault, name);
  const body = await readJson(call.req);
  const actions = Array.isArray(body['lifetimeActions']) ? (body['lifetimeActions'] as LifetimeAction[]) : [];
  for (const a of actions) {
    const t = a?.trigger?.timeAfterCreate ?? a?.trigger?.timeBeforeExpiry;
    if (!t || durationSeconds(t) === undefined)
      throw new HttpError(
        400,
        'BadParameter',
        'Each lifetime action needs a trigger with timeAfterCreate or timeBeforeExpiry as an ISO 8601 duration (e.g. P90D).',
      );
    const type = String(a.action?.type ?? '').toLowerCase();
    if (type !== 'rotate' && type !== 'notify')
      throw new HttpError(400, 'BadParameter', `Lifetime action type must be Rotate or Notify; got '${String(a.action?.type)}'.`);
    a.action = { type: type === 'rotate' ? 'Rotate' : 'Notify' };
  }
  const expiryTime = (body['attributes'] as { expiryTime?: unknown } | undefined)?.expiryTime;
  if (expiryTime !== undefined && (typeof expiryTime !== 'string' || durationSeconds(expiryTime) === undefined)) {
    throw new HttpError(400, 'BadParameter', 'attributes.expiryTime must be an ISO 8601 duration such as P1Y or P90D.');
  }
  const now = nowSeconds();
  const policy: RotationPolicy = {
    lifetimeActions: actions,
    ...(expiryTime !== undefined && { expiryTime }),
    created: key.rotationPolicy?.created ?? now,
    updated: now,
  };
  key.rotationPolicy = policy;
  ctx.state.save();
  sendJson(call.res, 200, renderPolicy(vaultUrl, key), call.headers);
}

function deletedBundle(vaultUrl: string, d: DeletedKey): Record<string, unknown> {
  return {
    ...bundle(vaultUrl, d, latest(d)),
    recoveryId: `${vaultUrl}deletedkeys/${d.name}`,
    deletedDate: d.deletedDate,
    scheduledPurgeDate: d.scheduledPurgeDate,
  };
}

function deleteKey(ctx: TwinContext, vault: VaultData, vaultUrl: string, call: Call, name: string): void {
  const key = findKey(vault, name);
  const deletedDate = nowSeconds();
  const deleted: DeletedKey = { ...key, deletedDate, scheduledPurgeDate: deletedDate + RECOVERABLE_DAYS * 86400 };
  delete vault.keys[name];
  vault.deletedKeys[name] = deleted;
  ctx.state.save();
  sendJson(call.res, 200, deletedBundle(vaultUrl, deleted), call.headers);
}

// ---- auth and routing

async function authenticate(ctx: TwinContext, call: Call): Promise<void> {
  const challenge = {
    'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${ctx.tenantId}", resource="https://vault.azure.net"`,
  };
  const token = bearerToken(call.req);
  if (!token) throw new HttpError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.', challenge);
  try {
    const payload = await verifyToken(await ctx.issuerKeys.published(), token, VAULT_AUDIENCES);
    if (payload['tid'] !== ctx.tenantId) throw new Error('tenant');
  } catch {
    throw new HttpError(
      401,
      'Unauthorized',
      `AKV10022: Invalid audience, issuer, tenant or signature. The token must be issued by the sandbox for audience '${VAULT_AUDIENCES[0]}' in tenant '${ctx.tenantId}'.`,
      challenge,
    );
  }
}

export function createVaultHandler(ctx: TwinContext, vaultName: string): (call: Call) => Promise<void> {
  return async (call) => {
    const vaultUrl = ctx.vaultUrls[vaultName] as string;
    call.headers['x-ms-keyvault-service-version'] = '1.9.2000.1';
    call.headers['x-ms-keyvault-region'] = 'uksouth';
    await authenticate(ctx, call);
    if (!call.query.get('api-version')) throw new HttpError(400, 'BadParameter', 'The api-version query parameter is required.');
    const vault = ctx.state.vault(vaultName);
    if (!vault) throw new HttpError(404, 'VaultNotFound', `Vault ${vaultName} no longer exists in the sandbox state.`);
    const segs = call.path.split('/').slice(1);
    const [collection, name, sub] = segs;
    const m = call.method;
    const listed = (items: unknown[]): void => {
      let body;
      try {
        body = page(items, call.url, DEFAULT_MAX_RESULTS, 'maxresults');
      } catch (e) {
        throw new HttpError(400, 'BadParameter', `The $skiptoken is not valid: ${(e as Error).message}.`);
      }
      sendJson(call.res, 200, body, call.headers);
    };

    if (collection === 'secrets') return handleSecrets(ctx, vault, vaultUrl, call, segs);
    if (collection === 'keys' && segs.length === 1 && m === 'GET') {
      return listed(Object.values(vault.keys).map((k) => ({ kid: kid(vaultUrl, k.name), attributes: attributes(latest(k)), tags: latest(k).tags })));
    }
    if (collection === 'keys' && name !== undefined && segs.length === 4 && m === 'POST' && (segs[3] === 'sign' || segs[3] === 'verify')) {
      const key = findKey(vault, name);
      const version = findVersion(key, sub ?? '');
      return segs[3] === 'sign' ? signDigest(call, kid(vaultUrl, key.name, version.version), version) : verifyDigest(call, version);
    }
    if (collection === 'keys' && name !== undefined && segs.length <= 3) {
      if (segs.length === 2 && m === 'DELETE') return deleteKey(ctx, vault, vaultUrl, call, name);
      if (sub === 'versions' && m === 'GET') {
        const key = findKey(vault, name);
        return listed(key.versions.map((v) => ({ kid: kid(vaultUrl, key.name, v.version), attributes: attributes(v), tags: v.tags })));
      }
      if (sub === 'create' && m === 'POST') return createKey(ctx, vault, vaultUrl, call, name);
      if (sub === 'rotate' && m === 'POST') return rotateKey(ctx, vault, vaultUrl, call, name);
      if (sub === 'rotationpolicy' && m === 'GET') return sendJson(call.res, 200, renderPolicy(vaultUrl, findKey(vault, name)), call.headers);
      if (sub === 'rotationpolicy' && m === 'PUT') return putPolicy(ctx, vault, vaultUrl, call, name);
      if (m === 'GET') {
        const key = findKey(vault, name);
        return sendJson(call.res, 200, bundle(vaultUrl, key, findVersion(key, sub ?? '')), call.headers);
      }
      if (m === 'PATCH') return updateKey(ctx, vault, vaultUrl, call, name, sub ?? '');
    }
    if (collection === 'deletedkeys' && m === 'GET') {
      if (segs.length === 1) {
        return listed(
          Object.values(vault.deletedKeys).map((d) => ({
            kid: kid(vaultUrl, d.name),
            attributes: attributes(latest(d)),
            tags: latest(d).tags,
            recoveryId: `${vaultUrl}deletedkeys/${d.name}`,
            deletedDate: d.deletedDate,
            scheduledPurgeDate: d.scheduledPurgeDate,
          })),
        );
      }
      if (segs.length === 2 && name !== undefined) {
        const d = vault.deletedKeys[name];
        if (!d) throw new HttpError(404, 'KeyNotFound', `Deleted Key not found: ${name}`);
        return sendJson(call.res, 200, deletedBundle(vaultUrl, d), call.headers);
      }
    }
    throw new HttpError(400, 'BadParameter', `The sandbox vault does not support ${m} ${call.path}.`);
  };
}
