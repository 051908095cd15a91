import { join } from 'node:path';
import { SANDBOX_DIR } from './sandbox-settings.js';

/** What a running `npm start` tells other dev commands (the token CLI): issuer, audience, MCP URL. */
export const runtimeFile = (): string => join(SANDBOX_DIR, 'runtime.json');

export interface RuntimeInfo {
  issuer: string;
  tenantId: string;
  audience: string;
  mcpUrl: string;
  auditContainerUrl?: string;
  /** The vault holding the audit HMAC key, and the table holding audit writers' registrations and chain heads. */
  vaultUrl?: string;
  anchorTableEndpoint?: string;
}
