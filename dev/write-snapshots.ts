import { readFileSync, writeFileSync } from 'node:fs';
import { TOOLS } from '../shared/tools/registry.js';
import { buildCatalogue } from '../shared/mcp/catalogue.js';
import { buildManifest, type ToolVersionRecord } from '../shared/mcp/manifest.js';
import { GENERATED_CATALOGUE_FILE, renderGeneratedCatalogue, renderSchemaSnapshot, renderToolTable, replaceToolTable } from './catalogue-docs.js';
import { unversionedChanges } from './tool-versions.js';

/**
 * `npm run snapshots`: regenerates the tool-schema snapshot, the catalogue the app loads at start, the version record
 * (tool-manifest.json) and README's tool table after a tool changes (then `npm run build` again: the app's catalogue
 * is compiled in). It writes nothing while a tool changed without a version bump.
 */
const MANIFEST_FILE = 'shared/mcp/tool-manifest.json';
const manifest = buildManifest(buildCatalogue(TOOLS));
const problems = unversionedChanges(JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as ToolVersionRecord, manifest);
if (problems.length > 0) {
  console.error(`Nothing written: ${problems.length} tool(s) changed without a version bump:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  process.exit(1);
}
writeFileSync('test/snapshots/tool-schemas.json', renderSchemaSnapshot(TOOLS));
writeFileSync(GENERATED_CATALOGUE_FILE, renderGeneratedCatalogue(TOOLS));
writeFileSync('README.md', replaceToolTable(readFileSync('README.md', 'utf8'), renderToolTable(TOOLS)));
writeFileSync(MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`Updated test/snapshots/tool-schemas.json, ${GENERATED_CATALOGUE_FILE}, ${MANIFEST_FILE} and README.md for ${TOOLS.length} tools.`);
