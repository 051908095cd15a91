import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';

/** Only the two UK regions can ever be allowed: sovereignty is not a department option. */
export const UK_REGIONS = ['uksouth', 'ukwest'] as const;

const resourceGroupName = z
  .string()
  .regex(/^[-\w._()]{0,89}[-\w_()]$/, 'must be a resource group name')
  .transform((name) => name.toLowerCase());
const window = z.object({
  requests: z.number().int().min(1).max(1_000_000),
  perSeconds: z.number().int().min(1).max(86_400),
});

function schema(toolNames: readonly string[]) {
  const toolName = z.string().refine((name) => toolNames.includes(name), { error: 'is not a tool of this server' });
  return z
    .object({
      department: z.string().min(1),
      regions: z
        .array(z.enum(UK_REGIONS, { error: `only ${UK_REGIONS.join(' and ')} can be allowed: data stays in the UK` }))
        .min(1),
      resourceGroups: z.array(resourceGroupName).min(1, 'list at least one resource group'),
      protected: z
        .object({
          tag: z.object({ name: z.string().min(1), value: z.string() }).strict(),
          resources: z
            .array(z.string().regex(/^\/subscriptions\/[^/]+(\/resourcegroups\/[^/]+(\/providers\/.+)?)?$/i, 'must be an Azure resource id'))
            .default([])
            .transform((ids) => ids.map((id) => id.toLowerCase().replace(/\/+$/, ''))),
        })
        .strict(),
      disabledTools: z.array(toolName).default([]),
      readOnly: z.boolean().default(false),
      requiredTags: z.array(z.string().min(1)).default([]),
      storage: z
        .object({
          /** The department key (in KEY_VAULT_URL) new storage accounts are encrypted with. */
          cmkKey: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'must be a Key Vault key name'),
          infrastructureEncryption: z.boolean().default(true),
          /**
           * Redundancy SKUs new accounts may use, per region (the first is the default); a plain list applies to
           * every allowed region. UK West has no availability zones, so zone-redundant SKUs are refused there.
           */
          skus: z
            .union([skuList, z.object({ uksouth: skuList.optional(), ukwest: skuList.optional() }).strict()])
            .default(DEFAULT_SKUS),
        })
        .strict(),
      rateLimits: z
        .object({ default: window.strict(), tools: z.record(toolName, window.strict()).default({}) })
        .strict(),
    })
    .strict()
    .transform((policy, context) => {
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
const DEFAULT_SKUS: Record<(typeof UK_REGIONS)[number], StorageSku[]> = { uksouth: ['Standard_ZRS', 'Standard_GZRS'], ukwest: ['Standard_LRS', 'Standard_GRS'] };

/** Every allowed region gets its list, and no region gets a SKU Azure does not offer there. */
function skusByRegion(
  regions: readonly (typeof UK_REGIONS)[number][],
  configured: StorageSku[] | Partial<Record<(typeof UK_REGIONS)[number], StorageSku[]>>,
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
      context.addIssue({ code: 'custom', path, message: `${unavailable.join(', ')} ${unavailable.length > 1 ? 'are' : 'is'} not offered in ${region}, which has no availability zones; use Standard_LRS or Standard_GRS there` });
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

export function loadDepartmentPolicy(file: string, toolNames: readonly string[]): DepartmentPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new PolicyError(`Sovereign MCP cannot start: the department policy file ${file} cannot be read (MCP_POLICY_FILE).`);
  }
  return parseDepartmentPolicy(text, file, toolNames);
}

/** Parses and validates a department policy, reporting every problem with its line number. */
export function parseDepartmentPolicy(text: string, source: string, toolNames: readonly string[]): DepartmentPolicy {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number) => lines.linePos(offset).line;
  const fail = (problems: string[]) =>
    new PolicyError(`Sovereign MCP cannot start: the department policy ${source} is invalid\n${problems.map((p) => `  ${p}`).join('\n')}`);

  if (document.errors.length > 0) {
    throw fail(document.errors.map((error) => `line ${lineOf(error.pos[0])}: ${error.message.split('\n')[0]}`));
  }
  const parsed = schema(toolNames).safeParse(document.toJS());
  if (!parsed.success) {
    throw fail(
      parsed.error.issues.flatMap((issue) => {
        if (issue.code === 'unrecognized_keys') {
          // Usually a typo (readonly for readOnly): point at each unknown key's own line.
          const map = (issue.path.length ? document.getIn(issue.path as (string | number)[], true) : document.contents) as
            | { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] }
            | undefined;
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
