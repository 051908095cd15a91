import type { TokenCredential } from '@azure/identity';
import type { ResourceManagementClient } from '@azure/arm-resources';
import type { StorageManagementClient } from '@azure/arm-storage';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { MonitorClient } from '@azure/arm-monitor';
import type { KeyClient } from '@azure/keyvault-keys';
import type { BlobServiceClient, BlockBlobClient, ContainerClient, StoragePipelineOptions } from '@azure/storage-blob';
import type { Settings } from '../config/settings.js';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { randomBytes } from 'node:crypto';
import { auditedRequestForAzureCall } from '../audit/audit-writer.js';
import { ToolError } from '../pipeline/errors.js';
import { addressUnder, canonicalPathPolicy, exactAddressPolicy, urlUnder, type ExpectedAddress } from './address-check.js';
import { loadOnFirstUse } from '../runtime/load-on-first-use.js';

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
  /**
   * Data-plane clients for a storage account's blob endpoint (as Resource Manager reports it), each able to address
   * exactly one resource, checked on every request after the SDK built it: the account itself (to list its
   * containers), one container, or one blob. There is no client that can address anything else.
   */
  blobAccount(blobEndpoint: string): Promise<BlobServiceClient>;
  blobContainer(blobEndpoint: string, container: string): Promise<ContainerClient>;
  blob(blobEndpoint: string, container: string, name: string): Promise<BlockBlobClient>;
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
    const audited = auditedRequestForAzureCall();
    if (audited?.traceId && !request.headers.has('traceparent')) {
      request.headers.set('traceparent', `00-${audited.traceId}-${randomBytes(8).toString('hex')}-01`);
    }
    const time = new Date();
    const started = performance.now();
    const { host, pathname } = new URL(request.url);
    const clientRequestId = request.headers.get('x-ms-client-request-id') ?? request.requestId;
    const note = (status: number | undefined, requestId: string | undefined) =>
      audited?.noteAzureCall({
        method: request.method,
        host,
        path: pathname,
        time,
        durationMs: Math.round(performance.now() - started),
        ...(status === undefined ? {} : { status }),
        ...(requestId ? { requestId } : {}),
        ...(clientRequestId ? { clientRequestId } : {}),
      });
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
// Per retry, so every attempt's request id is kept, including those of throttled or failed attempts. The path
// check runs once per call, before anything is sent.
const POLICIES = {
  additionalPolicies: [
    { policy: canonicalPathPolicy, position: 'perCall' as const },
    { policy: auditPolicy, position: 'perRetry' as const },
  ],
};

export function createAzureClients(settings: Settings, credential: TokenCredential): AzureClients {
  const arm = { endpoint: settings.armEndpoint, credentialScopes: [ARM_SCOPE], userAgentOptions: USER_AGENT, ...POLICIES };
  const sub = settings.subscriptionId;
  /**
   * A fresh storage pipeline per data-plane client, carrying the exact-address check (and the audit note): the blob
   * SDK adds a client's policies to its shared pipeline again for every child client, so each client here has its
   * own pipeline and is never used to derive children. The SDK passes these options on to its core client.
   */
  const blobPipeline = async (expected: ExpectedAddress) => {
    if (holdsAuditTrail(settings, expected)) {
      throw new ToolError('forbidden', "This app's own audit trail is not reachable through any tool.", { rule: 'policy.app-state' });
    }
    const options: StoragePipelineOptions & { additionalPolicies: { policy: PipelinePolicy; position: 'perCall' | 'perRetry' }[] } = {
      userAgentOptions: USER_AGENT,
      additionalPolicies: [
        { policy: exactAddressPolicy(expected), position: 'perCall' },
        { policy: auditPolicy, position: 'perRetry' },
      ],
    };
    return (await import('@azure/storage-blob')).newPipeline(credential, options);
  };
  return {
    resources: loadOnFirstUse(async () => new (await import('@azure/arm-resources')).ResourceManagementClient(credential, sub, arm)),
    storage: loadOnFirstUse(async () => new (await import('@azure/arm-storage')).StorageManagementClient(credential, sub, arm)),
    compute: loadOnFirstUse(async () => new (await import('@azure/arm-compute')).ComputeManagementClient(credential, sub, arm)),
    // A CommonJS-only package for Node: its exports are the import's `default`, both in Node and in the esbuild bundle
    // (whose chunk for it exports nothing else: named exports from it were undefined there).
    monitor: loadOnFirstUse(async () => new (await import('@azure/arm-monitor')).default.MonitorClient(credential, sub, arm)),
    keys: loadOnFirstUse(
      async () =>
        new (await import('@azure/keyvault-keys')).KeyClient(settings.keyVaultUrl, credential, {
          disableChallengeResourceVerification: !settings.keyVaultVerifyChallengeResource,
          userAgentOptions: USER_AGENT,
          ...POLICIES,
        }),
    ),
    async blobAccount(blobEndpoint) {
      const pipeline = await blobPipeline(addressUnder(blobEndpoint, [], 'the storage account'));
      return new (await import('@azure/storage-blob')).BlobServiceClient(blobEndpoint, pipeline);
    },
    async blobContainer(blobEndpoint, container) {
      const pipeline = await blobPipeline(addressUnder(blobEndpoint, [container], `container '${container}'`));
      return new (await import('@azure/storage-blob')).ContainerClient(urlUnder(blobEndpoint, [container]), pipeline);
    },
    async blob(blobEndpoint, container, name) {
      const names = [container, ...name.split('/')];
      const pipeline = await blobPipeline(addressUnder(blobEndpoint, names, `blob '${name}' in container '${container}'`));
      return new (await import('@azure/storage-blob')).BlockBlobClient(urlUnder(blobEndpoint, names), pipeline);
    },
  };
}

/**
 * Whether an address lies in the audit container (AUDIT_CONTAINER_URL) or holds it (its account, path-style): refused
 * even if every other check missed it.
 */
function holdsAuditTrail(settings: Settings, expected: ExpectedAddress): boolean {
  if (!settings.auditContainerUrl) return false;
  const audit = addressUnder(settings.auditContainerUrl, [], 'the audit container');
  const same = (a: string, b: string | undefined) => b !== undefined && a.toLowerCase() === b.toLowerCase();
  const shorter = Math.min(audit.segments.length, expected.segments.length);
  return same(audit.origin, expected.origin) && audit.segments.slice(0, shorter).every((segment, index) => same(segment, expected.segments[index]));
}
