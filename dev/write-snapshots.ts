import { readFileSync, writeFileSync } from 'node:fs';
import { TOOLS } from '../shared/tools/registry.js';
import { buildCatalogue } from '../shared/mcp/catalogue.js';
import { buildManifest } from '../shared/mcp/manifest.js';
import { renderSchemaSnapshot, renderToolTable, replaceToolTable } from './catalogue-docs.js';

/** `npm run snapshots`: regenerates the tool-schema snapshot and README's tool table after a tool changes. */
writeFileSync('test/snapshots/tool-schemas.json', renderSchemaSnapshot(TOOLS));
writeFileSync('README.md', replaceToolTable(readFileSync('README.md', 'utf8'), renderToolTable(TOOLS)));
writeFileSync('shared/mcp/tool-manifest.json', `${JSON.stringify(buildManifest(buildCatalogue(TOOLS)), null, 2)}\n`);
console.log(`Updated test/snapshots/tool-schemas.json, shared/mcp/tool-manifest.json and README.md for ${TOOLS.length} tools.`);
