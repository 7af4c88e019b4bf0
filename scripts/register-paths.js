// Maps `@ragmesh/<lib>` to the compiled lib under dist/ when a service runs from dist/.
const path = require('node:path');
const tsConfigPaths = require('tsconfig-paths');

const root = path.resolve(__dirname, '..');
tsConfigPaths.register({
  baseUrl: path.resolve(root, process.env.RAGMESH_DIST ?? 'dist'),
  paths: { '@ragmesh/*': ['libs/*/src/index.js'] },
});
