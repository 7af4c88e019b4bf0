'use strict';
// Lets the benchmarks load the project's TypeScript sources directly (the same code the
// services run), compiled on the fly by @swc/core with the options the Jest config uses, and
// maps `@ragmesh/<lib>` to `libs/<lib>/src/index.ts` as tsconfig paths do. No build step, so
// a benchmark never measures a stale dist/.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

const ROOT = path.resolve(__dirname, '..', '..');
const SWC_OPTIONS = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

const originalResolve = Module._resolveFilename;
Module._resolveFilename = function resolve(request, parent, ...rest) {
  const lib = /^@ragmesh\/([a-z0-9-]+)$/.exec(request);
  if (lib) return path.join(ROOT, 'libs', lib[1], 'src', 'index.ts');
  try {
    return originalResolve.call(this, request, parent, ...rest);
  } catch (err) {
    // Extension-less relative imports of .ts files.
    if (request.startsWith('.') && parent && parent.filename) {
      const base = path.resolve(path.dirname(parent.filename), request);
      for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
        if (fs.existsSync(candidate)) return candidate;
      }
    }
    throw err;
  }
};

require.extensions['.ts'] = function compile(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = transformSync(source, { ...SWC_OPTIONS, filename });
  module._compile(code, filename);
};

require('reflect-metadata');

module.exports = { ROOT };
