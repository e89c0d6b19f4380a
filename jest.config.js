// Two projects so that the unit tests never pay for the bundle: jest runs a
// project's globalSetup only when one of that project's tests is selected.
const typescript = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true }]
  },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1'
  }
}

/** @type {import('jest').Config} */
export default {
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
  projects: [
    {
      ...typescript,
      displayName: 'unit',
      roots: ['<rootDir>/__tests__'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/e2e/']
    },
    {
      ...typescript,
      displayName: 'e2e',
      roots: ['<rootDir>/__tests__/e2e'],
      // The end-to-end tests run a bundle built from src/ as it is now, not dist/.
      globalSetup: '<rootDir>/__tests__/support/build-bundle.js',
      globalTeardown: '<rootDir>/__tests__/support/remove-bundle.js'
    }
  ]
}
