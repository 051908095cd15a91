import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { TOOLS } from '../shared/tools/registry.js';
import { requiredPermissions } from '../dev/role-actions.js';

/**
 * Least privilege, checked: the identity's read roles hold exactly what the read tools declare. They are split by
 * where the rights apply — the Reader for the managed resource groups, the Key Reader for the department Key Vault
 * only — so no Key Vault right is ever granted on a whole resource group (test/infra checks every role and scope).
 */
describe('custom RBAC roles in infra/', () => {
  const reader = JSON.parse(readFileSync('infra/roles/sovereign-mcp-reader.json', 'utf8'));
  const keyReader = JSON.parse(readFileSync('infra/roles/sovereign-mcp-key-reader.json', 'utf8'));
  const union = (...lists: string[][]) => [...new Set(lists.flat())].sort();

  it('grants the read roles, together, exactly the actions the read tools use', () => {
    const needed = requiredPermissions(TOOLS, ['read']);
    expect({ actions: union(reader.Actions, keyReader.Actions), dataActions: union(reader.DataActions, keyReader.DataActions) }).toEqual(needed);
  });

  it('keeps Key Vault rights out of the Reader and everything else out of the Key Reader', () => {
    for (const action of [...reader.Actions, ...reader.DataActions]) expect(action).not.toMatch(/^Microsoft\.KeyVault\//i);
    for (const action of [...keyReader.Actions, ...keyReader.DataActions]) expect(action).toMatch(/^Microsoft\.KeyVault\//i);
  });

  it('has no wildcard, write, delete or authorization action', () => {
    for (const action of [...reader.Actions, ...reader.DataActions, ...keyReader.Actions, ...keyReader.DataActions]) {
      expect(action).not.toMatch(/\*|\/write$|\/delete$|^Microsoft\.Authorization\//i);
    }
  });
});
