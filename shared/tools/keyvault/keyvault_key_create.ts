import * as z from 'zod';
import { defineTool } from '../tool.js';
import { isoTime, tagsOf, tagsOutput } from '../common.js';
import { ToolError } from '../../pipeline/errors.js';
import { keyName } from './key-names.js';
import { ifExists } from '../../azure/errors.js';
import { authorizeKeyChange, keyTarget } from './key-protection.js';
import { confirmedWrite, followOnSignal, readOrAbsent } from '../confirmed-write.js';

export default defineTool({
  name: 'keyvault_key_create',
  version: '1.0.0',
  title: 'Create a key for customer-managed encryption',
  description:
    'Creates a new RSA key fit for customer-managed encryption in the department Key Vault: 3072 or 4096 bits (optionally HSM-protected), wrapKey/unwrapKey only, with an expiry and a rotation policy (rotate before expiry, notify 30 days before). Refuses an existing name: use keyvault_key_rotate for a new version. Refused in a protected vault unless the department policy makes an exception for it.',
  risk: 'write',
  azurePermissions: {
    actions: ['Microsoft.KeyVault/vaults/read'],
    dataActions: [
      'Microsoft.KeyVault/vaults/keys/read',
      'Microsoft.KeyVault/vaults/keys/create/action',
      'Microsoft.KeyVault/vaults/keyrotationpolicies/write',
      // Reading the policy back when the answer to setting it is lost.
      'Microsoft.KeyVault/vaults/keyrotationpolicies/read',
    ],
  },
  input: z.strictObject({
    name: keyName,
    keySize: z
      .union([z.literal(3072), z.literal(4096)])
      .default(3072)
      .describe('RSA modulus size'),
    hsm: z.boolean().default(false).describe('HSM-protected key (RSA-HSM; needs a Premium vault)'),
    expiresInDays: z.number().int().min(30).max(3650).default(730),
    rotateAfterDays: z.number().int().min(7).max(3650).default(365).describe('Rotate automatically this long after each version is created'),
    tags: z.record(z.string().min(1).max(512), z.string().max(256)).default({}),
  }),
  output: z.object({
    name: z.string(),
    id: z.string().optional(),
    keyType: z.string().optional(),
    keyOperations: z.array(z.string()),
    expiresOn: z.string().optional(),
    rotationPolicy: z.object({ rotateAfter: z.string(), expiresIn: z.string(), notifyBeforeExpiry: z.string() }),
    tags: tagsOutput,
  }),
  target: ({ name }, department) => keyTarget(name, department),
  async handler({ name, keySize, hsm, expiresInDays, rotateAfterDays, tags }, context) {
    const { azure, signal } = context;
    if (rotateAfterDays >= expiresInDays) {
      throw new ToolError(
        'invalid_arguments',
        `rotateAfterDays (${rotateAfterDays}) must be less than expiresInDays (${expiresInDays}), or the key expires before it rotates.`,
      );
    }
    const keys = await azure.keys();
    const existing = await ifExists(keys.getKey(name, { abortSignal: signal }));
    // Protection first: creating an existing name would add a version to a key that may be protected.
    await authorizeKeyChange(context, name, existing?.properties.tags);
    if (existing) throw new ToolError('conflict', `Key '${name}' already exists; use keyvault_key_rotate to make a new version.`);

    const check = `keyvault_key_get with name '${name}'`;
    const key = await confirmedWrite(context, {
      what: `creating key '${name}'`,
      check,
      write: (abortSignal) =>
        keys.createRsaKey(name, {
          keySize,
          hsm,
          keyOps: ['wrapKey', 'unwrapKey'],
          expiresOn: new Date(Date.now() + expiresInDays * 86_400_000),
          tags,
          abortSignal,
        }),
      // The name was free before the write, so a key of that name now is the one this call made.
      readBack: (abortSignal) =>
        readOrAbsent(keys.getKey(name, { abortSignal }), `no key '${name}' in the vault: it was not created`, (value) => ({ state: 'done', value })),
    });
    const policy = { rotateAfter: `P${rotateAfterDays}D`, expiresIn: `P${expiresInDays}D`, notifyBeforeExpiry: 'P30D' };
    const rotation = {
      expiresIn: policy.expiresIn,
      lifetimeActions: [
        { action: 'Rotate' as const, timeAfterCreate: policy.rotateAfter },
        { action: 'Notify' as const, timeBeforeExpiry: policy.notifyBeforeExpiry },
      ],
    };
    try {
      await confirmedWrite(context, {
        what: `setting the rotation policy of key '${name}'`,
        check,
        write: () => keys.updateKeyRotationPolicy(name, rotation, { abortSignal: followOnSignal(context) }),
        readBack: async (abortSignal) => {
          const current = await keys.getKeyRotationPolicy(name, { abortSignal });
          const rotates = current.lifetimeActions?.some((action) => action.action === 'Rotate' && action.timeAfterCreate === policy.rotateAfter);
          return rotates ? { state: 'done', value: current } : { state: 'absent', detail: `key '${name}' has no rotation policy yet` };
        },
      });
    } catch (error) {
      // A CMK key without rotation must not be used: disable it until the policy can be set.
      await keys.updateKeyProperties(name, key.properties.version ?? '', { enabled: false, abortSignal: AbortSignal.timeout(10_000) }).catch(() => {});
      throw new ToolError(
        'azure_error',
        `Key '${name}' was created but its rotation policy could not be set, so the key was disabled; set the policy and enable it, or rotate it.`,
        {},
        { cause: error },
      );
    }
    return {
      name,
      id: key.id,
      keyType: key.keyType,
      keyOperations: key.keyOperations ?? [],
      expiresOn: isoTime(key.properties.expiresOn),
      rotationPolicy: policy,
      tags: tagsOf(key.properties.tags),
    };
  },
});
