import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.local/**',
      'coverage/**',
      'charts/**',
      'hack/tools/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bench/*.js', 'bench/*/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    // Product code: small functions, no non-null assertions, no test support.
    files: ['{common,certs,controller,webhook,cli,dashboard}/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/testing.ts', '**/testing/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'error',
      'max-lines-per-function': ['error', { max: 70, skipBlankLines: true, skipComments: true }],
      complexity: ['error', 20],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/testing', '**/testing.js', '**/testing/*', '@steerer/*/testing/*'],
              message: 'Test support never ships: import it from tests only.',
            },
          ],
        },
      ],
    },
  },
  {
    // The isomorphic model and the planner: no Node built-ins, logger or clients, so they
    // run in a browser too (common/src/model/bundle.test.ts proves it by bundling them).
    files: ['common/src/model/**/*.ts', 'controller/src/planner/**/*.ts'],
    ignores: ['**/*.test.ts', '**/testing.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^node:',
              message: 'The model and the planner run in a browser too: no Node built-ins.',
            },
            {
              group: ['winston', 'prom-client', '@kubernetes/*', 'jsonpatch', 'express'],
              message: 'The model and the planner import no logger, client or server.',
            },
            {
              regex: '^@steerer/common$',
              message: 'Import @steerer/common/model: the root entry point is Node-only.',
            },
            {
              group: ['**/testing', '**/testing.js', '**/testing/*', '@steerer/*/testing/*'],
              message: 'Test support never ships: import it from tests only.',
            },
          ],
        },
      ],
    },
  },
  {
    // The dashboard's page and what it shares with its server run in the browser: the DOM,
    // and nothing of Steerer but the isomorphic model (bundled by esbuild at build time).
    files: ['dashboard/src/web/**/*.ts', 'dashboard/src/shared/**/*.ts'],
    ignores: ['**/*.test.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^node:', message: 'The page runs in a browser: no Node built-ins.' },
            {
              regex: '^@steerer/(?!common/model$)',
              message: 'The page imports only @steerer/common/model of Steerer.',
            },
            {
              group: ['winston', 'prom-client', '@kubernetes/*', 'jsonpatch', 'express', 'esbuild'],
              message: 'The page imports no logger, client or server.',
            },
            { regex: '^\\.\\./server/', message: "The page never imports the server's code." },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**', 'hack/**', '*.js'],
    rules: { 'no-console': 'off', '@typescript-eslint/unbound-method': 'off' },
  },
);
