import { readFileSync, writeFileSync } from 'node:fs';
import { TOOLS } from '../shared/tools/registry.js';
import { buildCatalogue } from '../shared/mcp/catalogue.js';
import { buildManifest } from '../shared/mcp/manifest.js';
import { GENERATED_CATALOGUE_FILE, renderGeneratedCatalogue, renderSchemaSnapshot, renderToolTable, replaceToolTable } from './catalogue-docs.js';

/**
 * `npm run snapshots`: regenerates the tool-schema snapshot, the catalogue the app loads at start, the manifest and
 * README's tool table after a tool changes (then `npm run build` again: the app's catalogue is compiled in).
 */
writeFileSync('test/snapshots/tool-schemas.json', renderSchemaSnapshot(TOOLS));
writeFileSync(GENERATED_CATALOGUE_FILE, renderGeneratedCatalogue(TOOLS));
writeFileSync('README.md', replaceToolTable(readFileSync('README.md', 'utf8'), renderToolTable(TOOLS)));
writeFileSync('shared/mcp/tool-manifest.json', `${JSON.stringify(buildManifest(buildCatalogue(TOOLS)), null, 2)}\n`);
console.log(`Updated test/snapshots/tool-schemas.json, ${GENERATED_CATALOGUE_FILE}, shared/mcp/tool-manifest.json and README.md for ${TOOLS.length} tools.`);
