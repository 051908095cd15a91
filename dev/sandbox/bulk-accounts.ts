// Synthetic storage accounts for benchmarks, held in memory only: regenerated at every start (and reset) instead of
// being written to state.json, and indexed by name and group so a lookup or a page costs O(1) or O(page size).
import type { ArmResource } from './model.js';

const STORAGE_TYPE = 'microsoft.storage/storageaccounts';

export class BulkAccounts {
  private byName = new Map<string, ArmResource>();
  /** Lower-cased group → its accounts in name order. */
  private byGroup = new Map<string, ArmResource[]>();
  private ordered: ArmResource[] = [];

  constructor(accounts: readonly ArmResource[] = []) {
    for (const a of accounts) {
      this.byName.set(a.name.toLowerCase(), a);
      const key = a.resourceGroup.toLowerCase();
      const list = this.byGroup.get(key) ?? [];
      list.push(a);
      this.byGroup.set(key, list);
    }
    this.ordered = [...accounts];
  }

  get size(): number {
    return this.ordered.length;
  }

  all(): readonly ArmResource[] {
    return this.ordered;
  }

  inGroup(group: string): readonly ArmResource[] {
    return this.byGroup.get(group.toLowerCase()) ?? [];
  }

  get(name: string, group?: string): ArmResource | undefined {
    const hit = this.byName.get(name.toLowerCase());
    return hit && (group === undefined || hit.resourceGroup.toLowerCase() === group.toLowerCase()) ? hit : undefined;
  }

  /** The bulk account `id` names, if it is one. */
  byId(id: string): ArmResource | undefined {
    const lower = id.toLowerCase();
    if (!lower.includes(`/providers/${STORAGE_TYPE}/`)) return undefined;
    const hit = this.byName.get(lower.slice(lower.lastIndexOf('/') + 1));
    return hit && hit.id.toLowerCase() === lower ? hit : undefined;
  }

  /** Replaces a bulk account in place (same id); false when `resource` is not one. */
  replace(resource: ArmResource): boolean {
    const old = this.byId(resource.id);
    if (!old) return false;
    this.byName.set(old.name.toLowerCase(), resource);
    swap(this.ordered, old, resource);
    swap(this.byGroup.get(old.resourceGroup.toLowerCase()) ?? [], old, resource);
    return true;
  }

  /** Forgets a bulk account; false when `id` is not one. */
  remove(id: string): boolean {
    const old = this.byId(id);
    if (!old) return false;
    this.byName.delete(old.name.toLowerCase());
    this.ordered = this.ordered.filter((a) => a !== old);
    const key = old.resourceGroup.toLowerCase();
    this.byGroup.set(
      key,
      (this.byGroup.get(key) ?? []).filter((a) => a !== old),
    );
    return true;
  }

  removeGroup(group: string): void {
    const key = group.toLowerCase();
    const gone = new Set(this.byGroup.get(key) ?? []);
    if (gone.size === 0) return;
    for (const a of gone) this.byName.delete(a.name.toLowerCase());
    this.ordered = this.ordered.filter((a) => !gone.has(a));
    this.byGroup.delete(key);
  }
}

function swap<T>(list: T[], from: T, to: T): void {
  const i = list.indexOf(from);
  if (i >= 0) list[i] = to;
}
