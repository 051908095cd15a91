import type { TokenCredential } from '@azure/identity';
import { hostname } from 'node:os';
import type { AzureCall } from './scope.js';
import type { AuditRecord } from './record.js';
import { isAuditedBody, type AuditedBody } from './body.js';
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

/** What each record is turned into: the three kinds of telemetry Application Insights stores. */
interface Telemetry {
  event(name: string, properties: Record<string, string>): void;
  span(kind: 'request' | 'dependency', item: { name: string; start: number; end: number; success: boolean; attributes: Record<string, string | number> }): void;
  flush(): Promise<void>;
}

/**
 * Azure Monitor's own OpenTelemetry exporters behind a batching logger (events) and tracer (requests as server spans,
 * dependencies as client spans), with the SDK's default resource and every span sampled: the items, fields and
 * batching the `applicationinsights` package's TelemetryClient sends, without loading that package's
 * auto-instrumentation distribution (about 1.7 CPU-seconds and 80 MiB per process).
 */
async function loadTelemetry(connectionString: string, credential: TokenCredential): Promise<Telemetry> {
  // OpenTelemetry's SDK packages are CommonJS: their exports are the import's `default`, both in Node and in the
  // esbuild bundle (which gives a CommonJS module loaded on demand no named exports; ../azure/clients.ts does the same).
  const [
    { AzureMonitorLogExporter, AzureMonitorTraceExporter },
    {
      default: { BatchLogRecordProcessor, LoggerProvider },
    },
    {
      default: { BasicTracerProvider, BatchSpanProcessor },
    },
    {
      default: { defaultResource, resourceFromAttributes },
    },
    { SpanKind, SpanStatusCode },
  ] = await Promise.all([
    import('@azure/monitor-opentelemetry-exporter'),
    import('@opentelemetry/sdk-logs'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/api'),
  ]);
  // Offline storage stays on (the exporter's default): items that fail to send are kept on disk and retried.
  const options = { connectionString, credential, disableOfflineStorage: false };
  // The instance named once: without it the exporter asks the operating system for the host name again for every
  // item it sends (its default for the cloud role instance, the same name).
  const resource = defaultResource().merge(resourceFromAttributes({ 'service.instance.id': hostname() }));
  const logs = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter: new AzureMonitorLogExporter(options) })] });
  const traces = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new AzureMonitorTraceExporter(options))] });
  const logger = logs.getLogger('SovereignMcpAudit');
  const tracer = traces.getTracer('SovereignMcpAudit');
  return {
    event(name, properties) {
      // The exporter makes a custom event (EventData) of a log record that names that type, its body the event.
      logger.emit({ attributes: { ...properties, '_MS.baseType': 'EventData' }, body: { name, version: 2 } });
    },
    span(kind, { name, start, end, success, attributes }) {
      const span = tracer.startSpan(name, { kind: kind === 'request' ? SpanKind.SERVER : SpanKind.CLIENT, attributes, startTime: start });
      span.setStatus({ code: success ? SpanStatusCode.OK : SpanStatusCode.ERROR });
      span.end(end);
    },
    async flush() {
      await Promise.all([traces.forceFlush(), logs.forceFlush()]);
    },
  };
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

  let client: Telemetry | undefined;
  let pending: (() => void)[] = [];
  let dropped = 0;
  // Loaded on first use, after the first response: the OpenTelemetry SDK is kept out of cold start. A failed load
  // is reported once and tried again with the next record.
  const loaded = loadOnFirstUse(() =>
    loadTelemetry(connectionString, credential)
      .then((made) => {
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
        ai.event(AUDIT_EVENT_NAME, customDimensions(record));
        const end = Date.parse(record.time);
        ai.span('request', {
          name: `${record.httpMethod} ${record.path}`,
          start: end - record.durationMs,
          end,
          success: record.outcome === 'success',
          attributes: {
            'http.method': record.httpMethod,
            correlationId: record.correlationId,
            entrance: record.entrance,
            ...(record.tool ? { tool: record.tool } : {}),
            // OpenTelemetry's HTTP attributes: what the exporter makes the request's URL, name and result code of. With
            // the route named, the exporter names the request from it rather than failing to parse the path as a URL
            // (an exception per request); the name is the same either way.
            'http.url': record.path,
            'http.route': record.path,
            'http.status_code': String(record.httpStatus),
          },
        });
        for (const call of azureCalls) {
          const resultCode = call.status === undefined ? 'failed' : String(call.status);
          ai.span('dependency', {
            name: `${call.method} ${call.path}`,
            start: call.time.getTime(),
            end: call.time.getTime() + call.durationMs,
            success: call.status !== undefined && call.status < 400,
            attributes: {
              // OpenTelemetry's HTTP attributes: what makes the exporter send an HTTP dependency with its status.
              'http.method': call.method,
              correlationId: record.correlationId,
              ...(call.requestId ? { azureRequestId: call.requestId } : {}),
              // Joins the activity log (AzureActivity.HTTPRequest.clientRequestId) to this audited request.
              ...(call.clientRequestId ? { clientRequestId: call.clientRequestId } : {}),
              'http.url': `https://${call.host}${call.path}`,
              'http.status_code': resultCode,
              'peer.service': call.host,
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
  for (const [key, value] of Object.entries(record) as [string, unknown][]) {
    if (value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') dimensions[key] = String(value);
    else if (typeof value === 'object' && value !== null && isAuditedBody(value)) dimensions[key] = bodyDimension(value);
    else if (Array.isArray(value)) {
      const { json, omitted } = listDimension(value);
      dimensions[key] = json;
      if (omitted > 0) dimensions[`${key}Omitted`] = String(omitted);
    } else dimensions[key] = JSON.stringify(value);
  }
  return dimensions;
}

/**
 * A list (Azure request ids, targets, injection flags) as a custom dimension: the whole list when it fits, else as many
 * of its first items as fit, still a JSON list, and how many were left out (the exporter would cut it mid-item, and
 * Log Analytics would read nothing of it). The log line and the tamper-evident store keep the whole list.
 */
export function listDimension(items: readonly unknown[]): { json: string; omitted: number } {
  const whole = JSON.stringify(items);
  if (fitsDimension(whole)) return { json: whole, omitted: 0 };
  let used = 2; // the brackets
  let kept = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item) ?? 'null') + (kept > 0 ? 1 : 0);
    if (used + size > DIMENSION_MAX_BYTES) break;
    used += size;
    kept += 1;
  }
  return { json: JSON.stringify(items.slice(0, kept)), omitted: items.length - kept };
}

/** The most UTF-8 bytes Application Insights keeps of a custom dimension; the exporter cuts a longer value wherever it falls. */
export const DIMENSION_MAX_BYTES = 8192;

/** Whether a JSON text fits a dimension. A UTF-16 unit is at most 3 UTF-8 bytes: most are short enough not to be measured. */
const fitsDimension = (json: string): boolean => json.length * 3 <= DIMENSION_MAX_BYTES || Buffer.byteLength(json) <= DIMENSION_MAX_BYTES;

/**
 * A body as a custom dimension: its size and hash first, its text last and shortened to fit, so the dimension stays
 * JSON and keeps the digest whole (cut by the exporter, a body kept at the audit's 8 KiB lost its hash and its closing
 * brace). The log line and the tamper-evident store keep the text as the audit does.
 */
export function bodyDimension(body: AuditedBody): string {
  const { text, ...digest } = body;
  // Each UTF-16 unit takes at least a byte, and the hash alone 64: a longer text is cut without trying it whole.
  if (text.length <= DIMENSION_MAX_BYTES - 64) {
    const whole = JSON.stringify({ ...digest, text });
    if (fitsDimension(whole)) return whole;
  }
  // The rest written with an empty text (marked as cut: `true` is shorter than `false`), ending `"text":""}`; the
  // bytes left for the text's JSON.
  const empty = JSON.stringify({ ...digest, truncated: true, text: '' });
  const room = DIMENSION_MAX_BYTES - Buffer.byteLength(empty);
  return `${empty.slice(0, -'""}'.length)}${cutTextJson(text, room)}}`;
}

/**
 * The last long text cut to fit, and its cut as JSON. Every `tools/list` answer's record carries the same first
 * 8 KiB of the catalogue (one string, from the listing built once per set of visible tools): fitting it again, a
 * character at a time, cost 64-76 µs per record.
 */
let lastCut: { text: string; room: number; json: string } | undefined;

function cutTextJson(text: string, room: number): string {
  if (lastCut !== undefined && lastCut.room === room && lastCut.text === text) return lastCut.json;
  const json = JSON.stringify(text.slice(0, fittingPrefix(text, room)));
  lastCut = { text, room, json };
  return json;
}

/**
 * How many UTF-16 units of `text` fit in `room` bytes written as a JSON string's content (JSON.stringify's escapes)
 * in UTF-8; never half of a surrogate pair. One pass, in step with the text.
 */
function fittingPrefix(text: string, room: number): number {
  let used = 0;
  for (let at = 0; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    const pair = code >= 0xd800 && code <= 0xdbff && (text.charCodeAt(at + 1) & 0xfc00) === 0xdc00;
    used += pair ? 4 : escapedBytes(code);
    if (used > room) return at;
    if (pair) at += 1;
  }
  return text.length;
}

/** The UTF-8 bytes of one UTF-16 unit (not part of a pair) as JSON.stringify writes it inside a string. */
function escapedBytes(code: number): number {
  if (code === 0x22 || code === 0x5c) return 2; // \" and \\
  if (code < 0x20) return code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d ? 2 : 6; // \n, or \u0001
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code >= 0xd800 && code <= 0xdfff) return 6; // a lone surrogate, escaped as \udXXX
  return 3;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
