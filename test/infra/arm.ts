import { createHash, randomUUID } from 'node:crypto';
import { dirname, join, relative, resolve } from 'node:path';
import { resourcesOf, type Json, type TemplateSet } from './templates.js';

/**
 * A small evaluator of ARM template language expressions, so the checks can look at what a deployment *does* for
 * given parameters — which role lands on which scope, what the gateway policy renders to — and not only at the text
 * of the templates. It covers the functions these templates use; anything it cannot know offline (reference() to a
 * real resource, key material) becomes an Opaque value that names where it came from.
 */

/** A value only Azure knows (the output of reference() on a real resource); carries the expression that made it. */
export class Opaque {
  constructor(readonly text: string) {}
  toString(): string {
    return `⟨${this.text}⟩`;
  }
}

/** The scope a template instance deploys to. */
export interface DeploymentScope {
  subscriptionId: string;
  tenantId: string;
  /** Absent (or undefined) for a subscription-scope deployment. */
  resourceGroup?: string | undefined;
  location: string;
  /**
   * What Azure would answer to reference() on a real resource, by resource type (the gateway's outbound addresses,
   * say): the checks supply it where a deployment's shape depends on it. Any other reference() stays Opaque.
   */
  answers?: Record<string, Json>;
}

type Thunk = () => unknown;

/** One deployment of one template: its parameters (evaluated on demand), variables and linked deployments. */
export class Instance {
  private readonly parameterCache = new Map<string, unknown>();
  private readonly variableCache = new Map<string, unknown>();
  private readonly childCache = new Map<string, Instance>();

  constructor(
    readonly set: TemplateSet,
    readonly file: string,
    readonly scope: DeploymentScope,
    private readonly supplied: Record<string, Thunk>,
    readonly label = file,
  ) {}

  get template(): Json {
    const template = this.set.templates.get(this.file);
    if (!template) throw new Error(`no template ${this.file}`);
    return template;
  }

  parameter(name: string): unknown {
    if (this.parameterCache.has(name)) return this.parameterCache.get(name);
    const declared = this.template.parameters?.[name];
    if (!declared) throw new Error(`${this.label}: parameter ${name} is not declared`);
    let value: unknown;
    if (name in this.supplied) value = this.supplied[name]!();
    else if (declared.defaultValue !== undefined) value = this.evaluate(declared.defaultValue);
    else throw new Error(`${this.label}: parameter ${name} has no value`);
    this.parameterCache.set(name, value);
    return value;
  }

  variable(name: string): unknown {
    if (this.variableCache.has(name)) return this.variableCache.get(name);
    const variables = this.template.variables ?? {};
    if (!(name in variables)) throw new Error(`${this.label}: variable ${name} is not declared`);
    const value = this.evaluate(variables[name]);
    this.variableCache.set(name, value);
    return value;
  }

  /** Evaluates a template value: expression strings "[...]", and objects and arrays holding them. */
  evaluate(value: Json, copyIndex?: number): any {
    return evaluateValue(value, { instance: this, copyIndex, lambdas: new Map() });
  }

  get resourceGroupId(): string | undefined {
    return this.scope.resourceGroup === undefined ? undefined : `/subscriptions/${this.scope.subscriptionId}/resourceGroups/${this.scope.resourceGroup}`;
  }

  /** The id of the scope this instance deploys to: its resource group, or the subscription. */
  get scopeId(): string {
    return this.resourceGroupId ?? `/subscriptions/${this.scope.subscriptionId}`;
  }

  /** Every resource of the template, once per copy, with whether its condition holds. */
  resources(): ResourceInstance[] {
    const out: ResourceInstance[] = [];
    for (const resource of resourcesOf(this.template)) {
      const count = resource.copy ? Number(this.evaluate(resource.copy.count)) : 1;
      for (let index = 0; index < count; index++) {
        const copyIndex = resource.copy ? index : undefined;
        const active = resource.condition === undefined ? true : this.evaluate(resource.condition, copyIndex) === true;
        out.push(new ResourceInstance(this, resource, copyIndex, active));
      }
    }
    return out;
  }

  /** The instance a linked deployment resource creates (for one copy). */
  child(deployment: Json, copyIndex?: number): Instance {
    const key = `${resourcesOf(this.template).indexOf(deployment)}:${copyIndex ?? ''}`;
    const cached = this.childCache.get(key);
    if (cached) return cached;
    const relativePath = deployment.properties?.templateLink?.relativePath;
    if (typeof relativePath !== 'string') throw new Error(`${this.label}: deployment ${deployment.name} links no template`);
    const file = relative(process.cwd(), resolve(join(dirname(this.file), relativePath))).split('\\').join('/');
    const subscriptionScope = deployment.subscriptionId !== undefined && deployment.resourceGroup === undefined;
    const resourceGroup = subscriptionScope
      ? undefined
      : deployment.resourceGroup !== undefined
        ? String(this.evaluate(deployment.resourceGroup, copyIndex))
        : this.scope.resourceGroup;
    const passed: Record<string, Json> = deployment.properties?.parameters ?? {};
    const supplied = Object.fromEntries(Object.entries(passed).map(([name, entry]) => [name, () => this.evaluate(entry.value, copyIndex)]));
    const name = String(this.evaluate(deployment.name, copyIndex));
    const child = new Instance(this.set, file, { ...this.scope, resourceGroup }, supplied, `${file} (deployment ${name}${resourceGroup ? ` in ${resourceGroup}` : ''})`);
    this.childCache.set(key, child);
    return child;
  }

  /** Every linked deployment of this instance, per copy, with its condition. */
  deployments(): { resource: ResourceInstance; child: Instance }[] {
    return this.resources()
      .filter(({ resource }) => resource.type === 'Microsoft.Resources/deployments' && resource.properties?.templateLink?.relativePath)
      .map((entry) => ({ resource: entry, child: this.child(entry.resource, entry.copyIndex) }));
  }

  /** This instance and every instance below it whose deployment condition holds (all, with `includeInactive`). */
  tree(includeInactive = false): Instance[] {
    const out: Instance[] = [this];
    for (const { resource, child } of this.deployments()) if (resource.active || includeInactive) out.push(...child.tree(includeInactive));
    return out;
  }

  /** The outputs of this instance, evaluated on demand. */
  outputs(): Record<string, { value: unknown }> {
    const declared: Record<string, Json> = this.template.outputs ?? {};
    const out: Record<string, { value: unknown }> = {};
    for (const [name, output] of Object.entries(declared)) {
      Object.defineProperty(out, name, { enumerable: true, get: () => ({ value: this.evaluate(output.value) }) });
    }
    return out;
  }
}

/** One copy of one resource in an instance. */
export class ResourceInstance {
  constructor(
    readonly instance: Instance,
    readonly resource: Json,
    readonly copyIndex: number | undefined,
    readonly active: boolean,
  ) {}

  evaluate(value: Json): any {
    return this.instance.evaluate(value, this.copyIndex);
  }

  get name(): string {
    return String(this.evaluate(this.resource.name));
  }

  /** The id of the scope an extension resource (role assignment, lock, diagnostic setting) applies to. */
  get scopeId(): string {
    if (this.resource.scope === undefined) return this.instance.scopeId;
    const scope = String(this.evaluate(this.resource.scope));
    if (scope.startsWith('/')) return scope;
    return `${this.instance.scopeId}/providers/${scope}`;
  }

  /** The resource's own id. */
  get id(): string {
    return `${this.scopeIdForId()}/providers/${interleave(this.resource.type, this.name.split('/'))}`;
  }

  private scopeIdForId(): string {
    return this.resource.scope === undefined ? this.instance.scopeId : this.scopeId;
  }
}

/** Parameter values for the main template; anything not given falls back to its default. */
export function instantiate(set: TemplateSet, scope: DeploymentScope, parameters: Record<string, unknown>, file = set.main): Instance {
  const supplied = Object.fromEntries(Object.entries(parameters).map(([name, value]) => [name, () => value]));
  return new Instance(set, file, scope, supplied);
}

// ---------------------------------------------------------------------------------------------------------------
// Expressions

type Node =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'property'; target: Node; name: string }
  | { kind: 'index'; target: Node; index: Node };

interface Env {
  instance: Instance;
  copyIndex: number | undefined;
  lambdas: Map<string, unknown>;
}

function evaluateValue(value: Json, env: Env): any {
  if (typeof value === 'string') {
    if (value.startsWith('[[')) return value.slice(1);
    if (value.startsWith('[') && value.endsWith(']')) return evaluateNode(parse(value.slice(1, -1)), env);
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => evaluateValue(item, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [evaluateValue(key, env), evaluateValue(item, env)]));
  }
  return value;
}

const expressionCache = new Map<string, Node>();

export function parse(text: string): Node {
  const cached = expressionCache.get(text);
  if (cached) return cached;
  let at = 0;
  const fail = (message: string): never => {
    throw new Error(`${message} at ${at} in [${text}]`);
  };
  const space = () => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const expect = (char: string) => {
    space();
    if (text[at] !== char) fail(`expected '${char}'`);
    at++;
  };
  const primary = (): Node => {
    space();
    const c = text[at];
    if (c === "'") {
      let value = '';
      at++;
      for (;;) {
        if (at >= text.length) fail('unterminated string');
        if (text[at] === "'") {
          if (text[at + 1] === "'") {
            value += "'";
            at += 2;
            continue;
          }
          at++;
          break;
        }
        value += text[at++];
      }
      return { kind: 'string', value };
    }
    const number = /^-?\d+/.exec(text.slice(at));
    if (number) {
      at += number[0].length;
      return { kind: 'number', value: Number(number[0]) };
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at));
    if (!name) fail('expected a value');
    at += name![0].length;
    expect('(');
    const args: Node[] = [];
    space();
    if (text[at] === ')') at++;
    else {
      for (;;) {
        args.push(expression());
        space();
        if (text[at] === ',') {
          at++;
          continue;
        }
        expect(')');
        break;
      }
    }
    return { kind: 'call', name: name![0].toLowerCase(), args };
  };
  const expression = (): Node => {
    let node = primary();
    for (;;) {
      space();
      if (text[at] === '.') {
        at++;
        space();
        const name = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(at));
        if (!name) fail('expected a property name');
        at += name![0].length;
        node = { kind: 'property', target: node, name: name![0] };
      } else if (text[at] === '[') {
        at++;
        const index = expression();
        expect(']');
        node = { kind: 'index', target: node, index };
      } else return node;
    }
  };
  const node = expression();
  space();
  if (at !== text.length) fail('unexpected text');
  expressionCache.set(text, node);
  return node;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Opaque);
const str = (value: unknown): string => (value instanceof Opaque ? value.toString() : typeof value === 'string' ? value : JSON.stringify(value));

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A type path with its names interleaved: ('A.B/c/d', ['x', 'y']) → 'A.B/c/x/d/y'. */
function interleave(type: string, names: string[]): string {
  const [namespace, ...types] = type.split('/');
  if (types.length !== names.length) throw new Error(`resource type ${type} does not fit the name ${names.join('/')}`);
  return [namespace, ...types.flatMap((t, i) => [t, names[i]])].join('/');
}

function splitTypeArgs(args: unknown[]): { before: string[]; type: string; names: string[] } {
  const index = args.findIndex((arg) => typeof arg === 'string' && /^[A-Za-z0-9]+\.[A-Za-z0-9.]+\/[A-Za-z]/.test(arg));
  if (index < 0) throw new Error(`no resource type in (${args.map(str).join(', ')})`);
  return { before: args.slice(0, index).map(str), type: String(args[index]), names: args.slice(index + 1).map(str) };
}

function fakeHash(args: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(args.map(str))).digest('hex');
}

const ENVIRONMENT = {
  name: 'AzureCloud',
  authentication: { loginEndpoint: 'https://login.microsoftonline.com/', audiences: ['https://management.core.windows.net/', 'https://management.azure.com/'] },
  resourceManager: 'https://management.azure.com/',
  suffixes: { storage: 'core.windows.net', keyvaultDns: '.vault.azure.net' },
};

function evaluateNode(node: Node, env: Env): any {
  switch (node.kind) {
    case 'string':
    case 'number':
      return node.value;
    case 'property': {
      const target = evaluateNode(node.target, env);
      if (target instanceof Opaque) return new Opaque(`${target.text}.${node.name}`);
      if (!isObject(target)) throw new Error(`cannot read .${node.name} of ${str(target)}`);
      if (!(node.name in target)) throw new Error(`no property ${node.name} in ${Object.keys(target).join(', ')}`);
      return target[node.name];
    }
    case 'index': {
      const target = evaluateNode(node.target, env);
      const index = evaluateNode(node.index, env);
      if (target instanceof Opaque) return new Opaque(`${target.text}[${str(index)}]`);
      if (Array.isArray(target)) {
        if (typeof index !== 'number' || index < 0 || index >= target.length) throw new Error(`index ${str(index)} is out of bounds`);
        return target[index];
      }
      if (isObject(target) && typeof index === 'string') {
        if (!(index in target)) throw new Error(`no property ${index}`);
        return target[index];
      }
      throw new Error(`cannot index ${str(target)} with ${str(index)}`);
    }
    case 'call':
      return call(node, env);
  }
}

function call(node: Extract<Node, { kind: 'call' }>, env: Env): any {
  const { instance } = env;
  const lazy = node.args;
  const arg = (i: number) => evaluateNode(lazy[i]!, env);
  const all = () => lazy.map((_, i) => arg(i));
  switch (node.name) {
    // Lazy.
    case 'if':
      return arg(0) === true ? arg(1) : arg(2);
    case 'and':
      return lazy.every((_, i) => arg(i) === true);
    case 'or':
      return lazy.some((_, i) => arg(i) === true);
    case 'lambda':
      return { lambda: node };
    case 'lambdavariables': {
      const name = String(arg(0));
      if (!env.lambdas.has(name)) throw new Error(`no lambda variable ${name}`);
      return env.lambdas.get(name);
    }
  }
  const values = all();
  const [a, b, c] = values;
  const apply = (fn: unknown, ...items: unknown[]) => {
    const lambda = (fn as { lambda?: Extract<Node, { kind: 'call' }> })?.lambda;
    if (!lambda) throw new Error('expected a lambda');
    const names = lambda.args.slice(0, -1).map((n) => String(evaluateNode(n, env)));
    const lambdas = new Map(env.lambdas);
    names.forEach((name, i) => lambdas.set(name, items[i]));
    return evaluateNode(lambda.args[lambda.args.length - 1]!, { ...env, lambdas });
  };
  switch (node.name) {
    case 'parameters':
      return instance.parameter(String(a));
    case 'variables':
      return instance.variable(String(a));
    case 'not':
      return a !== true;
    case 'equals':
      return deepEqual(a, b);
    case 'empty':
      return a === null || a === undefined || a === '' || (Array.isArray(a) && a.length === 0) || (isObject(a) && Object.keys(a).length === 0);
    case 'contains':
      if (typeof a === 'string') return a.includes(String(b));
      if (Array.isArray(a)) return a.some((item) => deepEqual(item, b));
      if (isObject(a)) return String(b) in a;
      throw new Error(`contains() on ${str(a)}`);
    case 'union':
      if (values.every(Array.isArray)) return values.flat().filter((item, i, list) => list.findIndex((other) => deepEqual(other, item)) === i);
      if (values.every(isObject)) return Object.assign({}, ...values);
      throw new Error('union() of mixed values');
    case 'intersection':
      return (a as unknown[]).filter((item) => values.slice(1).every((list) => (list as unknown[]).some((other) => deepEqual(other, item))));
    case 'createarray':
      return values;
    case 'createobject': {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < values.length; i += 2) out[String(values[i])] = values[i + 1];
      return out;
    }
    case 'length':
      return typeof a === 'string' ? a.length : Array.isArray(a) ? a.length : Object.keys(a as object).length;
    case 'map':
      if (a instanceof Opaque) return new Opaque(`map(${a.text})`);
      return (a as unknown[]).map((item, i) => apply(b, item, i));
    case 'filter':
      return (a as unknown[]).filter((item, i) => apply(b, item, i) === true);
    case 'items':
      return Object.entries(a as object).map(([key, value]) => ({ key, value }));
    case 'join':
      return (a as unknown[]).map(str).join(String(b));
    case 'replace':
      return str(a).split(String(b)).join(str(c));
    case 'string':
      return str(a);
    case 'int':
      return Number.parseInt(str(a), 10);
    case 'div':
      // Whole-number division, as ARM's div(), which refuses a zero divisor.
      if (Number(b) === 0) throw new Error('div() by zero');
      return Math.trunc(Number(a) / Number(b));
    case 'bool':
      return a === true || a === 1 || String(a).toLowerCase() === 'true';
    case 'tolower':
      return str(a).toLowerCase();
    case 'toupper':
      return str(a).toUpperCase();
    case 'take':
      return typeof a === 'string' ? a.slice(0, Number(b)) : (a as unknown[]).slice(0, Number(b));
    case 'skip':
      return typeof a === 'string' ? a.slice(Number(b)) : (a as unknown[]).slice(Number(b));
    case 'first':
      return typeof a === 'string' ? a[0] : (a as unknown[])[0];
    case 'last':
      return typeof a === 'string' ? a[a.length - 1] : (a as unknown[])[(a as unknown[]).length - 1];
    case 'startswith':
      return str(a).toLowerCase().startsWith(str(b).toLowerCase());
    case 'endswith':
      return str(a).toLowerCase().endsWith(str(b).toLowerCase());
    case 'split':
      return str(a).split(String(b));
    case 'trim':
      return str(a).trim();
    case 'concat':
      return values.every(Array.isArray) ? values.flat() : values.map(str).join('');
    case 'format':
      return str(a).replace(/\{(\d+)(?::[^}]*)?\}/g, (_, i) => str(values[Number(i) + 1]));
    case 'coalesce':
      return values.find((value) => value !== null && value !== undefined) ?? null;
    case 'null':
      return null;
    case 'true':
      return true;
    case 'false':
      return false;
    case 'json':
      return JSON.parse(str(a));
    case 'uniquestring':
      return BigInt(`0x${fakeHash(values).slice(0, 16)}`).toString(36).padStart(13, 'a').slice(0, 13);
    case 'guid': {
      const h = fakeHash(values);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
    }
    case 'newguid':
      // Fresh per deployment in ARM (parameter defaults only); any GUID does for the offline checks.
      return randomUUID();
    case 'base64':
      return Buffer.from(str(a), 'utf8').toString('base64');
    case 'copyindex':
      if (env.copyIndex === undefined) throw new Error('copyIndex() outside a copy loop');
      return env.copyIndex + (typeof a === 'number' ? a : 0);
    case 'resourcegroup': {
      if (instance.scope.resourceGroup === undefined) throw new Error('resourceGroup() in a subscription-scope deployment');
      return { id: instance.resourceGroupId, name: instance.scope.resourceGroup, location: instance.scope.location };
    }
    case 'subscription':
      return { id: `/subscriptions/${instance.scope.subscriptionId}`, subscriptionId: instance.scope.subscriptionId, tenantId: instance.scope.tenantId };
    case 'environment':
      return ENVIRONMENT;
    case 'resourceid': {
      const { before, type, names } = splitTypeArgs(values);
      const subscriptionId = before.length === 2 ? before[0] : instance.scope.subscriptionId;
      const group = before.length >= 1 ? before[before.length - 1] : instance.scope.resourceGroup;
      if (group === undefined) return `/subscriptions/${subscriptionId}/providers/${interleave(type, names)}`;
      return `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/${interleave(type, names)}`;
    }
    case 'subscriptionresourceid': {
      const { before, type, names } = splitTypeArgs(values);
      return `/subscriptions/${before[0] ?? instance.scope.subscriptionId}/providers/${interleave(type, names)}`;
    }
    case 'tenantresourceid': {
      const { type, names } = splitTypeArgs(values);
      return `/providers/${interleave(type, names)}`;
    }
    case 'extensionresourceid': {
      const { type, names } = splitTypeArgs(values.slice(1));
      return `${str(a)}/providers/${interleave(type, names)}`;
    }
    case 'reference': {
      const id = str(a);
      const deployment = /\/providers\/Microsoft\.Resources\/deployments\/([^/]+)$/i.exec(id)?.[1];
      if (deployment !== undefined) {
        for (const { resource, child } of instance.deployments()) {
          if (resource.name === deployment) return { outputs: child.outputs() };
        }
      }
      const type = /\/providers\/(.+)$/.exec(id)?.[1]?.split('/').filter((_, i) => i === 0 || i % 2 === 1).join('/');
      const answer = type === undefined ? undefined : Object.entries(instance.scope.answers ?? {}).find(([known]) => known.toLowerCase() === type.toLowerCase())?.[1];
      // The answer is the resource's properties: reference(id, version, 'Full') (identity, sku…) stays Opaque.
      if (answer !== undefined && str(c ?? '').toLowerCase() !== 'full') return answer;
      return new Opaque(`reference(${id})`);
    }
    case 'utcnow':
      return '2025-01-01 00:00:00Z';
    case 'datetimeadd':
    case 'datetimetoepoch':
      return new Opaque(`${node.name}(${values.map(str).join(', ')})`);
    default:
      throw new Error(`the offline evaluator does not know ${node.name}()`);
  }
}
