/**
 * The CLIs as their npm scripts run them: bundles (dev/bundle.sh). Under c8 (`npm run coverage`, which sets
 * NODE_V8_COVERAGE) their compiled modules run instead, so coverage is counted per source file, as dev/app-process.ts
 * does for the app.
 */
const cli = (name: string): string => (process.env.NODE_V8_COVERAGE ? `dist/dev/${name}.js` : `dist/bundle/cli/${name}.js`);

/** `npm run audit`. */
export const AUDIT_CLI = cli('audit');
/** `npm run verify-catalogue`. */
export const VERIFY_CATALOGUE_CLI = cli('verify-catalogue');
