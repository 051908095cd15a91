import type { RiskTier } from '../domain/risk-tier.js';

/** Entra's authentication context ids: c1 to c99. */
// linear: anchored, at most three characters after the c.
export const AUTH_CONTEXT_ID = /^c[1-9][0-9]?$/;

/** The department policy's `stepUp`: the context each tier, and deciding an approval, demands. */
export interface StepUpPolicy {
  write?: string | undefined;
  destructive?: string | undefined;
  approve?: string | undefined;
}

/** The audit rule of a refusal for want of a stronger sign-in. */
export const STEP_UP_RULE = 'auth.step-up-required';

/** The authentication context the department policy demands for a tool of this tier (reads never step up). */
export function requiredContext(stepUp: StepUpPolicy, risk: RiskTier): string | undefined {
  return risk === 'read' ? undefined : stepUp[risk];
}

/**
 * An OpenID Connect claims request for a token that carries `context` in its `acrs` claim, base64-encoded as Entra's
 * claims challenge carries it (and as MSAL's `claims` option and the authorize endpoint's `claims` parameter take it
 * once decoded).
 */
export function claimsRequest(token: 'access_token' | 'id_token', context: string): string {
  return JSON.stringify({ [token]: { acrs: { essential: true, value: context } } });
}

/** Entra's authorize endpoint for an issuer: `{authority}/v2.0` → `{authority}/oauth2/v2.0/authorize`. */
export function authorizeEndpoint(issuer: string): string {
  // linear: anchored at the end, fixed text with one optional character.
  return issuer.replace(/\/v2\.0\/?$/, '/oauth2/v2.0/authorize');
}

/**
 * The claims challenge (Entra's format: 401, `error="insufficient_claims"`, the claims request in base64), with the
 * protected-resource metadata an MCP client re-authorises from.
 */
export function stepUpChallenge(options: { issuer: string; metadataUrl: string; context: string; description: string }): string {
  const claims = Buffer.from(claimsRequest('access_token', options.context)).toString('base64');
  // linear: one character class, no quantifier: one step per character.
  const description = options.description.replace(/["\\]/g, '');
  return (
    `Bearer realm="", authorization_uri="${authorizeEndpoint(options.issuer)}", resource_metadata="${options.metadataUrl}", ` +
    `error="insufficient_claims", claims="${claims}", error_description="${description}"`
  );
}

/** What the caller is told: which context, for what, and how to get it. */
export function stepUpMessage(tool: string, risk: RiskTier, context: string): string {
  return (
    `${tool} is a ${risk} tool: the department requires a sign-in that satisfies the Conditional Access authentication ` +
    `context '${context}' (the token's acrs claim). Sign in again with the claims request in the WWW-Authenticate ` +
    `header (MSAL: pass it as claims) and retry with the new token.`
  );
}
