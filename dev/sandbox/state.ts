// The twin's mutable state: seeded on first run, persisted to {dataDir}/state.json after every mutation.
// Synthetic bulk storage accounts (for benchmarks) sit beside it in memory and are never persisted.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BulkAccounts } from './bulk-accounts.js';
import { newRsaKeys, type RsaKeySource } from './kept-keys.js';
import type { ArmResource, Endpoints, ResourceGroup, StateData, VaultData } from './model.js';
import { type Sliceable, concat } from './paging.js';
import {
  AUDIT_SECRETS,
  CATALOGUE_SIGNING_KEY_NAME,
  SPARE_DATA_PLANE_ACCOUNTS,
  VAULT_NAME,
  buildSeed,
  bulkStorageAccounts,
  seedAuditKeySecret,
  seedCatalogueSigningKey,
} from './seed.js';

const STORAGE_TYPE = 'Microsoft.Storage/storageAccounts';

export interface StateOptions {
  /** How many synthetic `stbulk…` storage accounts to generate in memory. */
  extraStorageAccounts?: number;
  /** Where a fresh seed's catalogue signing key comes from (a new key by default). */
  rsaKeys?: RsaKeySource;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Rewrites URLs stored inside resources when the listeners came up on different ports than last time. */
function rebase(data: StateData, next: Endpoints): StateData {
  let json = JSON.stringify(data);
  const swap = (from: string | undefined, to: string | undefined): void => {
    if (!from || !to || from === to) return;
    // The lookahead stops https://h:1000 from matching inside https://h:10000.
    json = json.replace(new RegExp(`${escapeRegex(from.replace(/\/$/, ''))}(?=[/"])`, 'g'), to.replace(/\/$/, ''));
  };
  swap(data.endpoints.blobUrl, next.blobUrl);
  swap(data.endpoints.tableUrl, next.tableUrl);
  for (const [name, url] of Object.entries(data.endpoints.vaultUrls)) swap(url, next.vaultUrls[name]);
  return { ...(JSON.parse(json) as StateData), endpoints: next };
}

/** Operations interrupted by a restart are treated as finished. */
function settleInterrupted(data: StateData): void {
  const deleting = data.resourceGroups.filter((g) => g.provisioningState === 'Deleting').map((g) => g.name.toLowerCase());
  data.resourceGroups = data.resourceGroups.filter((g) => !deleting.includes(g.name.toLowerCase()));
  data.resources = data.resources.filter((r) => !deleting.includes(r.resourceGroup.toLowerCase()));
  for (const r of data.resources) if (r.properties['provisioningState'] === 'Creating') r.properties['provisioningState'] = 'Succeeded';
}

export class TwinState {
  private bulk = new BulkAccounts();

  private constructor(
    private readonly file: string,
    private data: StateData,
    private readonly extraStorageAccounts: number,
    private readonly rsaKeys: RsaKeySource,
  ) {
    this.regenerateBulk();
  }

  static async open(dataDir: string, endpoints: Endpoints, opts: StateOptions = {}): Promise<TwinState> {
    const rsaKeys = opts.rsaKeys ?? newRsaKeys;
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'state.json');
    let data: StateData;
    if (existsSync(file)) {
      data = rebase(JSON.parse(readFileSync(file, 'utf8')) as StateData, endpoints);
      settleInterrupted(data);
      // A state file from before the vault held the audit key gets one, so `npm start` keeps working.
      const vault = data.vaults[VAULT_NAME];
      if (vault) seedAuditKeySecret(vault);
      // Likewise the catalogue signing key.
      if (vault) await seedCatalogueSigningKey(vault, Date.now(), rsaKeys);
    } else {
      data = await buildSeed(endpoints, Date.now(), rsaKeys);
    }
    const state = new TwinState(file, data, opts.extraStorageAccounts ?? 0, rsaKeys);
    state.save();
    return state;
  }

  get endpoints(): Endpoints {
    return this.data.endpoints;
  }

  save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 1));
    renameSync(tmp, this.file);
  }

  async reset(): Promise<void> {
    // The estate goes back to its seed; the app's audit keys do not (like the audit container in Azurite): records
    // already sealed with them must still verify, and their pseudonyms still match, after a reset. Spare data
    // planes already handed out stay handed out.
    const secrets = this.data.vaults[VAULT_NAME]?.secrets ?? {};
    const auditSecrets = Object.fromEntries(Object.keys(AUDIT_SECRETS).flatMap((name) => (secrets[name] ? [[name, secrets[name]]] : [])));
    // Nor does the catalogue signing key: a client that pinned it keeps verifying the catalogue.
    const signingKey = this.data.vaults[VAULT_NAME]?.keys[CATALOGUE_SIGNING_KEY_NAME];
    const usedDataPlanes = this.data.usedDataPlanes;
    this.data = { ...(await buildSeed(this.data.endpoints, Date.now(), this.rsaKeys)), ...(usedDataPlanes ? { usedDataPlanes } : {}) };
    const vault = this.data.vaults[VAULT_NAME];
    if (vault) vault.secrets = { ...vault.secrets, ...auditSecrets };
    if (signingKey && vault) vault.keys[CATALOGUE_SIGNING_KEY_NAME] = signingKey;
    this.regenerateBulk();
    this.save();
  }

  /** Bulk accounts point at the vault's keys as they are now, so they are rebuilt whenever the state is. */
  private regenerateBulk(): void {
    const keys = this.data.vaults[VAULT_NAME]?.keys ?? {};
    this.bulk = new BulkAccounts(this.extraStorageAccounts > 0 ? bulkStorageAccounts(this.extraStorageAccounts, keys, this.data.endpoints) : []);
  }

  // ---- resource groups

  groups(): ResourceGroup[] {
    return this.data.resourceGroups;
  }

  group(name: string): ResourceGroup | undefined {
    return this.data.resourceGroups.find((g) => same(g.name, name));
  }

  putGroup(group: ResourceGroup): void {
    const i = this.data.resourceGroups.findIndex((g) => same(g.name, group.name));
    if (i >= 0) this.data.resourceGroups[i] = group;
    else this.data.resourceGroups.push(group);
    this.save();
  }

  /** Removes the group and everything in it. */
  removeGroup(name: string): void {
    this.data.resourceGroups = this.data.resourceGroups.filter((g) => !same(g.name, name));
    this.data.resources = this.data.resources.filter((r) => !same(r.resourceGroup, name));
    this.bulk.removeGroup(name);
    this.save();
  }

  // ---- ARM resources

  /** The persisted resources only (no bulk accounts). */
  resources(): ArmResource[] {
    return this.data.resources;
  }

  /** Persisted resources, then bulk accounts, optionally of one group: a view that pages without copying the bulk. */
  allResources(group?: string): Sliceable<ArmResource> {
    const stored = group === undefined ? this.data.resources : this.data.resources.filter((r) => same(r.resourceGroup, group));
    return concat(stored, group === undefined ? this.bulk.all() : this.bulk.inGroup(group));
  }

  /** Persisted storage accounts, then bulk ones, optionally of one group. */
  storageAccounts(group?: string): Sliceable<ArmResource> {
    const stored = this.data.resources.filter((r) => r.type === STORAGE_TYPE && (group === undefined || same(r.resourceGroup, group)));
    return concat(stored, group === undefined ? this.bulk.all() : this.bulk.inGroup(group));
  }

  resource(type: string, group: string | undefined, name: string): ArmResource | undefined {
    const stored = this.data.resources.find((r) => same(r.type, type) && same(r.name, name) && (group === undefined || same(r.resourceGroup, group)));
    return stored ?? (same(type, STORAGE_TYPE) ? this.bulk.get(name, group) : undefined);
  }

  putResource(resource: ArmResource): void {
    // Bulk accounts change in memory only; writing state.json for them would defeat keeping them out of it.
    if (this.bulk.replace(resource)) return;
    const i = this.data.resources.findIndex((r) => same(r.id, resource.id));
    if (i >= 0) this.data.resources[i] = resource;
    else this.data.resources.push(resource);
    this.save();
  }

  removeResource(id: string): void {
    if (this.bulk.remove(id)) return;
    this.data.resources = this.data.resources.filter((r) => !same(r.id, id));
    this.save();
  }

  /**
   * A spare Azurite account for a storage account created now: one never handed out before (so it holds no earlier
   * account's data) while any is left, then one no current account uses; undefined when all are in use.
   */
  claimDataPlane(): string | undefined {
    const inUse = new Set(this.data.resources.map((r) => r.dataPlaneAccount).filter((name) => name !== undefined));
    const used = new Set(this.data.usedDataPlanes ?? []);
    const spare = SPARE_DATA_PLANE_ACCOUNTS.find((name) => !used.has(name)) ?? SPARE_DATA_PLANE_ACCOUNTS.find((name) => !inUse.has(name));
    if (spare && !used.has(spare)) this.data.usedDataPlanes = [...used, spare];
    return spare;
  }

  // ---- Key Vault data plane (callers mutate the returned object, then call save())

  vaultNames(): string[] {
    return Object.keys(this.data.vaults);
  }

  vault(name: string): VaultData | undefined {
    return this.data.vaults[name];
  }

  // ---- activity log

  activityLog(): Record<string, unknown>[] {
    return this.data.activityLog;
  }

  appendActivity(event: Record<string, unknown>): void {
    this.data.activityLog.push(event);
    this.save();
  }
}
