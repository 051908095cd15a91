import type { HttpHandler } from '@azure/functions';
import type { HttpFunctionDefinition } from '../functions/definitions.js';

/**
 * The baseline every ratio is taken against: the smallest Azure Functions HTTP handler there is. It is served by
 * the same local host code (dev/host/local-host.ts) and invoked the same way as the app's own Functions.
 */
export const trivialHandler: HttpHandler = async () => ({ status: 200, jsonBody: { ok: true } });

/** The baseline as one more Function definition, next to the app's (route `bench/trivial`). */
export const TRIVIAL_FUNCTION: HttpFunctionDefinition = {
  name: 'bench_trivial',
  route: 'bench/trivial',
  methods: ['GET', 'POST'],
  handler: trivialHandler,
};
