import { HTTP_FUNCTIONS } from '../../functions/definitions.js';
import { getApp } from '../../shared/app.js';
import { SettingsError } from '../../shared/config/settings.js';
import { PolicyError } from '../../shared/policy/department-policy.js';
import { StaleCatalogueError } from '../../shared/mcp/catalogue.js';
import { createEasyAuth, easyAuthSettings, type EasyAuth } from './easy-auth.js';
import { createLocalHost } from './local-host.js';

/**
 * Runs the Function app on the local host: `PORT` (default 7071) on 127.0.0.1, behind the App Service
 * Authentication stand-in when the sign-in settings are there. Prints one JSON line when ready, so a launcher can
 * read the actual port when PORT=0.
 */
let easyAuth: EasyAuth | undefined;
try {
  const settings = easyAuthSettings(process.env);
  easyAuth = settings ? createEasyAuth(settings) : undefined;
} catch (error) {
  exitOnSettingsError(error);
}

const server = createLocalHost(HTTP_FUNCTIONS, easyAuth ? { easyAuth } : {});
server.listen(Number(process.env.PORT ?? 7071), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // The app answers only to its own authority: it learns the port actually served (PORT=0 picks one) before it loads.
  process.env.PORT = String(port);
  try {
    // The issuer's keys and a Resource Manager token, fetched in the background while the host starts (as the
    // Functions host's app start does in Azure): the first request finds them ready.
    getApp().warmUp();
  } catch (error) {
    exitOnSettingsError(error);
  }
  console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${port}` }));
});

function exitOnSettingsError(error: unknown): never {
  if (error instanceof SettingsError || error instanceof PolicyError || error instanceof StaleCatalogueError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

const stop = () => {
  server.closeAllConnections();
  // Queued audit records and telemetry are sent before the process goes (bounded, so a dead store cannot hold shutdown).
  const flushed = getApp().flush(5_000);
  server.close(() => void flushed.finally(() => process.exit(0)));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
