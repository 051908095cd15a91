// Unauthenticated admin API (loopback dev only) for faults, the request log, resetting state, rolling the issuer's keys,
// reading the twin's state and captured telemetry for test assertions. Not itself logged.
import type { Call, TwinContext } from './context.js';
import { parseFaultSpec } from './faults.js';
import { HttpError, readJson, sendJson } from './http.js';
import type { Tags } from './model.js';

export const ADMIN_PREFIX = '/_sandbox';

/** A storage account as the twin stores it, for asserting on what the app changed (bulk accounts excluded). */
export interface StoredStorageAccount {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  provisioningState: string;
  /** Wire form, as stored: keySource, keyvaultproperties{keyname, keyversion, keyvaulturi, ...}, services, identity. */
  encryption: Record<string, unknown>;
  tags: Tags;
}

function storedStorageAccounts(ctx: TwinContext): StoredStorageAccount[] {
  return ctx.state
    .resources()
    .filter((r) => r.type === 'Microsoft.Storage/storageAccounts')
    .map((r) => ({
      id: r.id,
      name: r.name,
      resourceGroup: r.resourceGroup,
      location: r.location,
      provisioningState: typeof r.properties['provisioningState'] === 'string' ? r.properties['provisioningState'] : '',
      encryption: (r.properties['encryption'] as Record<string, unknown> | undefined) ?? {},
      tags: r.tags,
    }));
}

export async function handleAdmin(ctx: TwinContext, call: Call): Promise<void> {
  const route = `${call.method} ${call.path.slice(ADMIN_PREFIX.length).toLowerCase()}`;
  switch (route) {
    case 'POST /faults': {
      let spec;
      try {
        spec = parseFaultSpec(await readJson(call.req));
      } catch (e) {
        if (e instanceof HttpError) throw e;
        throw new HttpError(400, 'InvalidFault', (e as Error).message);
      }
      return sendJson(call.res, 201, ctx.faults.add(spec));
    }
    case 'GET /faults':
      return sendJson(call.res, 200, ctx.faults.list());
    case 'DELETE /faults':
      ctx.faults.clear();
      return sendJson(call.res, 204, undefined);
    case 'GET /requests':
      return sendJson(call.res, 200, ctx.log.list());
    case 'DELETE /requests':
      ctx.log.clear();
      return sendJson(call.res, 204, undefined);
    case 'POST /reset':
      await ctx.state.reset();
      return sendJson(call.res, 204, undefined);
    case 'POST /issuer/rotate':
      return sendJson(call.res, 201, { kid: await ctx.issuerKeys.rotate() });
    case 'POST /issuer/retire':
      return sendJson(call.res, 200, { kids: await ctx.issuerKeys.retire() });
    case 'GET /telemetry':
      return sendJson(call.res, 200, ctx.telemetry.list());
    case 'DELETE /telemetry':
      ctx.telemetry.clear();
      return sendJson(call.res, 204, undefined);
    case 'GET /state/storage-accounts':
      return sendJson(call.res, 200, storedStorageAccounts(ctx));
    default:
      throw new HttpError(
        404,
        'NotFound',
        `No admin route ${call.method} ${call.path}. Routes: POST|GET|DELETE /_sandbox/faults, GET|DELETE /_sandbox/requests, POST /_sandbox/reset, POST /_sandbox/issuer/rotate, POST /_sandbox/issuer/retire, GET /_sandbox/state/storage-accounts, GET|DELETE /_sandbox/telemetry.`,
      );
  }
}
