import semver from 'semver';
import type { ToolVersionRecord } from '../shared/mcp/manifest.js';

/**
 * The tools whose signed definition (title, description, schemas, annotations, Azure permissions) changed since the
 * committed record (shared/mcp/tool-manifest.json) without a higher version, each with what to do. A tool the record
 * does not hold yet (new, or recorded before versions were) may have any version.
 */
export function unversionedChanges(committed: ToolVersionRecord, current: ToolVersionRecord): string[] {
  const before = new Map(committed.tools.map((tool) => [tool.name, tool]));
  const problems: string[] = [];
  for (const tool of current.tools) {
    const previous = before.get(tool.name);
    if (!previous?.version || previous.sha256 === tool.sha256) continue;
    if (!semver.valid(tool.version) || !semver.gt(tool.version, previous.version)) {
      problems.push(
        `${tool.name}: its definition changed (digest ${previous.sha256.slice(0, 12)}… → ${tool.sha256.slice(0, 12)}…) but its version is ${tool.version}, not above the recorded ${previous.version}: raise \`version\` in its tool file, then run \`npm run generate\`.`,
      );
    }
  }
  return problems;
}
