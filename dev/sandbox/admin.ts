// Unauthenticated admin API (loopback dev only) for faults, the request log, resetting state and rolling the issuer's keys.
// Not itself logged.
import type { Call, TwinContext } from './context.js';
import { parseFaultSpec } from './faults.js';
import { HttpError, readJson, sendJson } from './http.js';

export const ADMIN_PREFIX = '/_sandbox';

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
    default:
      throw new HttpError(404, 'NotFound', `No admin route ${call.method} ${call.path}. Routes: POST|GET|DELETE /_sandbox/faults, GET|DELETE /_sandbox/requests, POST /_sandbox/reset, POST /_sandbox/issuer/rotate, POST /_sandbox/issuer/retire.`);
  }
}
