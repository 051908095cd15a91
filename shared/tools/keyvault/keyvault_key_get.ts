import * as z from 'zod';
import { defineTool } from '../tool.js';
import { isoTime, tagsOf, tagsOutput } from '../common.js';
import { keyName, keyVersion } from './key-names.js';
import { ifExists } from '../../azure/errors.js';
import { allRequests } from '../../azure/all-requests.js';
import { keyTarget } from './key-protection.js';

export default defineTool({
  name: 'keyvault_key_get',
  version: '1.0.0',
  title: 'Get a Key Vault key',
  description: "Shows one key's metadata and rotation policy: type, size, permitted operations, state, dates, version. Never returns key material.",
  risk: 'read',
  azurePermissions: { actions: [], dataActions: ['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keyrotationpolicies/read'] },
  input: z.strictObject({ name: keyName, version: keyVersion.optional().describe('A specific version; default the latest') }),
  target: ({ name }, department) => keyTarget(name, department),
  output: z.object({
    name: z.string(),
    id: z.string().optional(),
    version: z.string().optional(),
    keyType: z.string().optional(),
    keySize: z.number().optional().describe('RSA modulus size in bits'),
    keyOperations: z.array(z.string()),
    enabled: z.boolean().optional(),
    createdOn: z.string().optional(),
    updatedOn: z.string().optional(),
    expiresOn: z.string().optional(),
    notBefore: z.string().optional(),
    recoveryLevel: z.string().optional(),
    tags: tagsOutput,
    rotationPolicy: z
      .object({
        expiresIn: z.string().optional(),
        lifetimeActions: z.array(z.object({ action: z.string(), timeAfterCreate: z.string().optional(), timeBeforeExpiry: z.string().optional() })),
        updatedOn: z.string().optional(),
      })
      .nullable()
      .describe('null when the key has no rotation policy'),
  }),
  async handler({ name, version }, { azure, signal }) {
    const client = await azure.keys();
    const [key, policy] = await allRequests(signal, (abortSignal) => [
      client.getKey(name, { abortSignal, ...(version ? { version } : {}) }),
      ifExists(client.getKeyRotationPolicy(name, { abortSignal })),
    ]);
    const properties = key.properties;
    return {
      name: key.name,
      id: key.id,
      version: properties.version,
      keyType: key.keyType,
      // Only the modulus length is derived; the public key itself is not returned.
      keySize: key.key?.n ? key.key.n.length * 8 : undefined,
      keyOperations: key.keyOperations ?? [],
      enabled: properties.enabled,
      createdOn: isoTime(properties.createdOn),
      updatedOn: isoTime(properties.updatedOn),
      expiresOn: isoTime(properties.expiresOn),
      notBefore: isoTime(properties.notBefore),
      recoveryLevel: properties.recoveryLevel,
      tags: tagsOf(properties.tags),
      rotationPolicy: policy
        ? {
            expiresIn: policy.expiresIn,
            lifetimeActions: (policy.lifetimeActions ?? []).map((action) => ({
              action: action.action,
              timeAfterCreate: action.timeAfterCreate,
              timeBeforeExpiry: action.timeBeforeExpiry,
            })),
            updatedOn: isoTime(policy.updatedOn),
          }
        : null,
    };
  },
});
