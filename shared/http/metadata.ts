import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { App } from '../app.js';
import { CatalogueSigningError } from '../mcp/catalogue-signer.js';
import { SERVER_INFO } from '../mcp/server-factory.js';
import { authenticateRequest, checkHostAndOrigin, publicOrigin, resourceMetadataUrl } from './edge.js';
import { packageDigest } from './package-digest.js';
import { jsonResponse } from './responses.js';
import { withoutTrailingSlashes } from '../text/trailing-slashes.js';
import { noteDenial } from '../audit/audit-writer.js';

/**
 * RFC 9728 protected-resource metadata: tells MCP clients which authorization server issues tokens for us and
 * which scopes to ask for. Served for the bare path and the `/mcp`-suffixed path.
 */
export function protectedResourceMetadata(app: App, request: HttpRequest): HttpResponseInit {
  const refusal = checkHostAndOrigin(request, app.settings);
  if (refusal) return jsonResponse(refusal.status, { error: 'forbidden', error_description: refusal.message });
  const origin = publicOrigin(request, app.settings);
  const { audience, issuer, scopes } = app.settings.auth;
  const scopePrefix = audience.includes('://') ? `${withoutTrailingSlashes(audience)}/` : `api://${audience}/`;
  return jsonResponse(200, {
    resource: `${origin}/mcp`,
    authorization_servers: [issuer],
    scopes_supported: scopes.map((scope) => `${scopePrefix}${scope}`),
    bearer_methods_supported: ['header'],
    resource_name: SERVER_INFO.title,
  });
}

/**
 * Liveness only: no dependency checks, no configuration details but the emergency mode (what the app will do now)
 * and which built package is running.
 */
export function health(app: App): HttpResponseInit {
  return jsonResponse(200, {
    status: 'ok',
    mode: app.settings.emergencyMode,
    name: SERVER_INFO.name,
    version: SERVER_INFO.version,
    tools: app.catalogue.size,
    package: packageDigest(),
  });
}

/** The audit rule of a catalogue that could not be signed (and so was not served). */
export const CATALOGUE_UNSIGNED_RULE = 'catalogue.signing-unavailable';

/**
 * GET /tools/manifest: the tool catalogue signed with the department's Key Vault key (a flattened JWS), for a client
 * to verify against the key it pinned (any authenticated caller). Fails closed: while the catalogue cannot be signed
 * nothing is served in its place (503, audited as a denial under catalogue.signing-unavailable).
 */
export async function toolManifest(app: App, request: HttpRequest): Promise<HttpResponseInit> {
  const refusal = checkHostAndOrigin(request, app.settings);
  if (refusal) return jsonResponse(refusal.status, { error: 'forbidden', error_description: refusal.message });
  const auth = await authenticateRequest(request, app.authenticate, resourceMetadataUrl(request, app.settings, ''));
  if ('status' in auth) return jsonResponse(auth.status, { error: 'unauthenticated', error_description: auth.message }, auth.headers);
  try {
    return jsonResponse(200, await app.signedCatalogue());
  } catch (error) {
    const message =
      error instanceof CatalogueSigningError ? error.message : 'The tool catalogue cannot be signed now; until it is signed it is not served. Try again later.';
    app.log.error('The tool catalogue could not be signed', error instanceof CatalogueSigningError ? error.cause : error);
    noteDenial(CATALOGUE_UNSIGNED_RULE, message);
    return jsonResponse(503, { error: 'catalogue_unsigned', error_description: message }, { 'Retry-After': '30' });
  }
}
