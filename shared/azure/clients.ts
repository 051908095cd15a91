import type { TokenCredential } from '@azure/identity';
import type { ResourceManagementClient } from '@azure/arm-resources';
import type { StorageManagementClient } from '@azure/arm-storage';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { MonitorClient } from '@azure/arm-monitor';
import type { KeyClient } from '@azure/keyvault-keys';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { Settings } from '../config/settings.js';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { randomBytes } from 'node:crypto';
import { currentAudit } from '../audit/scope.js';

/**
 * The Azure SDK clients tools use, injected into every handler. Each area's SDK is imported on first use, so a
 * cold start pays only for the areas its first call needs. All clients authenticate as the app's managed
 * identity; the caller's token is never passed on.
 */
export interface AzureClients {
  resources(): Promise<ResourceManagementClient>;
  storage(): Promise<StorageManagementClient>;
  compute(): Promise<ComputeManagementClient>;
  monitor(): Promise<MonitorClient>;
  keys(): Promise<KeyClient>;
  /** A data-plane client for one storage account's blob endpoint, as Resource Manager reports it. */
  blobService(blobEndpoint: string): Promise<BlobServiceClient>;
}

/** Resource Manager's token audience is the public-cloud one even when the endpoint is a twin or a gateway. */
export const ARM_SCOPE = 'https://management.azure.com/.default';
const USER_AGENT = { userAgentPrefix: 'sovereign-mcp' };

/**
 * On every Azure call: carry the caller's trace id (W3C traceparent) to Azure, and note Azure's request id in the
 * request's audit record, so one caller request can be followed into Azure's own logs.
 */
const auditPolicy: PipelinePolicy = {
  name: 'sovereignMcpAudit',
  async sendRequest(request, next) {
    const draft = currentAudit();
    if (draft?.traceId && !request.headers.has('traceparent')) {
      request.headers.set('traceparent', `00-${draft.traceId}-${randomBytes(8).toString('hex')}-01`);
    }
    const time = new Date();
    const started = performance.now();
    const { host, pathname } = new URL(request.url);
    const clientRequestId = request.headers.get('x-ms-client-request-id') ?? request.requestId;
    const note = (status: number | undefined, requestId: string | undefined) => {
      if (!draft) return;
      if (requestId) draft.azureRequestIds.push(requestId);
      draft.azureCalls.push({
        method: request.method,
        host,
        path: pathname,
        time,
        durationMs: Math.round(performance.now() - started),
        ...(status === undefined ? {} : { status }),
        ...(requestId ? { requestId } : {}),
        ...(clientRequestId ? { clientRequestId } : {}),
      });
    };
    try {
      const response = await next(request);
      note(response.status, response.headers.get('x-ms-request-id'));
      return response;
    } catch (error) {
      const response = (error as { response?: { status?: number; headers?: { get(name: string): string | undefined } } }).response;
      note(response?.status, response?.headers?.get('x-ms-request-id'));
      throw error;
    }
  },
};
// Per retry, so every attempt's request id is kept, including those of throttled or failed attempts.
const POLICIES = { additionalPolicies: [{ policy: auditPolicy, position: 'perRetry' as const }] };

export function createAzureClients(settings: Settings, credential: TokenCredential): AzureClients {
  const arm = { endpoint: settings.armEndpoint, credentialScopes: [ARM_SCOPE], userAgentOptions: USER_AGENT, ...POLICIES };
  const sub = settings.subscriptionId;
  const once = <T>(make: () => Promise<T>) => {
    let made: Promise<T> | undefined;
    return () => (made ??= make().catch((error: unknown) => {
      made = undefined;
      throw error;
    }));
  };
  const blobClients = new Map<string, Promise<BlobServiceClient>>();
  return {
    resources: once(async () => new (await import('@azure/arm-resources')).ResourceManagementClient(credential, sub, arm)),
    storage: once(async () => new (await import('@azure/arm-storage')).StorageManagementClient(credential, sub, arm)),
    compute: once(async () => new (await import('@azure/arm-compute')).ComputeManagementClient(credential, sub, arm)),
    monitor: once(async () => new (await import('@azure/arm-monitor')).MonitorClient(credential, sub, arm)),
    keys: once(
      async () =>
        new (await import('@azure/keyvault-keys')).KeyClient(settings.keyVaultUrl, credential, {
          disableChallengeResourceVerification: !settings.keyVaultVerifyChallengeResource,
          userAgentOptions: USER_AGENT,
          ...POLICIES,
        }),
    ),
    blobService(blobEndpoint) {
      let client = blobClients.get(blobEndpoint);
      if (!client) {
        client = import('@azure/storage-blob').then(
          ({ BlobServiceClient }) => // No audit policy here: the blob SDK re-adds additional policies for each child client, which its
          // pipeline then rejects as duplicates; data-plane request ids are not yet recorded.
          new BlobServiceClient(blobEndpoint, credential, { userAgentOptions: USER_AGENT }),
        );
        blobClients.set(blobEndpoint, client);
      }
      return client;
    },
  };
}
