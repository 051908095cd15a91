import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
// Type only: the module itself is imported when a token is first needed (loadedOnFirstUse), not at start.
import type * as Identity from '@azure/identity';
import type { Settings } from '../config/settings.js';
import { loadOnFirstUse } from '../runtime/load-on-first-use.js';

/** The managed identity did not hand out a token in time (or at all). Safe to show: it names settings, not secrets. */
export class IdentityUnavailableError extends Error {
  override name = 'IdentityUnavailableError';
}

/**
 * The app's credential: a TokenCredential that can also start fetching a token in the background (at app start),
 * so the first call that needs it finds it ready or in flight instead of asking the identity endpoint itself.
 */
export interface AppCredential extends TokenCredential {
  /**
   * Starts fetching a token for `scopes` in the background; never throws and never rejects. A call that asks for
   * the same scopes while it is in flight waits for it (within its own deadline) instead of asking again; if it
   * fails, the call asks for itself, exactly as without it. The SDK keeps the token it got (its own cache).
   */
  prefetch(scopes: string | string[]): void;
}

/**
 * The user-assigned managed identity, with our own deadline around token acquisition: an identity endpoint that
 * accepts the connection but never answers would otherwise hold a request for minutes. `@azure/identity` (and
 * MSAL under it) is loaded on the first token request, not at start: most of a cold start's module loading
 * otherwise, and calls that reach no Azure API never need it.
 */
export function createManagedIdentityCredential(clientId: string, timeoutMs: number): AppCredential {
  if (!process.env.IDENTITY_ENDPOINT && !process.env.MSI_ENDPOINT && !process.env.WEBSITE_SITE_NAME) {
    // Outside Azure without an identity endpoint the SDK would probe the instance metadata service; refuse early.
    return {
      getToken: async () => {
        throw new IdentityUnavailableError("The app's managed identity is not available; operators: see the app logs.", {
          cause: new Error(
            'IDENTITY_ENDPOINT is not set: attach the user-assigned identity to the Function App (locally, `npm start` provides the sandbox identity).',
          ),
        });
      },
      // Nothing to fetch: the first call refuses, as above. In particular nothing probes the instance metadata service.
      prefetch: () => {},
    };
  }
  return withDeadline(
    loadedOnFirstUse(({ ManagedIdentityCredential }) => new ManagedIdentityCredential({ clientId })),
    timeoutMs,
    `the identity endpoint for client id ${clientId}: is the identity attached to the Function App?`,
  );
}

/**
 * The credential the app calls Azure with: its managed identity, or — for a developer running the app on a
 * workstation against a real subscription, never in Azure — the Azure CLI's signed-in account
 * (AZURE_LOCAL_CREDENTIAL=azure-cli). Callers' tokens are never used for Azure either way.
 */
export function createAppCredential(settings: Settings): AppCredential {
  if (settings.localCredential === 'azure-cli') {
    return withDeadline(
      loadedOnFirstUse(({ AzureCliCredential }) => new AzureCliCredential({ tenantId: settings.tenantId })),
      settings.azureTokenTimeoutMs,
      'the Azure CLI: run `az login` for this tenant',
    );
  }
  return createManagedIdentityCredential(settings.identityClientId, settings.azureTokenTimeoutMs);
}

/** The audience of the managed identity's token that serves as the app registration's federated credential. */
const TOKEN_EXCHANGE_SCOPE = 'api://AzureADTokenExchange/.default';

/**
 * On-behalf-of mode: a credential for one caller. Entra exchanges the caller's access token (`assertion`) for a
 * token to Azure that names the caller, so Azure applies the caller's own role assignments and its activity log
 * names them. The app authenticates to Entra for the exchange as its registration (`clientId`), proving it with a
 * token of its managed identity (a federated credential): no secret exists. The caller's token goes only to Entra's
 * token endpoint, never to an Azure API.
 */
export function createOnBehalfOfCredential(settings: Settings, appCredential: TokenCredential, assertion: string): AppCredential {
  const onBehalfOf = settings.onBehalfOf;
  if (!onBehalfOf) throw new Error('On-behalf-of mode is not configured (AZURE_CALLS_AS=caller).');
  return withDeadline(
    loadedOnFirstUse(({ OnBehalfOfCredential }) => {
      const options = {
        tenantId: settings.tenantId,
        clientId: onBehalfOf.clientId,
        userAssertionToken: assertion,
        getAssertion: async () => {
          const token = await appCredential.getToken(TOKEN_EXCHANGE_SCOPE);
          if (!token) throw new IdentityUnavailableError('The managed identity issued no token for the federated credential.');
          return token.token;
        },
        authorityHost: onBehalfOf.authorityHost,
        // The authority is the department's tenant (or the sandbox issuer): nothing to discover. (The SDK reads
        // this option for every credential; its assertion overload's type leaves it out.)
        disableInstanceDiscovery: true,
      };
      return new OnBehalfOfCredential(options);
    }),
    settings.azureTokenTimeoutMs,
    "Entra's on-behalf-of exchange",
    { timedOut: "Entra did not issue a token on the caller's behalf", failed: "Entra could not issue a token on the caller's behalf" },
  );
}

type IdentityModule = typeof Identity;

/** A credential made from `@azure/identity` when it is first asked for a token (imported once; retried if that fails). */
function loadedOnFirstUse(make: (identity: IdentityModule) => TokenCredential): TokenCredential {
  const credential = loadOnFirstUse(async () => make(await import('@azure/identity')));
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      return (await credential()).getToken(scopes, options);
    },
  };
}

const scopeKey = (scopes: string | string[]) => (Array.isArray(scopes) ? scopes.join(' ') : scopes);

/** Our own deadline around token acquisition; SDK messages (which can name internal endpoints) go to logs only. */
const MANAGED_IDENTITY_MESSAGES = {
  timedOut: 'The managed identity did not issue a token',
  failed: "The app's managed identity could not issue a token",
};

function withDeadline(inner: TokenCredential, timeoutMs: number, source: string, messages = MANAGED_IDENTITY_MESSAGES): AppCredential {
  /** Background fetches in flight, by scopes; removed once settled (the SDK caches what they got). */
  const prefetching = new Map<string, Promise<AccessToken | null>>();

  async function getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new IdentityUnavailableError(`${messages.timedOut} within ${timeoutMs} ms; try again later.`, {
              cause: new Error(`No token from ${source}`),
            }),
          ),
        timeoutMs,
      );
    });
    // A plain request for scopes already being fetched in the background joins that fetch; if it fails, this call
    // asks for itself (still within its own deadline). Requests with claims (a CAE challenge) always ask themselves.
    const pending = options?.claims ? undefined : prefetching.get(scopeKey(scopes));
    const attempt = pending ? pending.catch(() => inner.getToken(scopes, options)) : inner.getToken(scopes, options);
    try {
      return await Promise.race([attempt, timedOut]);
    } catch (error) {
      if (error instanceof IdentityUnavailableError) throw error;
      // The SDK's message can name internal endpoints: keep it for the logs only.
      throw new IdentityUnavailableError(`${messages.failed}; operators: see the app logs.`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    getToken,
    prefetch(scopes) {
      const key = scopeKey(scopes);
      if (prefetching.has(key)) return;
      const fetching = getToken(scopes);
      prefetching.set(key, fetching);
      fetching.then(
        () => prefetching.delete(key),
        () => prefetching.delete(key),
      );
    },
  };
}
