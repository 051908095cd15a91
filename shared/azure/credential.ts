import { AzureCliCredential, ManagedIdentityCredential, type AccessToken, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import type { Settings } from '../config/settings.js';

/** The managed identity did not hand out a token in time (or at all). Safe to show: it names settings, not secrets. */
export class IdentityUnavailableError extends Error {
  override name = 'IdentityUnavailableError';
}

/**
 * The user-assigned managed identity, with our own deadline around token acquisition: an identity endpoint that
 * accepts the connection but never answers would otherwise hold a request for minutes.
 */
export function createManagedIdentityCredential(clientId: string, timeoutMs: number): TokenCredential {
  if (!process.env.IDENTITY_ENDPOINT && !process.env.MSI_ENDPOINT && !process.env.WEBSITE_SITE_NAME) {
    // Outside Azure without an identity endpoint the SDK would probe the instance metadata service; refuse early.
    return {
      getToken: async () => {
        throw new IdentityUnavailableError("The app's managed identity is not available; operators: see the app logs.", {
          cause: new Error('IDENTITY_ENDPOINT is not set: attach the user-assigned identity to the Function App (locally, `npm start` provides the sandbox identity).'),
        });
      },
    };
  }
  return withDeadline(new ManagedIdentityCredential({ clientId }), timeoutMs, `the identity endpoint for client id ${clientId}: is the identity attached to the Function App?`);
}

/**
 * The credential the app calls Azure with: its managed identity, or — for a developer running the app on a
 * workstation against a real subscription, never in Azure — the Azure CLI's signed-in account
 * (AZURE_LOCAL_CREDENTIAL=azure-cli). Callers' tokens are never used for Azure either way.
 */
export function createAppCredential(settings: Settings): TokenCredential {
  if (settings.localCredential === 'azure-cli') {
    return withDeadline(new AzureCliCredential({ tenantId: settings.tenantId }), settings.azureTokenTimeoutMs, 'the Azure CLI: run `az login` for this tenant');
  }
  return createManagedIdentityCredential(settings.identityClientId, settings.azureTokenTimeoutMs);
}

/** Our own deadline around token acquisition; SDK messages (which can name internal endpoints) go to logs only. */
function withDeadline(inner: TokenCredential, timeoutMs: number, source: string): TokenCredential {
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new IdentityUnavailableError(`The managed identity did not issue a token within ${timeoutMs} ms; try again later.`, {
                cause: new Error(`No token from ${source}`),
              }),
            ),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([inner.getToken(scopes, options), timedOut]);
      } catch (error) {
        if (error instanceof IdentityUnavailableError) throw error;
        // The SDK's message can name internal endpoints: keep it for the logs only.
        throw new IdentityUnavailableError("The app's managed identity could not issue a token; operators: see the app logs.", {
          cause: error,
        });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
