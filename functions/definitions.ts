import type { HttpHandler, HttpMethod } from '@azure/functions';
import { getApp } from '../shared/app.js';
import { handleApproval } from '../shared/http/approvals-endpoint.js';
import { audited } from '../shared/http/audited.js';
import { handleMcp } from '../shared/http/mcp-endpoint.js';
import { handleRevoke } from '../shared/http/revoke-endpoint.js';
import { health, protectedResourceMetadata, toolManifest } from '../shared/http/metadata.js';
import { handleToolCall } from '../shared/http/tools-endpoint.js';
import { TOOLS } from '../shared/tools/registry.js';

/** One HTTP-triggered Function: what `app.http` registers in Azure and what the local host serves. */
export interface HttpFunctionDefinition {
  name: string;
  route: string;
  methods: HttpMethod[];
  handler: HttpHandler;
}

const metadata: HttpHandler = audited('metadata', getApp, async (request) => protectedResourceMetadata(getApp(), request));

/**
 * Every Function of the app, each wrapped so that every request leaves exactly one audit record. Authentication is ours (Entra tokens checked in the pipeline), so the Functions
 * auth level is anonymous; in Azure the platform's Entra authentication sits in front as well.
 */
export const HTTP_FUNCTIONS: readonly HttpFunctionDefinition[] = [
  // GET and DELETE are registered only to answer 405, as the MCP transport requires of stateless servers.
  { name: 'mcp', route: 'mcp', methods: ['GET', 'POST', 'DELETE'], handler: audited('mcp', getApp, (request) => handleMcp(getApp(), request)) },
  ...TOOLS.map((tool): HttpFunctionDefinition => ({
    name: `tool_${tool.name}`,
    route: `tools/${tool.name}`,
    methods: ['POST'],
    handler: audited('tools', getApp, (request) => handleToolCall(getApp(), tool.name, request)),
  })),
  { name: 'oauth_protected_resource', route: '.well-known/oauth-protected-resource', methods: ['GET'], handler: metadata },
  { name: 'oauth_protected_resource_mcp', route: '.well-known/oauth-protected-resource/mcp', methods: ['GET'], handler: metadata },
  // Before approvals/{id}: the local host serves the first route that matches (Azure prefers the literal segment).
  {
    name: 'approvals_revoke',
    route: 'approvals/revoke',
    methods: ['POST'],
    handler: audited('approvals', getApp, (request) => handleRevoke(getApp(), request), { servedWhenClosed: true }),
  },
  {
    name: 'approval',
    route: 'approvals/{id}',
    methods: ['GET', 'POST'],
    handler: audited('approvals', getApp, (request) => handleApproval(getApp(), request, request.params.id ?? '')),
  },
  { name: 'tool_manifest', route: 'tools/manifest', methods: ['GET'], handler: audited('metadata', getApp, (request) => toolManifest(getApp(), request)) },
  { name: 'health', route: 'health', methods: ['GET'], handler: audited('health', getApp, async () => health(getApp()), { servedWhenClosed: true }) },
];
