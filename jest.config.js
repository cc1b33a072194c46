// Jest runs in native ESM mode (client-node 1.x is ESM-only); @swc/jest strips types.
// Type-checking is tsc's job (`npm run typecheck`), so transforms stay fast.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    },
  ],
};
const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  moduleNameMapper: {
    '^@steerer/common/model$': '<rootDir>/common/src/model/index.ts',
    '^@steerer/(common|certs|controller|webhook|test|cli|dashboard)$': '<rootDir>/$1/src/index.ts',
    '^@steerer/(common|certs|controller|webhook|test|cli|dashboard)/(.*)$':
      '<rootDir>/$1/src/$2.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  // Only source folders: .local/ holds etcd data whose *.snap files are not ours.
  roots: [
    '<rootDir>/common',
    '<rootDir>/certs',
    '<rootDir>/controller',
    '<rootDir>/webhook',
    '<rootDir>/test',
    '<rootDir>/cli',
    '<rootDir>/dashboard',
  ],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};

/** @type {import('jest').Config} */
export default {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/{common,certs,controller,webhook,test,cli,dashboard}/src/**/*.test.ts',
      ],
      testPathIgnorePatterns: [...shared.testPathIgnorePatterns, '\\.e2e\\.test\\.ts$'],
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/src/e2e/**/*.e2e.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/src/e2e/setup.ts'],
    },
  ],
};
