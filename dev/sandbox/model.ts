// Shapes of the twin's persisted state. ARM resources are kept close to their wire form so rendering is a copy.

export type Tags = Record<string, string>;

export interface ResourceGroup {
  name: string;
  location: string;
  tags: Tags;
  provisioningState: 'Succeeded' | 'Deleting';
}

export interface ArmResource {
  id: string;
  name: string;
  type: string;
  location: string;
  resourceGroup: string;
  tags: Tags;
  kind?: string;
  sku?: { name: string; tier?: string; family?: string };
  identity?: Record<string, unknown>;
  properties: Record<string, unknown>;
  /** VMs only: the `PowerState/...` code shown in the instance view. */
  powerState?: string;
  /** Storage accounts created at run time: the spare Azurite account that serves their blobs and tables. */
  dataPlaneAccount?: string;
}

export interface KeyVersion {
  version: string;
  kty: 'RSA';
  keySize: number;
  /** Public modulus and exponent, base64url. The private half is never kept. */
  n: string;
  e: string;
  /**
   * Sandbox only, and only for a key the twin signs with (the catalogue signing key): its private half, PKCS#8 PEM.
   * Never rendered in any answer; every other key's private half is discarded when it is made.
   */
  privateKeyPem?: string;
  keyOps: string[];
  enabled: boolean;
  created: number;
  updated: number;
  exp?: number;
  nbf?: number;
  tags: Tags;
}

export interface LifetimeAction {
  trigger: { timeAfterCreate?: string; timeBeforeExpiry?: string };
  action: { type: 'Rotate' | 'Notify' };
}

export interface RotationPolicy {
  lifetimeActions: LifetimeAction[];
  expiryTime?: string;
  created: number;
  updated: number;
}

export interface VaultKey {
  name: string;
  /** Oldest first; the last one is the current version. */
  versions: KeyVersion[];
  rotationPolicy?: RotationPolicy;
}

export interface DeletedKey extends VaultKey {
  deletedDate: number;
  scheduledPurgeDate: number;
}

export interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  enabled: boolean;
  created: number;
  updated: number;
  tags: Tags;
}

export interface VaultSecret {
  name: string;
  /** Oldest first; the last one is the current version. */
  versions: SecretVersion[];
}

export interface VaultData {
  keys: Record<string, VaultKey>;
  deletedKeys: Record<string, DeletedKey>;
  /** Absent in state files written before the twin served secrets. */
  secrets?: Record<string, VaultSecret>;
}

export interface SeedBlob {
  account: string;
  container: string;
  name: string;
  contentType: string;
  content: string | Uint8Array;
}

/** The URLs baked into stored resources; rebased when a restart lands on other ports. */
export interface Endpoints {
  vaultUrls: Record<string, string>;
  blobUrl: string;
  tableUrl: string;
}

export interface StateData {
  endpoints: Endpoints;
  resourceGroups: ResourceGroup[];
  resources: ArmResource[];
  vaults: Record<string, VaultData>;
  /** Activity-log events in wire shape, oldest first. */
  activityLog: Record<string, unknown>[];
  /** Spare Azurite accounts ever handed out (kept across resets, since Azurite keeps their data). */
  usedDataPlanes?: string[];
}
