// Composes the twin's HTTPS listeners: one for ARM + managed identity + issuer discovery and sign-in + Application Insights
// ingestion + admin, and one per vault
// (Key Vault key ids must sit at the root of an origin, so each vault needs its own port).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ADMIN_PREFIX, handleAdmin } from './admin.js';
import { createArmHandler } from './arm.js';
import type { Call, TwinContext } from './context.js';
import { DISCOVERY_PATH, handleDiscovery } from './discovery.js';
import { FaultStore, applyFault, isAfterFault, type FaultSpec, type Service } from './faults.js';
import { HttpError, parseUrl, sendError } from './http.js';
import { handleIdentity } from './identity.js';
import type { IssuerKeyStore } from './issuer-keys.js';
import { createVaultHandler } from './keyvault.js';
import { TRACK_PATHS, handleTrack } from './monitor.js';
import { TelemetryStore } from './telemetry-store.js';
import { Operations } from './operations.js';
import { RequestLog } from './request-log.js';
import { APP_CLIENT_ID, IDENTITY_CLIENT_ID, IDENTITY_PRINCIPAL_ID, SUBSCRIPTION_ID, TENANT_ID, VAULT_NAME } from './seed.js';
import { AUTHORIZE_PATH, handleAuthorize } from './signin.js';
import { handleToken, TOKEN_PATH } from './token-endpoint.js';
import { TwinState } from './state.js';
import type { RsaKeySource } from './kept-keys.js';

export const IDENTITY_PATH = '/msi/token';
/** Vaults get listeners in this order; the first one may take a fixed port. */
const VAULTS = [VAULT_NAME];

export interface TwinOptions {
  dataDir: string;
  tls: { cert: string; key: string };
  issuerKeys: IssuerKeyStore;
  identityHeader: string;
  blobUrl: string;
  tableUrl: string;
  armPort?: number;
  vaultPort?: number;
  pageSize?: number;
  faults?: FaultSpec[];
  /** Synthetic storage accounts kept in memory (see bulk-accounts.ts). */
  extraStorageAccounts?: number;
  /** Where a fresh seed's catalogue signing key comes from (a new key by default). */
  rsaKeys?: RsaKeySource;
}

export interface Twin {
  armUrl: string;
  vaultUrls: Record<string, string>;
  context: TwinContext;
  close(): Promise<void>;
}

type Dispatch = (call: Call) => Promise<void> | void;

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`sandbox listener could not bind 127.0.0.1:${port}: ${e.code ?? e.message}`)));
    server.listen(port, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}

/** Wraps a service dispatcher with request ids, fault injection, logging and Azure-shaped errors. */
function serve(ctx: TwinContext, origin: string, route: (path: string) => { service: Service; dispatch: Dispatch } | 'admin') {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const { path, query, url } = parseUrl(req);
    const method = (req.method ?? 'GET').toUpperCase();
    const call: Call = { req, res, method, path, query, url: new URL(url.pathname + url.search, origin), headers: {} };
    const target = route(path);
    const fail = (e: unknown): void => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpError) {
        sendError(res, e, call.headers);
        return;
      }
      console.error('[sandbox] unhandled error for', method, path, e);
      sendError(res, new HttpError(500, 'InternalServerError', `The sandbox failed to handle the request: ${(e as Error).message}`), call.headers);
    };
    if (target === 'admin') {
      Promise.resolve(handleAdmin(ctx, call)).catch(fail);
      return;
    }
    const requestId = randomUUID();
    const correlation = req.headers['x-ms-correlation-request-id'];
    call.headers['x-ms-request-id'] = requestId;
    call.headers['x-ms-correlation-request-id'] = typeof correlation === 'string' ? correlation : randomUUID();
    const record = (status: number): void =>
      ctx.log.add({ at: new Date().toISOString(), service: target.service, method, path: url.pathname, status, requestId });
    const fault = ctx.faults.take(target.service, method, url.pathname);
    if (fault) {
      record(applyFault(fault, req, res, call.headers, target.service));
      // An answer-losing fault still lets the route carry the request out.
      if (!isAfterFault(fault.kind)) return;
    } else res.once('close', () => record(res.writableFinished ? res.statusCode : 0));
    Promise.resolve()
      .then(() => target.dispatch(call))
      .catch(fail);
  };
}

export async function startTwin(opts: TwinOptions): Promise<Twin> {
  const tls = { cert: opts.tls.cert, key: opts.tls.key };
  const armServer = createServer(tls);
  const vaultServers = VAULTS.map(() => createServer(tls));
  const servers = [armServer, ...vaultServers];
  try {
    const armPort = await listen(armServer, opts.armPort ?? 0);
    const vaultPorts = await Promise.all(vaultServers.map((s, i) => listen(s, i === 0 ? (opts.vaultPort ?? 0) : 0)));
    const armUrl = `https://127.0.0.1:${armPort}`;
    const vaultUrls = Object.fromEntries(VAULTS.map((name, i) => [name, `https://127.0.0.1:${vaultPorts[i]}/`]));
    const state = await TwinState.open(
      opts.dataDir,
      { vaultUrls, blobUrl: opts.blobUrl, tableUrl: opts.tableUrl },
      {
        ...(opts.extraStorageAccounts !== undefined && { extraStorageAccounts: opts.extraStorageAccounts }),
        ...(opts.rsaKeys !== undefined && { rsaKeys: opts.rsaKeys }),
      },
    );
    const faults = new FaultStore();
    for (const f of opts.faults ?? []) faults.add(f);
    const ctx: TwinContext = {
      state,
      issuerKeys: opts.issuerKeys,
      tenantId: TENANT_ID,
      subscriptionId: SUBSCRIPTION_ID,
      identityClientId: IDENTITY_CLIENT_ID,
      identityPrincipalId: IDENTITY_PRINCIPAL_ID,
      identityHeader: opts.identityHeader,
      appClientId: APP_CLIENT_ID,
      armUrl,
      vaultUrls,
      pageSize: opts.pageSize ?? 10,
      faults,
      log: new RequestLog(),
      telemetry: new TelemetryStore(),
      operations: new Operations(),
    };
    const arm = createArmHandler(ctx);
    armServer.on(
      'request',
      serve(ctx, armUrl, (path) => {
        const lower = path.toLowerCase();
        if (lower === ADMIN_PREFIX || lower.startsWith(`${ADMIN_PREFIX}/`)) return 'admin';
        if (lower === IDENTITY_PATH) return { service: 'identity', dispatch: (call) => handleIdentity(ctx, call) };
        if (DISCOVERY_PATH.test(path)) return { service: 'issuer', dispatch: (call) => handleDiscovery(ctx, call) };
        if (AUTHORIZE_PATH.test(path)) return { service: 'issuer', dispatch: (call) => handleAuthorize(ctx, call) };
        if (TOKEN_PATH.test(path)) return { service: 'issuer', dispatch: (call) => handleToken(ctx, call) };
        if (TRACK_PATHS.includes(lower)) return { service: 'monitor', dispatch: (call) => handleTrack(ctx, call) };
        return { service: 'arm', dispatch: arm };
      }),
    );
    vaultServers.forEach((server, i) => {
      const name = VAULTS[i] as string;
      const dispatch = createVaultHandler(ctx, name);
      server.on(
        'request',
        serve(ctx, (vaultUrls[name] as string).replace(/\/$/, ''), () => ({ service: 'vault', dispatch })),
      );
    });
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        ctx.operations.close();
        await Promise.all(servers.map(closeServer));
      })());
    return { armUrl, vaultUrls, context: ctx, close };
  } catch (e) {
    await Promise.all(servers.map(closeServer));
    throw e;
  }
}

/** Stops accepting, then destroys open sockets, including ones held by `hang` faults. */
async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
