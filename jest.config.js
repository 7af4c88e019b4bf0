// Three tiers: unit (*.spec.ts, nothing running), integration (*.integration-spec.ts,
// real PostgreSQL and RabbitMQ), e2e (test/e2e, the six services as processes).
const fs = require('node:fs');
const path = require('node:path');

const moduleNameMapper = {};
for (const lib of fs.readdirSync(path.join(__dirname, 'libs'))) {
  moduleNameMapper[`^@ragmesh/${lib}$`] = `<rootDir>/libs/${lib}/src/index.ts`;
}
const transform = {
  '^.+\\.ts$': ['@swc/jest', {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  }],
};
const base = { rootDir: __dirname, testEnvironment: 'node', moduleNameMapper, transform, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  // testTimeout is a global option in Jest (ignored per project); e2e raises its own.
  testTimeout: 60000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.spec.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,tools}/**/*.integration-spec.ts'],
      globalSetup: '<rootDir>/test/setup/integration-global-setup.js',
    },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
  ],
};
