import * as z from 'zod';
import { defineTool } from '../tool.js';
import { resourceGroupName, storageAccountName } from '../names.js';
import { accountDetails, accountDetailsOutput } from './account-details.js';

export default defineTool({
  name: 'storage_account_get',
  version: '1.0.0',
  title: 'Get a storage account',
  description:
    'Shows one storage account: region, SKU, security settings (HTTPS only, minimum TLS, public blob access, shared-key access) and encryption, including whether it uses a customer-managed key and which one.',
  risk: 'read',
  azurePermissions: { actions: ['Microsoft.Storage/storageAccounts/read'], dataActions: [] },
  input: z.strictObject({ resourceGroup: resourceGroupName, name: storageAccountName }),
  output: accountDetailsOutput,
  target: ({ resourceGroup }) => ({ group: resourceGroup }),
  async handler({ resourceGroup, name }, { azure, signal }) {
    const account = await (await azure.storage()).storageAccounts.getProperties(resourceGroup, name, { abortSignal: signal });
    return accountDetails(account, resourceGroup);
  },
});
