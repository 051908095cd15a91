import type { HttpHandler, HttpMethod } from '@azure/functions';
import { getApp } from '../shared/app.js';
import { handleApproval } from '../shared/http/approvals-endpoint.js';
import { handleMcp } from '../shared/http/mcp-endpoint.js';
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

const metadata: HttpHandler = async (request) => protectedResourceMetadata(getApp(), request);

/**
 * Every Function of the app. Authentication is ours (Entra tokens checked in the pipeline), so the Functions
 * auth level is anonymous; in Azure the platform's Entra authentication sits in front as well.
 */
export const HTTP_FUNCTIONS: readonly HttpFunctionDefinition[] = [
  // GET and DELETE are registered only to answer 405, as the MCP transport requires of stateless servers.
  { name: 'mcp', route: 'mcp', methods: ['GET', 'POST', 'DELETE'], handler: (request) => handleMcp(getApp(), request) },
  ...TOOLS.map(
    (tool): HttpFunctionDefinition => ({
      name: `tool_${tool.name}`,
      route: `tools/${tool.name}`,
      methods: ['POST'],
      handler: (request) => handleToolCall(getApp(), tool.name, request),
    }),
  ),
  { name: 'oauth_protected_resource', route: '.well-known/oauth-protected-resource', methods: ['GET'], handler: metadata },
  { name: 'oauth_protected_resource_mcp', route: '.well-known/oauth-protected-resource/mcp', methods: ['GET'], handler: metadata },
  {
    name: 'approval',
    route: 'approvals/{id}',
    methods: ['GET', 'POST'],
    handler: (request) => handleApproval(getApp(), request, request.params.id ?? ''),
  },
  { name: 'tool_manifest', route: 'tools/manifest', methods: ['GET'], handler: (request) => toolManifest(getApp(), request) },
  { name: 'health', route: 'health', methods: ['GET'], handler: async () => health(getApp()) },
];
