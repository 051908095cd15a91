/**
 * The audit CLI as `npm run audit` runs it: the bundle (dev/bundle.sh). Under c8 (`npm run coverage`, which sets
 * NODE_V8_COVERAGE) its compiled module runs instead, so coverage is counted per source file, as dev/app-process.ts
 * does for the app.
 */
export const AUDIT_CLI = process.env.NODE_V8_COVERAGE ? 'dist/dev/audit.js' : 'dist/bundle/cli/audit.js';
