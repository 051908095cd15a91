import type { TokenCredential } from '@azure/identity';
import type { Caller } from '../domain/caller.js';
import { userAssertionOf } from '../auth/user-assertion.js';
import type { Settings } from '../config/settings.js';
import { ToolError } from '../pipeline/errors.js';
import { createAzureClients, type AzureClients } from './clients.js';
import { createOnBehalfOfCredential } from './credential.js';

/**
 * On-behalf-of mode: Azure clients per caller, made on the caller's first call and kept as long as the caller is
 * (the authenticator's memory of the token), so Entra's exchange happens once per token, not per call. An agent
 * acting as itself has no person to act for (Entra exchanges only delegated tokens): it calls Azure as the app's
 * managed identity (`appClients`), within what the department policy lets agents do.
 */
export function onBehalfOfClients(settings: Settings, credential: TokenCredential, appClients: AzureClients): (caller: Caller) => AzureClients {
  const clients = new WeakMap<Caller, AzureClients>();
  return (caller) => {
    if (caller.isAgent) return appClients;
    let made = clients.get(caller);
    if (!made) {
      const assertion = userAssertionOf(caller);
      if (!assertion)
        throw new ToolError('identity_unavailable', "The caller's token is not at hand for the on-behalf-of exchange; nothing was sent to Azure.");
      made = createAzureClients(settings, createOnBehalfOfCredential(settings, credential, assertion));
      clients.set(caller, made);
    }
    return made;
  };
}
