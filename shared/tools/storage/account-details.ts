import * as z from 'zod';
import type { StorageAccount } from '@azure/arm-storage';
import { isoTime, tagsOf, tagsOutput } from '../common.js';
import { encryptionOf, encryptionOutput } from './encryption.js';

/** One storage account as tools report it: security settings and encryption, not raw ARM JSON. */
export const accountDetailsOutput = z.object({
  id: z.string(),
  name: z.string(),
  resourceGroup: z.string(),
  location: z.string(),
  kind: z.string().optional(),
  sku: z.string().optional(),
  provisioningState: z.string().optional(),
  createdAt: z.string().optional(),
  httpsOnly: z.boolean().optional(),
  minimumTlsVersion: z.string().optional(),
  allowBlobPublicAccess: z.boolean().optional(),
  allowSharedKeyAccess: z.boolean().optional(),
  encryption: encryptionOutput,
  tags: tagsOutput,
});

export function accountDetails(account: StorageAccount, resourceGroup: string): z.input<typeof accountDetailsOutput> {
  return {
    id: account.id ?? '',
    name: account.name ?? '',
    resourceGroup,
    location: account.location,
    kind: account.kind,
    sku: account.sku?.name,
    provisioningState: account.provisioningState,
    createdAt: isoTime(account.creationTime),
    httpsOnly: account.enableHttpsTrafficOnly,
    minimumTlsVersion: account.minimumTlsVersion,
    allowBlobPublicAccess: account.allowBlobPublicAccess,
    allowSharedKeyAccess: account.allowSharedKeyAccess,
    encryption: encryptionOf(account),
    tags: tagsOf(account.tags),
  };
}
