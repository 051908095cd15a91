// What every route of the twin can see: shared services plus the request being answered.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultStore } from './faults.js';
import type { IssuerKeyStore } from './issuer-keys.js';
import type { TelemetryStore } from './telemetry-store.js';
import type { Operations } from './operations.js';
import type { RequestLog } from './request-log.js';
import type { TwinState } from './state.js';

export interface TwinContext {
  state: TwinState;
  issuerKeys: IssuerKeyStore;
  tenantId: string;
  subscriptionId: string;
  identityClientId: string;
  identityPrincipalId: string;
  identityHeader: string;
  /** The app registration the sign-in page issues ID tokens to. */
  appClientId: string;
  /** No trailing slash. */
  armUrl: string;
  /** Vault name → URL with trailing slash. */
  vaultUrls: Record<string, string>;
  pageSize: number;
  faults: FaultStore;
  log: RequestLog;
  /** Envelopes captured by the Application Insights ingestion twin (monitor.ts). */
  telemetry: TelemetryStore;
  operations: Operations;
}

export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Decoded path, trailing slashes removed. */
  path: string;
  query: URLSearchParams;
  /** The request URL as the client addressed it (absolute). */
  url: URL;
  /** Headers every response to this call carries (request ids etc.). */
  headers: Record<string, string>;
  /** Who the bearer token says is calling (upn, else oid), once authenticated. */
  caller?: string;
}

export function stsIssuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}
