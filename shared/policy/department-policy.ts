import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import { AUTH_CONTEXT_ID } from '../auth/step-up.js';
import { GUID } from '../domain/caller.js';
import { parseResourceId } from './resource-ids.js';

/** Only the two UK regions can ever be allowed: sovereignty is not a department option. */
export const UK_REGIONS = ['uksouth', 'ukwest'] as const;

const resourceGroupName = z
  .string()
  // linear: anchored, at most 90 characters: a constant bound on any retry.
  .regex(/^[-\w._()]{0,89}[-\w_()]$/, 'must be a resource group name')
  .transform((name) => name.toLowerCase());
/**
 * An Azure resource id the policy can enforce (subscription, resource group, resource or child resource),
 * normalised; anything else is refused with the reason, so no entry is silently never matched.
 */
const resourceId = z.string().transform((raw, context) => {
  const parsed = parseResourceId(raw);
  if ('problem' in parsed) {
    context.addIssue({ code: 'custom', message: `'${raw.slice(0, 120)}' ${parsed.problem}` });
    return z.NEVER;
  }
  return parsed.id;
});
const window = z.object({
  requests: z.number().int().min(1).max(1_000_000),
  perSeconds: z.number().int().min(1).max(86_400),
});

const clientAppId = z
  .string()
  .refine((id) => GUID.test(id), "must be a client app id (a GUID: the application id of the agent's app registration)")
  .transform((id) => id.toLowerCase());

const authContext = z.string().regex(AUTH_CONTEXT_ID, 'must be a Conditional Access authentication context id, c1 to c99');

function schema(toolNames: readonly string[], exceptionTools: readonly string[]) {
  const toolName = z.string().refine((name) => toolNames.includes(name), { error: 'is not a tool of this server' });
  const exceptionTool = z
    .string()
    .refine((name) => exceptionTools.includes(name), { error: `only these tools can be excepted: ${exceptionTools.join(', ')} (destructive tools never are)` });
  return z
    .object({
      department: z.string().min(1),
      regions: z.array(z.enum(UK_REGIONS, { error: `only ${UK_REGIONS.join(' and ')} can be allowed: data stays in the UK` })).min(1),
      resourceGroups: z.array(resourceGroupName).min(1, 'list at least one resource group'),
      protected: z
        .object({
          tag: z.object({ name: z.string().min(1), value: z.string() }).strict(),
          /** Protected with everything beneath them: subscriptions, resource groups, resources, child resources. */
          resources: z.array(resourceId).default([]),
          /**
           * Work a department does allow beneath a protected resource, each an audited rule of its own: `tool` may
           * change what lies beneath `resource` although `resource` (or anything above it) is protected. What lies
           * beneath and is protected itself (its own tag, or listed) stays protected.
           */
          exceptions: z
            .array(z.object({ tool: exceptionTool, resource: resourceId, reason: z.string().trim().min(1, 'say why the exception exists') }).strict())
            .default([]),
        })
        .strict(),
      /** The department Key Vault's Resource Manager id (the vault KEY_VAULT_URL names): its tags protect its keys. */
      keyVault: z
        .object({
          // Kept as written (it is sent to Resource Manager); the policy compares it normalised.
          resourceId: z.string().refine((raw) => {
            const parsed = parseResourceId(raw);
            return !('problem' in parsed) && parsed.kind === 'resource' && parsed.id.includes('/providers/microsoft.keyvault/vaults/');
          }, 'must be the id of a Key Vault: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name>'),
        })
        .strict()
        .optional(),
      /**
       * Step-up: the Conditional Access authentication context (Entra's `c1` … `c99`) a token must carry in its
       * `acrs` claim to call a tool of each tier, and an approver's sign-in to decide a destructive request.
       */
      stepUp: z.object({ write: authContext.optional(), destructive: authContext.optional(), approve: authContext.optional() }).strict().default({}),
      /**
       * Agents acting as themselves (app-only tokens): they read; they call write tools, or request destructive
       * ones, only if their client app id (azp/appid) is listed here. They never approve (approvals need a person).
       */
      agents: z
        .object({ write: z.array(clientAppId).default([]), destructive: z.array(clientAppId).default([]) })
        .strict()
        .default({ write: [], destructive: [] }),
      /**
       * Scoped authority (optional): which Entra group (`group`, from the groups claim) or app role (`role`) may
       * read, change or request deletion in which managed resource groups. Absent: every caller's role applies to
       * every managed group. Present: a call that touches a group needs a grant for its tier there (changing or
       * deleting somewhere includes reading there), and list tools show only groups the caller may read.
       */
      scopes: z
        .array(
          z
            .object({
              group: z
                .string()
                .refine((id) => GUID.test(id), 'must be an Entra group object id (a GUID)')
                .transform((id) => id.toLowerCase())
                .optional(),
              role: z.string().min(1).optional(),
              read: z.array(resourceGroupName).default([]),
              change: z.array(resourceGroupName).default([]),
              delete: z.array(resourceGroupName).default([]),
            })
            .strict()
            .refine(
              (grant) => (grant.group === undefined) !== (grant.role === undefined),
              'name exactly one of group (an Entra group id) or role (an app role)',
            ),
        )
        .optional(),
      disabledTools: z.array(toolName).default([]),
      readOnly: z.boolean().default(false),
      requiredTags: z.array(z.string().min(1)).default([]),
      storage: z
        .object({
          /** The department key (in KEY_VAULT_URL) new storage accounts are encrypted with. */
          // linear: anchored single class, at most 127 characters.
          cmkKey: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'must be a Key Vault key name'),
          infrastructureEncryption: z.boolean().default(true),
          /**
           * Redundancy SKUs new accounts may use, per region (the first is the default); a plain list applies to
           * every allowed region. UK West has no availability zones, so zone-redundant SKUs are refused there.
           */
          skus: z.union([skuList, z.object({ uksouth: skuList.optional(), ukwest: skuList.optional() }).strict()]).default(DEFAULT_SKUS),
        })
        .strict(),
      rateLimits: z.object({ default: window.strict(), tools: z.record(toolName, window.strict()).default({}) }).strict(),
    })
    .strict()
    .transform((policy, context) => {
      // Key tools are scoped by the vault's resource group: without the vault's id they could not be.
      if (policy.scopes && !policy.keyVault) {
        context.addIssue({
          code: 'custom',
          path: ['scopes'],
          message: "scoped authority needs keyVault.resourceId, so key tools are scoped by the vault's resource group",
        });
      }
      for (const [index, grant] of (policy.scopes ?? []).entries()) {
        for (const tier of ['read', 'change', 'delete'] as const) {
          for (const [at, group] of grant[tier].entries()) {
            if (!policy.resourceGroups.some((managed) => managed.toLowerCase() === group.toLowerCase())) {
              context.addIssue({ code: 'custom', path: ['scopes', index, tier, at], message: `${group} is not one of the managed resourceGroups` });
            }
          }
        }
      }
      const skus = skusByRegion(policy.regions, policy.storage.skus, context);
      return { ...policy, storage: { ...policy.storage, skus } };
    });
}

const STORAGE_SKUS = ['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'] as const;
export type StorageSku = (typeof STORAGE_SKUS)[number];
const skuList = z.array(z.enum(STORAGE_SKUS)).min(1);
/** Zone-redundant SKUs need availability zones, which UK South has and UK West does not. */
const ZONE_REDUNDANT: readonly StorageSku[] = ['Standard_ZRS', 'Standard_GZRS', 'Standard_RAGZRS'];
const REGIONS_WITHOUT_ZONES: readonly string[] = ['ukwest'];
const DEFAULT_SKUS: Record<(typeof UK_REGIONS)[number], StorageSku[]> = {
  uksouth: ['Standard_ZRS', 'Standard_GZRS'],
  ukwest: ['Standard_LRS', 'Standard_GRS'],
};

/** Every allowed region gets its list, and no region gets a SKU Azure does not offer there. */
function skusByRegion(
  regions: readonly (typeof UK_REGIONS)[number][],
  configured: StorageSku[] | Partial<Record<(typeof UK_REGIONS)[number], StorageSku[] | undefined>>,
  context: z.RefinementCtx,
): Partial<Record<(typeof UK_REGIONS)[number], StorageSku[]>> {
  const byRegion: Partial<Record<(typeof UK_REGIONS)[number], StorageSku[]>> = {};
  for (const region of regions) {
    const list = Array.isArray(configured) ? configured : configured[region];
    const path = Array.isArray(configured) ? ['storage', 'skus'] : ['storage', 'skus', region];
    if (!list) {
      context.addIssue({ code: 'custom', path: ['storage', 'skus'], message: `list the SKUs allowed in ${region} (every allowed region needs its list)` });
      continue;
    }
    const unavailable = REGIONS_WITHOUT_ZONES.includes(region) ? list.filter((sku) => ZONE_REDUNDANT.includes(sku)) : [];
    if (unavailable.length > 0) {
      context.addIssue({
        code: 'custom',
        path,
        message: `${unavailable.join(', ')} ${unavailable.length > 1 ? 'are' : 'is'} not offered in ${region}, which has no availability zones; use Standard_LRS or Standard_GRS there`,
      });
    }
    byRegion[region] = list;
  }
  return byRegion;
}

export type DepartmentPolicy = z.output<ReturnType<typeof schema>> & { source: string };

/** The policy file is wrong; the message names the file, the line and what to fix. */
export class PolicyError extends Error {
  override name = 'PolicyError';
}

/**
 * `exceptionTools`: the tools a protection exception may name (the write tools; by default any tool, for callers
 * that only check the file's shape).
 */
export function loadDepartmentPolicy(file: string, toolNames: readonly string[], exceptionTools: readonly string[] = toolNames): DepartmentPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new PolicyError(`Sovereign MCP cannot start: the department policy file ${file} cannot be read (MCP_POLICY_FILE).`);
  }
  return parseDepartmentPolicy(text, file, toolNames, exceptionTools);
}

/** Parses and validates a department policy, reporting every problem with its line number. */
export function parseDepartmentPolicy(
  text: string,
  source: string,
  toolNames: readonly string[],
  exceptionTools: readonly string[] = toolNames,
): DepartmentPolicy {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number) => lines.linePos(offset).line;
  const fail = (problems: string[]) =>
    new PolicyError(`Sovereign MCP cannot start: the department policy ${source} is invalid\n${problems.map((p) => `  ${p}`).join('\n')}`);

  if (document.errors.length > 0) {
    throw fail(document.errors.map((error) => `line ${lineOf(error.pos[0])}: ${error.message.split('\n')[0]}`));
  }
  const parsed = schema(toolNames, exceptionTools).safeParse(document.toJS());
  if (!parsed.success) {
    throw fail(
      parsed.error.issues.flatMap((issue) => {
        if (issue.code === 'unrecognized_keys') {
          // Usually a typo (readonly for readOnly): point at each unknown key's own line.
          const map = (issue.path.length ? document.getIn(issue.path as (string | number)[], true) : document.contents) as
            { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] } | undefined;
          return issue.keys.map((key) => {
            const range = map?.items?.find((pair) => pair.key?.value === key)?.key?.range;
            const name = [...issue.path, key].join('.');
            return `line ${range ? lineOf(range[0]) : 1}: ${name}: unknown setting (check the spelling)`;
          });
        }
        // The closest node that exists: a missing key is reported at its parent.
        let path = issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key));
        let node = document.getIn(path, true) as { range?: [number, number, number] } | undefined;
        while (!node?.range && path.length > 0) {
          path = path.slice(0, -1);
          node = (path.length ? document.getIn(path, true) : document.contents) as typeof node;
        }
        const where = node?.range ? `line ${lineOf(node.range[0])}` : 'line 1';
        const name = issue.path.join('.') || '(document)';
        return [`${where}: ${name}: ${issue.message}`];
      }),
    );
  }
  return { ...parsed.data, source };
}
