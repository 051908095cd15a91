import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { App } from '../app.js';
import { SERVER_INFO } from '../mcp/server-factory.js';
import { authenticateRequest, checkHostAndOrigin, publicOrigin, resourceMetadataUrl } from './edge.js';
import { packageDigest } from './package-digest.js';
import { jsonResponse } from './responses.js';
import { withoutTrailingSlashes } from '../text/trailing-slashes.js';

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

/** GET /tools/manifest: the hashed catalogue a client can pin (any authenticated caller). */
export async function toolManifest(app: App, request: HttpRequest): Promise<HttpResponseInit> {
  const refusal = checkHostAndOrigin(request, app.settings);
  if (refusal) return jsonResponse(refusal.status, { error: 'forbidden', error_description: refusal.message });
  const auth = await authenticateRequest(request, app.authenticate, resourceMetadataUrl(request, app.settings, ''));
  if ('status' in auth) return jsonResponse(auth.status, { error: 'unauthenticated', error_description: auth.message }, auth.headers);
  return jsonResponse(200, app.manifest);
}
