/** Two projects: `unit` needs no services; `integration` talks to the real Kafka, registry, Redis and Prometheus
 * started by test/global-setup.ts. */
const tsJest = ['ts-jest', { diagnostics: false }]; // transpile-only via tsconfig isolatedModules; npm test typechecks with tsc first
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      // onnxruntime-node works in every integration test: its native typed arrays pass the test realm's instanceof
      // checks (test/helpers/ort-environment.js), so no stage falls back to the JS kernel because it runs under jest
      testEnvironment: '<rootDir>/test/helpers/ort-environment.js',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      testTimeout: 120000,
    },
  ],
  coverageThreshold: { global: { lines: 60 } },
};
