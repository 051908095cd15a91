import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A reviewed direct dependency: who is expected to publish it and whether it ships in the production package. */
export interface AllowedDependency {
  kind: 'production' | 'dev';
  publisher: string;
  purpose: string;
}

export interface AllowedDependencies {
  /** Expected publishers; a scoped dependency's scope must be one of its publisher's `scopes`. */
  publishers: Record<string, { name: string; scopes: string[] }>;
  dependencies: Record<string, AllowedDependency>;
  /** Reviewed npm aliases in the tree: install name → registry name. */
  aliases: Record<string, string>;
}

export interface TyposquatPolicy {
  /** Popular names attackers imitate, beyond those in our own tree. */
  wellKnown: string[];
  /** Reviewed near-name pairs that are both legitimate packages in our tree. */
  exceptions: Array<{ names: [string, string]; reason: string }>;
}

export interface InstallScriptPolicy {
  /** Packages whose install scripts CI runs after `npm ci` (ignore-scripts is on for everything else). */
  allowed: Record<string, string>;
  /** Packages with install scripts that stay disabled, each with why the project does not need them. */
  blocked: Record<string, string>;
}

export interface AdvisoryException {
  package: string;
  advisory: string;
  reason: string;
  reviewedBy: string;
  reviewedOn: string;
  expires: string;
}

/** The reviewed files under supply-chain/ (or a test's fixture folder with the same files). */
export interface GateConfig {
  allowed: AllowedDependencies;
  typosquat: TyposquatPolicy;
  installScripts: InstallScriptPolicy;
  advisoryExceptions: AdvisoryException[];
}

function readJson<T>(dir: string, file: string): T {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
}

export function readAdvisoryExceptions(file: string): AdvisoryException[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { exceptions: AdvisoryException[] }).exceptions;
}

export function readGateConfig(dir: string): GateConfig {
  return {
    allowed: readJson(dir, 'allowed-dependencies.json'),
    typosquat: readJson(dir, 'typosquat-policy.json'),
    installScripts: readJson(dir, 'install-scripts.json'),
    advisoryExceptions: readAdvisoryExceptions(join(dir, 'advisory-exceptions.json')),
  };
}
