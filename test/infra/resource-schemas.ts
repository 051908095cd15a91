import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Opaque, type ResourceInstance } from './arm.js';
import { mainFor, SAMPLES, type Sample } from './deployment-checks.js';
import { resourcesOf, type Json, type TemplateSet } from './templates.js';

/**
 * Every resource of the templates checked against a strict JSON Schema for its resource type and API version
 * (test/infra/schemas, one file per type@apiVersion), so an unknown property or a value the API does not take fails
 * here rather than in a deployment. The schemas are this team's own, written from the published ARM schemas and API
 * reference; each lists the properties these templates set (additionalProperties false at every level) with the
 * API's types and enums, so a new property needs a look at the API reference and a line in its schema.
 *
 * Two passes: the templates as written (an ARM expression stands for any value there, as it only has one at
 * deployment), and each sample deployment rendered by the offline evaluator (test/infra/arm.ts), which gives most
 * expressions their values; what only Azure knows stays an expression.
 */

export const SCHEMA_DIR = 'test/infra/schemas';

const Ajv = AjvModule.default;

/** Keys of the template language on a resource: Resource Manager reads them, the resource provider never sees them. */
const TEMPLATE_KEYS = new Set(['condition', 'dependsOn', 'copy', 'comments']);

/** A template language expression: "[...]", but not "[[...", which is a literal string starting with '['. */
const EXPRESSION = { type: 'string', pattern: '^\\[(?!\\[)[\\s\\S]*\\]$' };

export interface ResourceSchema {
  /** type@apiVersion */
  id: string;
  file: string;
  validate: ValidateFunction;
}

/** The schema file name for a type@apiVersion: the type's slashes become dots. */
export const schemaFileFor = (id: string) => `${id.replace(/\//g, '.')}.json`;

const isPlainObject = (value: unknown): value is Record<string, Json> => value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Opaque);

/** Each value the schema describes may instead be an expression (the schema's own structure is kept below it). */
function acceptingExpressions(schema: Json, root = true): Json {
  if (!isPlainObject(schema)) return schema;
  const out: Record<string, Json> = { ...schema };
  if (isPlainObject(schema.properties)) out.properties = Object.fromEntries(Object.entries(schema.properties).map(([key, value]) => [key, acceptingExpressions(value, false)]));
  if (isPlainObject(schema.items)) out.items = acceptingExpressions(schema.items, false);
  if (isPlainObject(schema.additionalProperties)) out.additionalProperties = acceptingExpressions(schema.additionalProperties, false);
  if (isPlainObject(schema.definitions)) out.definitions = Object.fromEntries(Object.entries(schema.definitions).map(([key, value]) => [key, acceptingExpressions(value, false)]));
  return root ? out : { if: EXPRESSION, then: true, else: out };
}

/** Loads and compiles every schema in the directory, by its $id (type@apiVersion). */
export function loadResourceSchemas(dir = SCHEMA_DIR): Map<string, ResourceSchema> {
  const ajv = new Ajv({ allErrors: true, strict: true });
  const schemas = new Map<string, ResourceSchema>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.json')).sort()) {
    const path = join(dir, file);
    const { $id, ...schema } = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof $id !== 'string' || !/^[A-Za-z0-9.]+\/[A-Za-z0-9/]+@\d{4}-\d{2}-\d{2}(-preview)?$/.test($id)) throw new Error(`${path}: $id must be <type>@<apiVersion>, not ${$id}`);
    if (schemas.has($id)) throw new Error(`${path}: a second schema for ${$id}`);
    schemas.set($id, { id: $id, file: path, validate: ajv.compile(acceptingExpressions(schema)) });
  }
  return schemas;
}

/** The value at a JSON pointer of the validated body (for the message). */
function valueAt(body: Json, pointer: string): Json {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((value, key) => (value === undefined || value === null ? undefined : value[key]), body);
}

function describe(error: ErrorObject, body: Json): string | undefined {
  // An expression-or-value node reports its failing branch; the branch's own error says what is wrong.
  if (error.keyword === 'if') return undefined;
  const path = error.instancePath || '/';
  const shown = (value: Json) => JSON.stringify(value) ?? String(value);
  switch (error.keyword) {
    case 'additionalProperties':
      return `${path} has unknown property ${String(error.params.additionalProperty)}`;
    case 'enum':
      return `${path} is ${shown(valueAt(body, error.instancePath))}, not one of ${(error.params.allowedValues as Json[]).map(shown).join(', ')}`;
    case 'const':
      return `${path} is ${shown(valueAt(body, error.instancePath))}, not ${shown(error.params.allowedValue)}`;
    case 'required':
      return `${path} lacks required property ${String(error.params.missingProperty)}`;
    default:
      return `${path} ${error.message ?? error.keyword}`;
  }
}

/** A resource as sent to its provider: without the template language's own keys. */
function withoutTemplateKeys(resource: Json): Record<string, Json> {
  return Object.fromEntries(Object.entries(resource as Record<string, Json>).filter(([key]) => !TEMPLATE_KEYS.has(key)));
}

/** As written: a property copy loop stands for an array of its input (whose expressions stay expressions). */
function asWritten(value: Json): Json {
  if (Array.isArray(value)) return value.map(asWritten);
  if (!isPlainObject(value)) return value;
  const out: Record<string, Json> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'copy' && Array.isArray(item)) for (const loop of item) out[loop.name] = [asWritten(loop.input)];
    else out[key] = asWritten(item);
  }
  return out;
}

/** An evaluated value as Resource Manager would send it: null properties left out, what only Azure knows an expression. */
function sendable(value: unknown): Json {
  if (value instanceof Opaque) return `[${value.text}]`;
  if (Array.isArray(value)) return value.map(sendable);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== null && item !== undefined).map(([key, item]) => [key, sendable(item)]));
}

/** Rendered for one deployment: every expression evaluated, property copy loops expanded. */
function rendered(resource: ResourceInstance): Json {
  const at = (value: Json, index: number | undefined) => (index === undefined ? resource.evaluate(value) : resource.instance.evaluate(value, index));
  const render = (value: Json, index: number | undefined): Json => {
    if (Array.isArray(value)) return value.map((item) => render(item, index));
    if (!isPlainObject(value)) return sendable(at(value, index));
    const out: Record<string, Json> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === 'copy' && Array.isArray(item)) {
        for (const loop of item) out[loop.name] = Array.from({ length: Number(at(loop.count, index)) }, (_, i) => render(loop.input, i));
      } else out[String(at(key, index))] = render(item, index);
    }
    return out;
  };
  return sendable(render(withoutTemplateKeys(resource.resource), undefined));
}

function validateOne(schemas: Map<string, ResourceSchema>, where: string, resource: Json, body: Json): string[] {
  const key = `${resource.type}@${resource.apiVersion}`;
  const label = `${where}: ${key} ${typeof body.name === 'string' ? body.name : JSON.stringify(resource.name)}`;
  const schema = schemas.get(key);
  if (!schema) return [`${label}: no schema in ${SCHEMA_DIR} for ${key} (write ${schemaFileFor(key)} from the published ARM schema for that type and API version)`];
  if (schema.validate(body)) return [];
  return [...new Set((schema.validate.errors ?? []).map((error) => describe(error, body)).filter((message): message is string => message !== undefined))].map((message) => `${label}: ${message}`);
}

/** Every resource of every template, as written and as rendered for each sample, against its schema. */
export function checkResourceSchemas(set: TemplateSet, schemas = loadResourceSchemas(), samples: readonly Sample[] = SAMPLES): string[] {
  const violations: string[] = [];
  for (const [file, template] of set.templates) {
    for (const resource of resourcesOf(template)) violations.push(...validateOne(schemas, file, resource, asWritten(withoutTemplateKeys(resource))));
  }
  for (const sample of samples) {
    for (const instance of mainFor(set, sample.parameters).tree()) {
      for (const resource of instance.resources().filter((r) => r.active)) {
        let body: Json;
        try {
          body = rendered(resource);
        } catch (error) {
          violations.push(`with ${sample.label}: ${instance.file}: cannot render ${resource.resource.type} ${JSON.stringify(resource.resource.name)}: ${(error as Error).message}`);
          continue;
        }
        violations.push(...validateOne(schemas, `with ${sample.label}: ${instance.file}`, resource.resource, body));
      }
    }
  }
  return [...new Set(violations)];
}

/** Every type@apiVersion the templates deploy. */
export function resourceKinds(set: TemplateSet): string[] {
  return [...new Set([...set.templates.values()].flatMap((template) => resourcesOf(template).map((r: Json) => `${r.type}@${r.apiVersion}`)))].sort();
}
