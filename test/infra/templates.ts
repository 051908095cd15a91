import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** ARM template JSON: loosely typed on purpose; the checks look at it the way Resource Manager does. */
export type Json = any;

/** A deployment's templates: the main template and every template it links, by path relative to the working directory. */
export interface TemplateSet {
  main: string;
  templates: Map<string, Json>;
}

/** A `Microsoft.Resources/deployments` resource that links another template by relative path. */
export interface Link {
  /** The template holding the deployment resource. */
  from: string;
  /** The linked template. */
  to: string;
  deployment: Json;
}

const toKey = (path: string) => relative(process.cwd(), resolve(path)).split('\\').join('/');

/** Loads a main template and, transitively, every template it links with templateLink.relativePath. */
export function loadTemplateSet(mainPath = 'infra/main.json'): TemplateSet {
  const templates = new Map<string, Json>();
  const pending = [toKey(mainPath)];
  while (pending.length > 0) {
    const path = pending.shift()!;
    if (templates.has(path)) continue;
    if (!existsSync(path)) throw new Error(`Template ${path} does not exist`);
    const template = JSON.parse(readFileSync(path, 'utf8'));
    templates.set(path, template);
    for (const resource of resourcesOf(template)) {
      const relativePath = linkOf(resource);
      if (relativePath === undefined) continue;
      const target = toKey(join(dirname(path), relativePath));
      if (!existsSync(target)) throw new Error(`${path} links ${relativePath}, which does not exist (${target})`);
      pending.push(target);
    }
  }
  return { main: toKey(mainPath), templates };
}

export function resourcesOf(template: Json): Json[] {
  return Array.isArray(template?.resources) ? template.resources : [];
}

function linkOf(resource: Json): string | undefined {
  if (resource?.type !== 'Microsoft.Resources/deployments') return undefined;
  const relativePath = resource.properties?.templateLink?.relativePath;
  return typeof relativePath === 'string' ? relativePath : undefined;
}

export function linksOf(set: TemplateSet): Link[] {
  const links: Link[] = [];
  for (const [from, template] of set.templates) {
    for (const deployment of resourcesOf(template)) {
      const relativePath = linkOf(deployment);
      if (relativePath !== undefined) links.push({ from, to: toKey(join(dirname(from), relativePath)), deployment });
    }
  }
  return links;
}

/** Every resource of every template, with the template it is in. */
export function allResources(set: TemplateSet): { file: string; resource: Json }[] {
  return [...set.templates].flatMap(([file, template]) => resourcesOf(template).map((resource) => ({ file, resource })));
}

export function cloneSet(set: TemplateSet): TemplateSet {
  return { main: set.main, templates: new Map([...set.templates].map(([path, template]) => [path, structuredClone(template)])) };
}
