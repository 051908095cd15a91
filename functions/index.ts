import { app } from '@azure/functions';
import { getApp } from '../shared/app.js';
import { HTTP_FUNCTIONS } from './definitions.js';

// Streaming lets MCP responses upgrade to SSE for progress notifications.
app.setup({ enableHttpStream: true });

// Build the app now so invalid settings stop the host at start with a clear message, not at the first request.
getApp();

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
