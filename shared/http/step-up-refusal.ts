import type { HttpRequest } from '@azure/functions';
import type { App } from '../app.js';
import type { Caller } from '../domain/caller.js';
import { STEP_UP_RULE, stepUpChallenge, stepUpMessage } from '../auth/step-up.js';
import { resourceMetadataUrl, type Refusal } from './edge.js';
import { noteDenial } from '../audit/audit-writer.js';

/** The `WWW-Authenticate` claims challenge for a call that needs the authentication context `context`. */
export function stepUpHeaders(app: App, request: HttpRequest, path: '/mcp' | '', context: string, message: string): Record<string, string> {
  const metadataUrl = resourceMetadataUrl(request, app.settings, path);
  return { 'www-authenticate': stepUpChallenge({ issuer: app.settings.auth.issuer, metadataUrl, context, description: message }) };
}

/**
 * POST /mcp: a tool call the caller may make but whose tier needs a stronger sign-in than the token shows is
 * answered at the HTTP level (401 with the claims challenge), where MCP clients and MSAL look for it, rather than
 * inside a tool result. Audited as a denial by the step-up rule; nothing runs.
 */
export function stepUpRefusal(app: App, request: HttpRequest, caller: Caller, toolName: string): Refusal | undefined {
  const missing = app.pipeline.missingStepUp(caller, toolName);
  if (!missing) return undefined;
  const message = stepUpMessage(missing.tool.name, missing.tool.risk, missing.context);
  noteDenial(STEP_UP_RULE, message, { tool: missing.tool.name, risk: missing.tool.risk, outcome: 'denied', errorCode: 'step_up_required' });
  return { status: 401, message, headers: stepUpHeaders(app, request, '/mcp', missing.context, message) };
}
