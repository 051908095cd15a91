import * as z from 'zod';
import { defineTool } from '../tool.js';
import { continuationOf, nextCursorOutput, pageInput, readPage } from '../paging.js';
import { isoTime, tagsOf, tagsOutput } from '../common.js';
import { vaultTarget } from './key-protection.js';

export default defineTool({
  name: 'keyvault_key_list',
  version: '1.0.0',
  title: 'List Key Vault keys',
  description: "Lists the keys in the department's Key Vault with their state, dates and tags (metadata only; never key material). Paged.",
  risk: 'read',
  azurePermissions: { actions: [], dataActions: ['Microsoft.KeyVault/vaults/keys/read'] },
  input: z.strictObject({ ...pageInput }),
  target: (_args, department) => vaultTarget(department),
  output: z.object({
    vaultUrl: z.string(),
    keys: z.array(
      z.object({
        name: z.string(),
        enabled: z.boolean().optional(),
        createdOn: z.string().optional(),
        updatedOn: z.string().optional(),
        expiresOn: z.string().optional(),
        managed: z.boolean().optional(),
        tags: tagsOutput,
      }),
    ),
    nextCursor: nextCursorOutput,
  }),
  async handler({ top, cursor }, { azure, settings, signal }) {
    const client = await azure.keys();
    const vault = new URL(settings.keyVaultUrl);
    const page = await readPage({
      cursor,
      top,
      rule: { origin: vault.origin, path: () => `${vault.pathname}keys` },
      open: (link) => client.listPropertiesOfKeys({ abortSignal: signal }).byPage({ maxPageSize: 25, ...(link ? { continuationToken: link } : {}) }),
      linkOf: continuationOf,
      map: (key) => ({
        name: key.name,
        enabled: key.enabled,
        createdOn: isoTime(key.createdOn),
        updatedOn: isoTime(key.updatedOn),
        expiresOn: isoTime(key.expiresOn),
        managed: key.managed,
        tags: tagsOf(key.tags),
      }),
    });
    return { vaultUrl: settings.keyVaultUrl, keys: page.items, nextCursor: page.nextCursor };
  },
});
