import * as z from 'zod';
import { defineTool } from '../tool.js';

export default defineTool({
  name: 'access_whoami',
  version: '1.0.0',
  title: 'Who am I',
  description:
    'Shows the caller as this server sees them (Entra object id, tenant, client app, roles, token expiry) and the scope the server manages. Use it to understand why a call is allowed or refused.',
  risk: 'read',
  azurePermissions: { actions: [], dataActions: [] },
  input: z.strictObject({}),
  output: z.object({
    oid: z.string(),
    tenantId: z.string(),
    name: z.string().optional(),
    clientAppId: z.string().optional(),
    roles: z.array(z.string()),
    scopes: z.array(z.string()),
    tokenExpiresAt: z.string(),
    subscriptionId: z.string(),
    resourceGroups: z.array(z.string()),
  }),
  async handler(_args, { caller, settings, department }) {
    return {
      oid: caller.oid,
      tenantId: caller.tid,
      name: caller.name,
      clientAppId: caller.clientAppId,
      roles: [...caller.roles],
      scopes: [...caller.scopes],
      tokenExpiresAt: new Date(caller.expiresAt * 1000).toISOString(),
      subscriptionId: settings.subscriptionId,
      resourceGroups: [...department.resourceGroups],
    };
  },
});
