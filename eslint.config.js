// @ts-check
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * ESLint with typescript-eslint's type-aware rules over the TypeScript sources (npm run lint; CI runs it).
 * The types come from tsconfig.json through the project service, so the rules see what tsc sees.
 * Base: ESLint's recommended rules and typescript-eslint's recommended-type-checked set, with the exceptions
 * below, each with its reason.
 */
export default defineConfig(
  {
    // Build output, installed and local state, and generated code (shared/mcp/catalogue.generated.ts is written by
    // npm run snapshots, and checked against the registry by test/catalogue.test.ts).
    ignores: [
      'dist/**',
      'node_modules/**',
      '.sandbox/**',
      'bench/results/**',
      'coverage/**',
      '.azure-package/**',
      'infra/**',
      '**/*.js',
      '**/*.mjs',
      'shared/mcp/catalogue.generated.ts',
    ],
  },
  {
    files: ['{functions,shared,dev,test,bench}/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The rules the project asked for by name (all but consistent-type-imports are in the set above already).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      // With verbatimModuleSyntax, `import { type A }` would still load the module for nothing: write `import type`.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // tsc's own convention (noUnusedLocals/noUnusedParameters): a leading underscore marks a deliberate omission,
      // e.g. `const { secret: _secret, ...rest } = value` to drop a property.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Off: `async` without `await` is how this code implements Promise-returning contracts (TokenCredential's
      // getToken, a tool's handler, Functions handlers) so that a throw becomes a rejection; removing `async` there
      // would turn those throws synchronous.
      '@typescript-eslint/require-await': 'off',
      // The rule's default allows URL and URLSearchParams from the DOM library; this project takes them from
      // @types/node (lib has no DOM), where they stringify the same way.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allow: [
            { name: ['Error', 'URL', 'URLSearchParams'], from: 'lib' },
            { name: ['URL', 'URLSearchParams'], from: 'package', package: 'url' },
          ],
        },
      ],
    },
  },
  {
    // The deployed app is an esbuild bundle, which carries only what it can see imported: a file loaded through
    // createRequire at run time is not in the package (shared/shield/fold.ts once read unhomoglyph's data.json so,
    // and the packaged app answered 500). Import it, or generate it into a module (npm run generate).
    files: ['{functions,shared}/**/*.ts'],
    // The one file that declares the deep imports below by the package's own types.
    ignores: ['shared/policy/rate-limiter-parts.d.ts'],
    rules: {
      // typescript-eslint's version of the rule, for `allowTypeImports`; the base rule stays off beside it.
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:module',
              importNames: ['createRequire'],
              message: 'The deployed bundle cannot see what createRequire loads at run time: import it, or generate it into a module (npm run generate).',
            },
            { name: 'module', importNames: ['createRequire'], message: 'As for node:module: the deployed bundle cannot see what createRequire loads.' },
            // What esbuild cannot leave out of the bundle, parsed at every cold start for nothing: with zod's `z` (below),
            // 410 KB of the start-up chunks, and the bundled local host answered its first call 16-24 ms sooner without them.
            {
              name: 'rate-limiter-flexible',
              allowTypeImports: true,
              message:
                "Import the class from its own file (rate-limiter-flexible/lib/<Class>.js, typed in shared/policy/rate-limiter-parts.d.ts): the package's index loads every store it supports.",
            },
          ],
        },
      ],
      // As above for zod: `z` is a value that holds all of zod, every locale included (340 KB), and the bundle keeps
      // all of it; `import * as z` lets esbuild keep only what the code names.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "ImportDeclaration[source.value='zod'][importKind='value'] > :matches(ImportSpecifier[imported.name='z'][importKind!='type'], ImportDefaultSpecifier)",
          message: "Write `import * as z from 'zod'`: zod's `z` object holds all of zod, locales included, and the bundle keeps all of it.",
        },
      ],
    },
  },
  {
    // Tests read loosely typed JSON on purpose (ARM templates in test/infra, HTTP answers, audit records): a wrong
    // shape fails the assertion that reads it. The app's code (functions, shared, dev, bench) keeps these rules.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
