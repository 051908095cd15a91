import * as z from 'zod';

export const keyName = z
  .string()
  // linear: anchored, at most 127 characters.
  .regex(/^[0-9a-zA-Z-]{1,127}$/, 'key names are 1-127 letters, digits and hyphens')
  .describe('Key name in the department Key Vault');

// linear: anchored, fixed length: at most 33 steps.
export const keyVersion = z
  .string()
  .regex(/^[0-9a-f]{32}$/i, 'key versions are 32 hexadecimal characters')
  .describe('Key version');
