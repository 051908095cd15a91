// Typed client for the sandbox admin API (/_sandbox/...), for tests and dev scripts.
import { request } from 'node:https';
import type { StoredStorageAccount } from './admin.js';
import type { Fault, FaultSpec } from './faults.js';
import type { TelemetryEnvelope } from './telemetry-store.js';
import type { LoggedRequest } from './request-log.js';

export class SandboxAdmin {
  /**
   * @param armUrl the sandbox ARM origin (Sandbox.armUrl)
   * @param ca PEM to trust; omit when NODE_EXTRA_CA_CERTS already covers the sandbox cert
   */
  constructor(
    private readonly armUrl: string,
    private readonly ca?: string,
  ) {}

  addFault(fault: FaultSpec): Promise<Fault> {
    return this.call('POST', '/_sandbox/faults', fault) as Promise<Fault>;
  }

  faults(): Promise<Fault[]> {
    return this.call('GET', '/_sandbox/faults') as Promise<Fault[]>;
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/_sandbox/faults');
  }

  requests(): Promise<LoggedRequest[]> {
    return this.call('GET', '/_sandbox/requests') as Promise<LoggedRequest[]>;
  }

  async clearRequests(): Promise<void> {
    await this.call('DELETE', '/_sandbox/requests');
  }

  async reset(): Promise<void> {
    await this.call('POST', '/_sandbox/reset');
  }

  /** Starts a signing-key rollover: a new key signs from now on, the previous one stays published. */
  rotateIssuerKey(): Promise<{ kid: string }> {
    return this.call('POST', '/_sandbox/issuer/rotate') as Promise<{ kid: string }>;
  }

  /** Ends a rollover: only the current signing key stays published. */
  retireOldIssuerKeys(): Promise<{ kids: string[] }> {
    return this.call('POST', '/_sandbox/issuer/retire') as Promise<{ kids: string[] }>;
  }

  /** The storage accounts the twin stores (not the synthetic bulk ones), with encryption and tags as stored. */
  storageAccounts(): Promise<StoredStorageAccount[]> {
    return this.call('GET', '/_sandbox/state/storage-accounts') as Promise<StoredStorageAccount[]>;
  }

  /** Envelopes the Application Insights ingestion capture accepted (each with receivedAt), newest last. */
  telemetry(): Promise<TelemetryEnvelope[]> {
    return this.call('GET', '/_sandbox/telemetry') as Promise<TelemetryEnvelope[]>;
  }

  async clearTelemetry(): Promise<void> {
    await this.call('DELETE', '/_sandbox/telemetry');
  }

  private call(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.armUrl),
        {
          method,
          ...(this.ca !== undefined && { ca: this.ca }),
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              reject(new Error(`sandbox admin ${method} ${path} failed with ${status}: ${text}`));
              return;
            }
            resolve(text ? JSON.parse(text) : undefined);
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}
