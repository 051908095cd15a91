// Managed-identity token endpoint, shaped like App Service's (IDENTITY_ENDPOINT / IDENTITY_HEADER, api-version 2019-08-01).
import { type Call, type TwinContext, stsIssuer } from './context.js';
import { HttpError, sendJson } from './http.js';
import type { IssuerKey } from './issuer-keys.js';
import { loadOrCreateIssuerKey, mintToken } from './issuer.js';
import { IDENTITY_CLIENT_ID, IDENTITY_PRINCIPAL_ID, IDENTITY_RESOURCE_ID, TENANT_ID } from './seed.js';

const TTL_SECONDS = 3600;
/** The resource (audience) Azure Storage, and so Azurite's OAuth, expects. */
export const STORAGE_RESOURCE = 'https://storage.azure.com';

/** A token exactly as the managed-identity endpoint issues it to the seeded identity for `resource`. */
export async function mintIdentityToken(key: IssuerKey, resource: string): Promise<string> {
  return mintToken(key, {
    issuer: stsIssuer(TENANT_ID),
    audience: resource,
    tenantId: TENANT_ID,
    oid: IDENTITY_PRINCIPAL_ID,
    appid: IDENTITY_CLIENT_ID,
    azp: IDENTITY_CLIENT_ID,
    ttlSeconds: TTL_SECONDS,
    // Backdated a little, so a token minted now is valid for services whose clocks run slightly behind.
    notBeforeSeconds: -300,
    extra: { idtyp: 'app', xms_mirid: IDENTITY_RESOURCE_ID },
  });
}

/** For CLIs that only have the sandbox's data dir: the app identity's storage token, signed with the persisted current key. */
export async function mintStorageTokenFromDataDir(dataDir: string): Promise<string> {
  return mintIdentityToken(await loadOrCreateIssuerKey(dataDir), STORAGE_RESOURCE);
}

/** The resource (audience) Key Vault expects. */
export const VAULT_RESOURCE = 'https://vault.azure.net';

/** For CLIs that only have the sandbox's data dir: the app identity's Key Vault token (the audit CLI reads the audit key). */
export async function mintVaultTokenFromDataDir(dataDir: string): Promise<string> {
  return mintIdentityToken(await loadOrCreateIssuerKey(dataDir), VAULT_RESOURCE);
}

export async function handleIdentity(ctx: TwinContext, call: Call): Promise<void> {
  if (call.method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', 'The managed identity endpoint only accepts GET.');
  const secret = call.req.headers['x-identity-header'];
  if (secret === undefined) throw new HttpError(400, 'invalid_request', 'The X-IDENTITY-HEADER request header is missing.');
  if (secret !== ctx.identityHeader) throw new HttpError(401, 'unauthorized_client', 'The X-IDENTITY-HEADER value does not match IDENTITY_HEADER.');
  const rawResource = call.query.get('resource');
  if (!rawResource) throw new HttpError(400, 'invalid_request', "The 'resource' query parameter is required.");
  const clientId = call.query.get('client_id');
  if (clientId === null) {
    throw new HttpError(
      400,
      'invalid_request',
      `This app has only a user-assigned identity: pass client_id=${ctx.identityClientId} (ManagedIdentityCredential({ clientId })).`,
    );
  }
  if (clientId.toLowerCase() !== ctx.identityClientId.toLowerCase()) {
    throw new HttpError(
      400,
      'invalid_request',
      `No user-assigned identity with client_id '${clientId}' is assigned to this app; the sandbox identity's client id is ${ctx.identityClientId}.`,
    );
  }
  const resource = rawResource.replace(/\/\.default$/, '');
  // ctx's tenant and identity are the seeded ones (twin.ts), which mintIdentityToken uses directly.
  const token = await mintIdentityToken(await ctx.issuerKeys.current(), resource);
  sendJson(
    call.res,
    200,
    {
      access_token: token,
      expires_on: String(Math.floor(Date.now() / 1000) + TTL_SECONDS),
      resource,
      token_type: 'Bearer',
      client_id: ctx.identityClientId,
    },
    call.headers,
  );
}
