import { app } from '@azure/functions';
import { getApp } from '../shared/app.js';
import { HTTP_FUNCTIONS } from './definitions.js';

// Streaming lets MCP responses upgrade to SSE for progress notifications.
app.setup({ enableHttpStream: true });

// Build the app now so invalid settings stop the host at start with a clear message, not at the first request.
getApp();

// Once the host starts the app: the issuer's keys and a Resource Manager token are fetched in the background, so
// the first request does not wait for them (not awaited: nothing at start waits for, or fails on, them).
app.hook.appStart(() => {
  getApp().warmUp();
});

// Queued audit records are written before the instance goes away.
app.hook.appTerminate(async () => {
  await getApp().flush(5_000);
});

for (const definition of HTTP_FUNCTIONS) {
  app.http(definition.name, {
    route: definition.route,
    methods: definition.methods,
    authLevel: 'anonymous',
    handler: definition.handler,
  });
}
