// Azure Resource Manager routes: resource groups, generic resources, Storage RP, Compute VMs and the activity log.
import { randomUUID } from 'node:crypto';
import { errors as joseErrors } from 'jose';
import type { Call, TwinContext } from './context.js';
import { HttpError, bearerToken, readJson, sendJson } from './http.js';
import { verifyToken } from './issuer.js';
import { authorizeUser } from './user-rbac.js';
import type { ArmResource, ResourceGroup, Tags } from './model.js';
import { type Sliceable, page } from './paging.js';
import { eventData } from './seed.js';

const ARM_AUDIENCES = ['https://management.azure.com', 'https://management.azure.com/'];
const STORAGE_TYPE = 'Microsoft.Storage/storageAccounts';
const VM_TYPE = 'Microsoft.Compute/virtualMachines';

type Handler = (ctx: TwinContext, call: Call, m: string[]) => Promise<void> | void;
interface Route {
  methods: string[];
  pattern: RegExp;
  handler: Handler;
}

const SUB = '/subscriptions/([^/]+)';
const RG = `${SUB}/resourcegroups/([^/]+)`;
const route = (methods: string, path: string, handler: Handler): Route => ({
  methods: methods.split('|'),
  pattern: new RegExp(`^${path}$`, 'i'),
  handler,
});

// ---- auth, throttling headers, request-level checks

async function authenticate(ctx: TwinContext, call: Call): Promise<void> {
  const token = bearerToken(call.req);
  const challenge = {
    'www-authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${ctx.tenantId}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
  };
  if (!token) throw new HttpError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", challenge);
  let payload;
  try {
    payload = await verifyToken(await ctx.issuerKeys.published(), token, ARM_AUDIENCES);
  } catch (e) {
    const why =
      e instanceof joseErrors.JWTExpired
        ? 'The token is expired.'
        : e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'aud'
          ? `The access token has been obtained for wrong audience or resource. It should exactly match one of the allowed audiences ${ARM_AUDIENCES.map((a) => `'${a}'`).join(', ')}.`
          : 'The access token is invalid (signature, format or validity period).';
    throw new HttpError(401, 'InvalidAuthenticationToken', why);
  }
  if (payload['tid'] !== ctx.tenantId) {
    throw new HttpError(
      401,
      'InvalidAuthenticationTokenTenant',
      `The access token is from the wrong issuer tenant '${String(payload['tid'])}'. It must match tenant '${ctx.tenantId}'.`,
    );
  }
  // Like Azure, the activity log names users by UPN and service principals by object id.
  call.caller = [payload['upn'], payload['unique_name'], payload['oid'], payload.sub].find((claim): claim is string => typeof claim === 'string') ?? 'unknown';
  // A token issued on a person's behalf acts with the person's own role assignments.
  if (payload['idtyp'] === 'user') authorizeUser(ctx, call, { oid: String(payload['oid']), upn: call.caller });
}

/** Appends a successful write to the activity log, so the app's own changes show up in audits. */
function recordActivity(ctx: TwinContext, call: Call, op: string, opLabel: string, resourceId: string, group: string): void {
  ctx.state.appendActivity(
    eventData({ op, opLabel, caller: call.caller ?? 'unknown', resourceId, group }, new Date(), {
      eventDataId: randomUUID(),
      correlationId: call.headers['x-ms-correlation-request-id'] ?? randomUUID(),
      serviceRequestId: call.headers['x-ms-request-id'] ?? randomUUID(),
      clientIp: call.req.socket.remoteAddress ?? '127.0.0.1',
    }),
  );
}

function requireSubscription(ctx: TwinContext, sub: string | undefined): void {
  if (!sub || sub.toLowerCase() !== ctx.subscriptionId.toLowerCase()) {
    throw new HttpError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
  }
}

function requireGroup(ctx: TwinContext, name: string | undefined): ResourceGroup {
  const group = name ? ctx.state.group(name) : undefined;
  if (!group || group.provisioningState === 'Deleting') {
    throw new HttpError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`);
  }
  return group;
}

function notFound(type: string, group: string, name: string): HttpError {
  return new HttpError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

class Throttle {
  private windowStart = Date.now();
  private reads = 0;
  private writes = 0;

  headers(method: string): Record<string, string> {
    if (Date.now() - this.windowStart > 3600_000) {
      this.windowStart = Date.now();
      this.reads = this.writes = 0;
    }
    if (method === 'GET' || method === 'HEAD') return { 'x-ms-ratelimit-remaining-subscription-reads': String(Math.max(0, 11999 - this.reads++)) };
    return { 'x-ms-ratelimit-remaining-subscription-writes': String(Math.max(0, 1199 - this.writes++)) };
  }
}

// ---- rendering

function groupId(ctx: TwinContext, name: string): string {
  return `/subscriptions/${ctx.subscriptionId}/resourceGroups/${name}`;
}

function renderGroup(ctx: TwinContext, g: ResourceGroup): Record<string, unknown> {
  return {
    id: groupId(ctx, g.name),
    name: g.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: g.location,
    tags: g.tags,
    properties: { provisioningState: g.provisioningState },
  };
}

function renderGeneric(r: ArmResource): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    location: r.location,
    tags: r.tags,
    ...(r.kind !== undefined && { kind: r.kind }),
    ...(r.sku !== undefined && { sku: r.sku }),
    ...(r.identity !== undefined && { identity: r.identity }),
  };
}

function renderFull(r: ArmResource): Record<string, unknown> {
  return { ...renderGeneric(r), properties: r.properties };
}

const POWER_LABELS: Record<string, string> = {
  running: 'VM running',
  stopped: 'VM stopped',
  deallocated: 'VM deallocated',
  starting: 'VM starting',
  stopping: 'VM stopping',
  deallocating: 'VM deallocating',
};

function renderVm(r: ArmResource, withInstanceView: boolean): Record<string, unknown> {
  if (!withInstanceView) return renderFull(r);
  const power = r.powerState ?? 'running';
  const osProfile = r.properties['osProfile'] as { computerName?: string } | undefined;
  const instanceView = {
    computerName: osProfile?.computerName,
    statuses: [
      { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', time: r.properties['timeCreated'] },
      { code: `PowerState/${power}`, level: 'Info', displayStatus: POWER_LABELS[power] ?? `VM ${power}` },
    ],
  };
  return { ...renderGeneric(r), properties: { ...r.properties, instanceView } };
}

/** Renders only the requested page, so listing a large collection costs O(page size) beyond finding its items. */
function sendPage<T>(ctx: TwinContext, call: Call, items: Sliceable<T>, render: (item: T) => unknown): void {
  let body;
  try {
    body = page(items, call.url, ctx.pageSize, '$top');
  } catch (e) {
    throw new HttpError(400, 'InvalidSkipToken', `The $skiptoken is not valid: ${(e as Error).message}.`);
  }
  sendJson(call.res, 200, { ...body, value: body.value.map(render) }, call.headers);
}

// ---- $filter parsing (the small subset of OData that ARM list APIs accept)

type Clause = { field: string; op: 'eq' | 'ge' | 'le'; value: string };

function parseFilter(filter: string | null): Clause[] {
  if (!filter?.trim()) return [];
  return filter.split(/\s+and\s+/i).map((part) => {
    const m = /^\s*(\w+)\s+(eq|ge|le)\s+'((?:[^']|'')*)'\s*$/i.exec(part);
    if (!m)
      throw new HttpError(400, 'InvalidFilterInQueryString', `Invalid $filter clause '${part.trim()}'. Expected: <field> eq|ge|le '<value>', joined by 'and'.`);
    return { field: (m[1] as string).toLowerCase(), op: (m[2] as string).toLowerCase() as Clause['op'], value: (m[3] as string).replace(/''/g, "'") };
  });
}

const eqi = (a: unknown, b: string): boolean => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

function filterResources(all: Sliceable<ArmResource>, filter: string | null): Sliceable<ArmResource> {
  const clauses = parseFilter(filter);
  if (clauses.length === 0) return all;
  let tagName: string | undefined;
  const tests = clauses.map((c): ((r: ArmResource) => boolean) => {
    switch (c.field) {
      case 'resourcetype':
        return (r) => eqi(r.type, c.value);
      case 'name':
        return (r) => eqi(r.name, c.value);
      case 'location':
        return (r) => eqi(r.location, c.value);
      case 'resourcegroup':
        return (r) => eqi(r.resourceGroup, c.value);
      case 'tagname':
        tagName = c.value;
        return (r) => Object.keys(r.tags).some((k) => eqi(k, c.value));
      case 'tagvalue':
        return (r) => Object.entries(r.tags).some(([k, v]) => (tagName === undefined || eqi(k, tagName)) && v === c.value);
      default:
        throw new HttpError(
          400,
          'InvalidFilterInQueryString',
          `The $filter field '${c.field}' is not supported here. Supported: resourceType, name, location, resourceGroup, tagName, tagValue.`,
        );
    }
  });
  return all.slice(0, all.length).filter((r) => tests.every((t) => t(r)));
}

// ---- resource groups

const GROUP_NAME = /^[-\w.()]{1,90}$/;

function listGroups(ctx: TwinContext, call: Call): void {
  // Groups being deleted stay listed (provisioningState "Deleting") until the operation ends, as in ARM.
  sendPage(ctx, call, ctx.state.groups(), (g) => renderGroup(ctx, g));
}

async function putGroup(ctx: TwinContext, call: Call, name: string): Promise<void> {
  if (!GROUP_NAME.test(name) || name.endsWith('.')) {
    throw new HttpError(
      400,
      'InvalidResourceGroupName',
      `Resource group name '${name}' is invalid: use up to 90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'.`,
    );
  }
  const body = await readJson(call.req);
  const location = typeof body['location'] === 'string' ? body['location'].toLowerCase().replace(/\s+/g, '') : undefined;
  if (!location) throw new HttpError(400, 'LocationRequired', 'The location property is required for this definition.');
  const existing = ctx.state.group(name);
  if (existing?.provisioningState === 'Deleting') {
    throw new HttpError(
      409,
      'ResourceGroupBeingDeleted',
      `The resource group '${existing.name}' is in deprovisioning state and cannot perform this operation.`,
    );
  }
  if (existing && existing.location !== location) {
    throw new HttpError(
      409,
      'InvalidResourceGroupLocation',
      `Invalid resource group location '${location}'. The Resource group already exists in location '${existing.location}'.`,
    );
  }
  const group: ResourceGroup = { name: existing?.name ?? name, location, tags: (body['tags'] as Tags | undefined) ?? {}, provisioningState: 'Succeeded' };
  ctx.state.putGroup(group);
  recordActivity(ctx, call, 'Microsoft.Resources/subscriptions/resourceGroups/write', 'Update Resource Group', groupId(ctx, group.name), group.name);
  sendJson(call.res, existing ? 200 : 201, renderGroup(ctx, group), call.headers);
}

async function patchGroup(ctx: TwinContext, call: Call, name: string): Promise<void> {
  const group = requireGroup(ctx, name);
  const body = await readJson(call.req);
  const updated: ResourceGroup = { ...group, ...(body['tags'] !== undefined && { tags: body['tags'] as Tags }) };
  ctx.state.putGroup(updated);
  recordActivity(ctx, call, 'Microsoft.Resources/subscriptions/resourceGroups/write', 'Update Resource Group', groupId(ctx, group.name), group.name);
  sendJson(call.res, 200, renderGroup(ctx, updated), call.headers);
}

/** Where Resource Manager itself reports an operation, e.g. a resource-group delete. */
function operationUrl(ctx: TwinContext, call: Call, id: string): string {
  return `${ctx.armUrl}/subscriptions/${ctx.subscriptionId}/operationresults/${id}?api-version=${encodeURIComponent(call.query.get('api-version') ?? '')}`;
}

/** Where the Storage RP reports an account creation, as Azure does: per location, `monitor=true`. */
function storageOperationUrl(ctx: TwinContext, call: Call, location: string, id: string): string {
  return `${ctx.armUrl}/subscriptions/${ctx.subscriptionId}/providers/Microsoft.Storage/locations/${location}/asyncoperations/${id}?monitor=true&api-version=${encodeURIComponent(call.query.get('api-version') ?? '')}`;
}

function acceptLro(call: Call, location: string, body?: unknown): void {
  sendJson(call.res, 202, body, { ...call.headers, location, 'retry-after': '1' });
}

function deleteGroup(ctx: TwinContext, call: Call, name: string): void {
  const group = requireGroup(ctx, name);
  ctx.state.putGroup({ ...group, provisioningState: 'Deleting' });
  const id = `rgdelete-${randomUUID()}`;
  ctx.operations.start(id, () => ctx.state.removeGroup(group.name));
  recordActivity(ctx, call, 'Microsoft.Resources/subscriptions/resourceGroups/delete', 'Delete Resource Group', groupId(ctx, group.name), group.name);
  acceptLro(call, operationUrl(ctx, call, id));
}

function pollOperation(ctx: TwinContext, call: Call, id: string): void {
  const status = ctx.operations.poll(id);
  if (!status) throw new HttpError(404, 'OperationNotFound', `The operation '${id}' was not found or has expired.`);
  if (status.running) {
    // The operation URL stays the same until it finishes, so the client is pointed back at what it polled.
    acceptLro(call, call.url.href);
    return;
  }
  sendJson(call.res, 200, status.body, call.headers);
}

// ---- storage accounts

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out;
}

/** Fills the read-only CMK fields the Storage RP computes, after checking the key exists in a sandbox vault. */
function normaliseEncryption(ctx: TwinContext, encryption: Record<string, unknown>): Record<string, unknown> {
  const keySource = typeof encryption['keySource'] === 'string' ? encryption['keySource'] : 'Microsoft.Storage';
  if (keySource.toLowerCase() !== 'microsoft.keyvault') {
    const { keyvaultproperties: _dropped, identity: _identity, ...rest } = encryption;
    return { ...rest, keySource: 'Microsoft.Storage' };
  }
  const kvp = isPlainObject(encryption['keyvaultproperties']) ? encryption['keyvaultproperties'] : {};
  const keyName = typeof kvp['keyname'] === 'string' ? kvp['keyname'] : '';
  const vaultUri = typeof kvp['keyvaulturi'] === 'string' ? kvp['keyvaulturi'] : '';
  if (!keyName || !vaultUri) {
    throw new HttpError(
      400,
      'InvalidValuesForRequestParameters',
      'Values for request parameters are invalid: encryption.keyvaultproperties.keyname and keyvaulturi are required when keySource is Microsoft.Keyvault.',
    );
  }
  const vaultName = Object.entries(ctx.vaultUrls).find(([, url]) => url.replace(/\/$/, '').toLowerCase() === vaultUri.replace(/\/$/, '').toLowerCase())?.[0];
  const key = vaultName ? ctx.state.vault(vaultName)?.keys[keyName] : undefined;
  const requested = typeof kvp['keyversion'] === 'string' ? kvp['keyversion'] : '';
  const version = requested ? key?.versions.find((v) => v.version === requested) : key?.versions.at(-1);
  if (!key || !version) {
    throw new HttpError(
      400,
      'KeyVaultKeyNotFound',
      `The key '${keyName}'${requested ? ` version '${requested}'` : ''} was not found in key vault '${vaultUri}'.`,
    );
  }
  if (!version.enabled)
    throw new HttpError(400, 'KeyVaultKeyDisabled', `The key '${keyName}' version '${version.version}' in key vault '${vaultUri}' is disabled.`);
  const base = vaultUri.endsWith('/') ? vaultUri : `${vaultUri}/`;
  return {
    ...encryption,
    keySource: 'Microsoft.Keyvault',
    keyvaultproperties: {
      keyname: keyName,
      keyversion: requested,
      keyvaulturi: vaultUri,
      currentVersionedKeyIdentifier: `${base}keys/${keyName}/${version.version}`,
      lastKeyRotationTimestamp: new Date().toISOString(),
    },
  };
}

function renderAccount(ctx: TwinContext, r: ArmResource): Record<string, unknown> {
  const { blobUrl, tableUrl } = ctx.state.endpoints;
  // Seeded accounts are Azurite accounts of their own name; accounts created later are served by a spare one.
  const { dataPlaneAccount, ...resource } = r;
  const served = dataPlaneAccount ?? r.name;
  return renderFull({ ...resource, properties: { ...r.properties, primaryEndpoints: { blob: `${blobUrl}/${served}/`, table: `${tableUrl}/${served}/` } } });
}

function accountNameInvalid(name: string): HttpError {
  return new HttpError(
    400,
    'AccountNameInvalid',
    `${name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.`,
  );
}

async function putAccount(ctx: TwinContext, call: Call, groupName: string, name: string): Promise<void> {
  if (!ACCOUNT_NAME.test(name)) throw accountNameInvalid(name);
  const group = requireGroup(ctx, groupName);
  const body = await readJson(call.req);
  const taken = ctx.state.resource(STORAGE_TYPE, undefined, name);
  if (taken && taken.resourceGroup.toLowerCase() !== group.name.toLowerCase()) {
    throw new HttpError(409, 'StorageAccountAlreadyTaken', `The storage account named ${name} is already taken.`);
  }
  const props = isPlainObject(body['properties']) ? body['properties'] : {};
  if (taken) {
    // PUT on an existing account updates it synchronously, as the Storage RP does.
    const merged = deepMerge(taken.properties, props);
    if (isPlainObject(props['encryption'])) merged['encryption'] = normaliseEncryption(ctx, merged['encryption'] as Record<string, unknown>);
    const updated: ArmResource = { ...taken, properties: merged, ...(isPlainObject(body['tags']) && { tags: body['tags'] as Tags }) };
    ctx.state.putResource(updated);
    recordActivity(ctx, call, `${STORAGE_TYPE}/write`, 'Create/Update Storage Account', updated.id, updated.resourceGroup);
    sendJson(call.res, 200, renderAccount(ctx, updated), call.headers);
    return;
  }
  const location = typeof body['location'] === 'string' ? body['location'].toLowerCase().replace(/\s+/g, '') : '';
  const sku = isPlainObject(body['sku']) && typeof body['sku']['name'] === 'string' ? { name: body['sku']['name'] } : undefined;
  if (!location || !sku || typeof body['kind'] !== 'string') {
    throw new HttpError(400, 'InvalidRequestBody', 'The request body must include location, sku.name and kind.');
  }
  const now = new Date().toISOString();
  const services = { blob: { enabled: true, keyType: 'Account', lastEnabledTime: now }, file: { enabled: true, keyType: 'Account', lastEnabledTime: now } };
  const encryption = normaliseEncryption(
    ctx,
    deepMerge({ services, keySource: 'Microsoft.Storage' }, isPlainObject(props['encryption']) ? props['encryption'] : {}),
  );
  const dataPlaneAccount = ctx.state.claimDataPlane();
  const account: ArmResource = {
    id: `${groupId(ctx, group.name)}/providers/${STORAGE_TYPE}/${name}`,
    name,
    type: STORAGE_TYPE,
    location,
    resourceGroup: group.name,
    tags: isPlainObject(body['tags']) ? (body['tags'] as Tags) : {},
    kind: body['kind'],
    sku: { ...sku, tier: sku.name.startsWith('Premium') ? 'Premium' : 'Standard' },
    ...(isPlainObject(body['identity']) && { identity: body['identity'] }),
    ...(dataPlaneAccount !== undefined && { dataPlaneAccount }),
    properties: {
      minimumTlsVersion: 'TLS1_2',
      supportsHttpsTrafficOnly: true,
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: true,
      accessTier: 'Hot',
      publicNetworkAccess: 'Enabled',
      ...props,
      encryption,
      provisioningState: 'Creating',
      creationTime: now,
      primaryLocation: location,
      statusOfPrimary: 'available',
    },
  };
  // The account exists, 'Creating', from the moment the PUT is accepted, and Azure finishes it whether or not
  // anyone polls: a poll that fails or hangs loses only the answer, which the caller settles by reading it back.
  ctx.state.putResource(account);
  recordActivity(ctx, call, `${STORAGE_TYPE}/write`, 'Create/Update Storage Account', account.id, account.resourceGroup);
  const id = `sacreate-${randomUUID()}`;
  ctx.operations.start(
    id,
    () => {
      const current = ctx.state.resource(STORAGE_TYPE, group.name, name);
      if (current) ctx.state.putResource({ ...current, properties: { ...current.properties, provisioningState: 'Succeeded' } });
    },
    () => {
      const current = ctx.state.resource(STORAGE_TYPE, group.name, name);
      return current ? renderAccount(ctx, current) : undefined;
    },
  );
  acceptLro(call, storageOperationUrl(ctx, call, location, id));
}

async function patchAccount(ctx: TwinContext, call: Call, groupName: string, name: string): Promise<void> {
  const group = requireGroup(ctx, groupName);
  const account = ctx.state.resource(STORAGE_TYPE, group.name, name);
  if (!account) throw notFound(STORAGE_TYPE, group.name, name);
  const body = await readJson(call.req);
  const props = isPlainObject(body['properties']) ? body['properties'] : {};
  const merged = deepMerge(account.properties, props);
  if (isPlainObject(props['encryption'])) {
    // An encryption update replaces keyvaultproperties as a whole rather than merging stale fields.
    merged['encryption'] = normaliseEncryption(ctx, { ...(merged['encryption'] as Record<string, unknown>), ...props['encryption'] });
  }
  const updated: ArmResource = {
    ...account,
    properties: merged,
    ...(isPlainObject(body['tags']) && { tags: body['tags'] as Tags }),
    ...(isPlainObject(body['identity']) && { identity: body['identity'] }),
    ...(isPlainObject(body['sku']) && typeof body['sku']['name'] === 'string' && { sku: { ...account.sku, name: body['sku']['name'] } }),
  };
  ctx.state.putResource(updated);
  recordActivity(ctx, call, `${STORAGE_TYPE}/write`, 'Create/Update Storage Account', updated.id, updated.resourceGroup);
  sendJson(call.res, 200, renderAccount(ctx, updated), call.headers);
}

function deleteAccount(ctx: TwinContext, call: Call, groupName: string, name: string): void {
  const group = requireGroup(ctx, groupName);
  const account = ctx.state.resource(STORAGE_TYPE, group.name, name);
  if (!account) {
    sendJson(call.res, 204, undefined, call.headers);
    return;
  }
  ctx.state.removeResource(account.id);
  recordActivity(ctx, call, `${STORAGE_TYPE}/delete`, 'Delete Storage Account', account.id, account.resourceGroup);
  sendJson(call.res, 200, undefined, call.headers);
}

async function checkNameAvailability(ctx: TwinContext, call: Call): Promise<void> {
  const body = await readJson(call.req);
  const name = typeof body['name'] === 'string' ? body['name'] : '';
  const result = !ACCOUNT_NAME.test(name)
    ? { nameAvailable: false, reason: 'AccountNameInvalid', message: accountNameInvalid(name).message }
    : ctx.state.resource(STORAGE_TYPE, undefined, name)
      ? { nameAvailable: false, reason: 'AlreadyExists', message: `The storage account named ${name} is already taken.` }
      : { nameAvailable: true };
  sendJson(call.res, 200, result, call.headers);
}

// ---- activity log

const MAX_LOG_WINDOW_DAYS = 90;

function listActivityLog(ctx: TwinContext, call: Call): void {
  const clauses = parseFilter(call.query.get('$filter'));
  const from = clauses.find((c) => c.field === 'eventtimestamp' && c.op === 'ge');
  if (!from) {
    throw new HttpError(
      400,
      'BadRequest',
      "The $filter query parameter must include eventTimestamp ge '<start time>', e.g. eventTimestamp ge '2025-01-01T00:00:00Z' and eventTimestamp le '2025-01-14T00:00:00Z'.",
    );
  }
  const to = clauses.find((c) => c.field === 'eventtimestamp' && c.op === 'le');
  const start = Date.parse(from.value);
  const end = to ? Date.parse(to.value) : Date.now();
  if (Number.isNaN(start) || Number.isNaN(end)) throw new HttpError(400, 'BadRequest', 'eventTimestamp values in $filter must be ISO 8601 date-times.');
  if (end - start > MAX_LOG_WINDOW_DAYS * 86400_000)
    throw new HttpError(400, 'BadRequest', `The time range in $filter cannot exceed ${MAX_LOG_WINDOW_DAYS} days.`);
  const fieldTests = clauses
    .filter((c) => c.field !== 'eventtimestamp')
    .map((c): ((e: Record<string, unknown>) => boolean) => {
      switch (c.field) {
        case 'resourcegroupname':
          return (e) => eqi(e['resourceGroupName'], c.value);
        case 'resourceuri':
        case 'resourceid':
          return (e) => eqi(e['resourceId'], c.value);
        case 'correlationid':
          return (e) => eqi(e['correlationId'], c.value);
        case 'caller':
          return (e) => eqi(e['caller'], c.value);
        case 'resourceprovider':
          return (e) => eqi((e['resourceProviderName'] as { value?: string } | undefined)?.value, c.value);
        default:
          throw new HttpError(
            400,
            'BadRequest',
            `The $filter field '${c.field}' is not supported. Supported: eventTimestamp, resourceGroupName, resourceUri, correlationId, caller, resourceProvider.`,
          );
      }
    });
  const select = call.query
    .get('$select')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const events = ctx.state
    .activityLog()
    .filter((e) => {
      const t = Date.parse(String(e['eventTimestamp']));
      return t >= start && t <= end && fieldTests.every((test) => test(e));
    })
    .reverse() // newest first, as the service returns them
    .map((e) => (select?.length ? Object.fromEntries(select.filter((k) => k in e).map((k) => [k, e[k]])) : e));
  sendPage(ctx, call, events, (e) => e);
}

// ---- route table

const ROUTES: Route[] = [
  route('GET', '/subscriptions', (ctx, call) =>
    sendJson(
      call.res,
      200,
      {
        value: [
          {
            id: `/subscriptions/${ctx.subscriptionId}`,
            subscriptionId: ctx.subscriptionId,
            tenantId: ctx.tenantId,
            displayName: 'DDR-Production',
            state: 'Enabled',
          },
        ],
      },
      call.headers,
    ),
  ),
  route('GET', SUB, (ctx, call, [sub]) => {
    requireSubscription(ctx, sub);
    sendJson(
      call.res,
      200,
      {
        id: `/subscriptions/${ctx.subscriptionId}`,
        subscriptionId: ctx.subscriptionId,
        tenantId: ctx.tenantId,
        displayName: 'DDR-Production',
        state: 'Enabled',
      },
      call.headers,
    );
  }),
  route('GET', `${SUB}/operationresults/([^/]+)`, (ctx, call, [, id]) => pollOperation(ctx, call, id as string)),
  route('GET', `${SUB}/providers/microsoft\\.storage/locations/[^/]+/asyncoperations/([^/]+)`, (ctx, call, [, id]) => pollOperation(ctx, call, id as string)),
  route('GET', `${SUB}/resourcegroups`, (ctx, call) => listGroups(ctx, call)),
  route('GET|HEAD', RG, (ctx, call, [, rg]) => {
    if (call.method === 'HEAD') {
      const group = rg ? ctx.state.group(rg) : undefined;
      sendJson(call.res, group && group.provisioningState !== 'Deleting' ? 204 : 404, undefined, call.headers);
      return;
    }
    sendJson(call.res, 200, renderGroup(ctx, requireGroup(ctx, rg)), call.headers);
  }),
  route('PUT', RG, (ctx, call, [, rg]) => putGroup(ctx, call, rg as string)),
  route('PATCH', RG, (ctx, call, [, rg]) => patchGroup(ctx, call, rg as string)),
  route('DELETE', RG, (ctx, call, [, rg]) => deleteGroup(ctx, call, rg as string)),
  route('GET', `${SUB}/resources`, (ctx, call) => sendPage(ctx, call, filterResources(ctx.state.allResources(), call.query.get('$filter')), renderGeneric)),
  route('GET', `${RG}/resources`, (ctx, call, [, rg]) => {
    const group = requireGroup(ctx, rg);
    sendPage(ctx, call, filterResources(ctx.state.allResources(group.name), call.query.get('$filter')), renderGeneric);
  }),
  route('GET', `${SUB}/providers/microsoft\\.storage/storageaccounts`, (ctx, call) =>
    sendPage(ctx, call, ctx.state.storageAccounts(), (r) => renderAccount(ctx, r)),
  ),
  route('GET', `${RG}/providers/microsoft\\.storage/storageaccounts`, (ctx, call, [, rg]) => {
    const group = requireGroup(ctx, rg);
    sendPage(ctx, call, ctx.state.storageAccounts(group.name), (r) => renderAccount(ctx, r));
  }),
  route('POST', `${SUB}/providers/microsoft\\.storage/checknameavailability`, (ctx, call) => checkNameAvailability(ctx, call)),
  route('GET', `${RG}/providers/microsoft\\.storage/storageaccounts/([^/]+)`, (ctx, call, [, rg, name]) => {
    const group = requireGroup(ctx, rg);
    const account = ctx.state.resource(STORAGE_TYPE, group.name, name as string);
    if (!account) throw notFound(STORAGE_TYPE, group.name, name as string);
    sendJson(call.res, 200, renderAccount(ctx, account), call.headers);
  }),
  route('PUT', `${RG}/providers/microsoft\\.storage/storageaccounts/([^/]+)`, (ctx, call, [, rg, name]) => putAccount(ctx, call, rg as string, name as string)),
  route('PATCH', `${RG}/providers/microsoft\\.storage/storageaccounts/([^/]+)`, (ctx, call, [, rg, name]) =>
    patchAccount(ctx, call, rg as string, name as string),
  ),
  route('DELETE', `${RG}/providers/microsoft\\.storage/storageaccounts/([^/]+)`, (ctx, call, [, rg, name]) =>
    deleteAccount(ctx, call, rg as string, name as string),
  ),
  route('GET', `${SUB}/providers/microsoft\\.compute/virtualmachines`, (ctx, call) => {
    const withView = call.query.get('statusOnly') === 'true' || eqi(call.query.get('$expand'), 'instanceView');
    sendPage(
      ctx,
      call,
      ctx.state.resources().filter((r) => r.type === VM_TYPE),
      (r) => renderVm(r, withView),
    );
  }),
  route('GET', `${RG}/providers/microsoft\\.compute/virtualmachines`, (ctx, call, [, rg]) => {
    const group = requireGroup(ctx, rg);
    const withView = eqi(call.query.get('$expand'), 'instanceView');
    sendPage(
      ctx,
      call,
      ctx.state.resources().filter((r) => r.type === VM_TYPE && eqi(r.resourceGroup, group.name)),
      (r) => renderVm(r, withView),
    );
  }),
  route('GET', `${SUB}/providers/microsoft\\.insights/eventtypes/management/values`, (ctx, call) => listActivityLog(ctx, call)),
  // Any other single resource by id (key vault, identity, VM, ...).
  route('GET', `${RG}/providers/([^/]+/[^/]+)/([^/]+)`, (ctx, call, [, rg, type, name]) => {
    const group = requireGroup(ctx, rg);
    const resource = ctx.state.resource(type as string, group.name, name as string);
    if (!resource) throw notFound(type as string, group.name, name as string);
    const withView = resource.type === VM_TYPE && eqi(call.query.get('$expand'), 'instanceView');
    sendJson(call.res, 200, resource.type === VM_TYPE ? renderVm(resource, withView) : renderFull(resource), call.headers);
  }),
];

export function createArmHandler(ctx: TwinContext): (call: Call) => Promise<void> {
  const throttle = new Throttle();
  return async (call) => {
    Object.assign(call.headers, throttle.headers(call.method));
    const matches = ROUTES.map((r) => ({ r, m: r.pattern.exec(call.path) })).filter((x) => x.m);
    if (matches.length === 0) {
      throw new HttpError(404, 'InvalidResourceType', `The resource type could not be found for path '${call.path}' in the sandbox twin.`);
    }
    const hit = matches.find((x) => x.r.methods.includes(call.method));
    await authenticate(ctx, call);
    if (!call.query.get('api-version')) {
      throw new HttpError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    }
    if (!hit?.m) throw new HttpError(405, 'MethodNotAllowed', `The method '${call.method}' is not supported for '${call.path}'.`);
    const args = hit.m.slice(1);
    if (call.path.toLowerCase() !== '/subscriptions') requireSubscription(ctx, args[0]);
    await hit.r.handler(ctx, call, args);
  };
}
