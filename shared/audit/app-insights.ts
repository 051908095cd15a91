import type { TokenCredential } from '@azure/identity';
import type { TelemetryClient } from 'applicationinsights';
import type { AzureCall } from './scope.js';
import type { AuditRecord } from './record.js';
import { loadOnFirstUse } from '../runtime/load-on-first-use.js';

/** The custom event each audit record becomes (customEvents / AppEvents). */
export const AUDIT_EVENT_NAME = 'SovereignMcpAudit';
/** Records waiting while the exporter loads; past this, the oldest are dropped and the drop is logged. */
const MAX_PENDING = 10_000;

/**
 * The Application Insights copy of the audit trail: each record as a custom event (its fields as custom
 * dimensions), the request it describes as request telemetry, and the Azure calls made for it as dependency
 * telemetry. Only these explicit items are sent: no auto-instrumentation, no live metrics, no SDK statistics,
 * and ingestion authenticates with the managed identity (the resource has local authentication disabled).
 */
export interface TelemetryExport {
  send(record: AuditRecord, azureCalls: readonly AzureCall[]): void;
  /** Sends everything queued (at shutdown), within `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
}

export function createAppInsightsExport(
  connectionString: string,
  credential: TokenCredential,
  log: (message: string, error?: unknown) => void,
): TelemetryExport {
  // The exporter's own usage statistics ("statsbeat", SDK stats) go to Microsoft-owned ingestion endpoints:
  // switched off, so the department's workspace is the only place telemetry goes.
  process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';
  process.env.APPLICATIONINSIGHTS_STATSBEAT_DISABLED = 'true';
  process.env.APPLICATIONINSIGHTS_SDKSTATS_DISABLED = 'true';
  // Nor the exporter's own "_OTELRESOURCE_" metric: only the items below are sent.
  process.env.APPLICATIONINSIGHTS_OPENTELEMETRY_RESOURCE_METRIC_DISABLED = 'true';

  let client: TelemetryClient | undefined;
  let pending: (() => void)[] = [];
  let dropped = 0;
  // Loaded on first use, after the first response: the OpenTelemetry SDK is kept out of cold start. A failed load
  // is reported once and tried again with the next record.
  const loaded = loadOnFirstUse(() =>
    import('applicationinsights')
      .then(({ default: appInsights }) => {
        const made = new appInsights.TelemetryClient(connectionString, { useGlobalProviders: false });
        made.config.aadTokenCredential = credential;
        made.config.enableSendLiveMetrics = false;
        made.config.enableAutoCollectPerformance = false;
        made.config.enableAutoCollectPreAggregatedMetrics = false;
        client = made;
        const queued = pending;
        pending = [];
        for (const track of queued) track();
        if (dropped > 0)
          log(
            `Application Insights export: ${dropped} audit records were dropped while the exporter loaded (the tamper-evident store and the log still hold them)`,
          );
      })
      .catch((error: unknown) => {
        log('Application Insights export could not start; records stay queued and it is retried with the next one', error);
        throw error;
      }),
  );
  const load = () => loaded().catch(() => undefined);

  const enqueue = (track: () => void) => {
    if (client) return track();
    pending.push(track);
    if (pending.length > MAX_PENDING) {
      pending.shift();
      dropped += 1;
    }
    void load();
  };

  /** Records handed over but not yet tracked (they are tracked a turn later, once the answer is on its way). */
  let deferred = 0;
  const afterResponse = (track: () => void) => {
    deferred += 1;
    setImmediate(() => {
      deferred -= 1;
      enqueue(track);
    });
  };

  return {
    send(record, azureCalls) {
      // The exporter's work (event, request and dependency telemetry) is never part of what a caller waits for.
      afterResponse(() => {
        const ai = client!;
        ai.trackEvent({ name: AUDIT_EVENT_NAME, time: new Date(record.time), properties: customDimensions(record) });
        ai.trackRequest({
          name: `${record.httpMethod} ${record.path}`,
          url: record.path,
          time: new Date(Date.parse(record.time) - record.durationMs),
          duration: record.durationMs,
          resultCode: String(record.httpStatus),
          success: record.outcome === 'success',
          properties: {
            'http.method': record.httpMethod,
            'http.status_code': record.httpStatus,
            correlationId: record.correlationId,
            entrance: record.entrance,
            ...(record.tool ? { tool: record.tool } : {}),
          },
        });
        for (const call of azureCalls) {
          ai.trackDependency({
            dependencyTypeName: 'HTTP',
            name: `${call.method} ${call.path}`,
            data: `https://${call.host}${call.path}`,
            target: call.host,
            time: call.time,
            duration: call.durationMs,
            resultCode: call.status === undefined ? 'failed' : String(call.status),
            success: call.status !== undefined && call.status < 400,
            properties: {
              // OpenTelemetry's HTTP attributes: what makes the exporter send an HTTP dependency with its status.
              'http.method': call.method,
              ...(call.status === undefined ? {} : { 'http.status_code': call.status }),
              correlationId: record.correlationId,
              ...(call.requestId ? { azureRequestId: call.requestId } : {}),
              // Joins the activity log (AzureActivity.HTTPRequest.clientRequestId) to this audited request.
              ...(call.clientRequestId ? { clientRequestId: call.clientRequestId } : {}),
            },
          });
        }
      });
    },
    async flush(timeoutMs) {
      while (deferred > 0) await new Promise((resolve) => setImmediate(resolve));
      if (!client && pending.length > 0) await Promise.race([load(), delay(timeoutMs)]);
      if (!client) return;
      await Promise.race([client.flush(), delay(timeoutMs)]);
    },
  };
}

/** Custom dimensions are strings: scalars as they are, lists and objects as JSON. Every field, already redacted. */
function customDimensions(record: AuditRecord): Record<string, string> {
  const dimensions: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    dimensions[key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return dimensions;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
