import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { TOOLS } from '../shared/tools/registry.js';
import { requiredPermissions } from '../dev/role-actions.js';

/** Least privilege, checked: the identity's custom role holds exactly what the tools declare they use. */
describe('custom RBAC roles in infra/', () => {
  const reader = JSON.parse(readFileSync('infra/roles/sovereign-mcp-reader.json', 'utf8'));

  it('grants the reader role exactly the actions the read tools use', () => {
    const needed = requiredPermissions(TOOLS, ['read']);
    expect({ actions: [...reader.Actions].sort(), dataActions: [...reader.DataActions].sort() }).toEqual(needed);
  });

  it('has no wildcard, write, delete or authorization action', () => {
    for (const action of [...reader.Actions, ...reader.DataActions]) {
      expect(action).not.toMatch(/\*|\/write$|\/delete$|^Microsoft\.Authorization\//i);
    }
  });
});
