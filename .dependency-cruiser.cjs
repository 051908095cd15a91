// The import graph's rules (npm run deps:check; test/architecture.test.ts runs it in npm test). Type-only imports
// count: a cycle through types still ties the modules' meaning together, and one value import later makes it real.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle. Move the shared type to shared/domain/, or the shared piece to its own file.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-a-leaf',
      severity: 'error',
      comment: 'shared/domain/ holds what every layer shares, so it imports nothing of the app (only Node and zod types).',
      from: { path: '^shared/domain/' },
      to: { pathNot: '^(shared/domain/|node_modules/zod/)', dependencyTypesNot: ['core'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import the checker cannot resolve hides its edges from the cycle check.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: '^node_modules/' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
