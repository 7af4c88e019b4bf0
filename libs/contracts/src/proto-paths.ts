import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** proto/ sits at the repository root; from src/ and from dist/ alike, walk up until found. */
function findProtoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'ragmesh', 'v1'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`proto/ragmesh/v1 not found above ${__dirname}`);
    dir = parent;
  }
}

export const PROTO_ROOT = findProtoRoot();
export const PROTO_PACKAGE = 'ragmesh.v1';
export const protoPath = (name: 'retrieval' | 'generation' | 'registry'): string =>
  join(PROTO_ROOT, 'ragmesh', 'v1', `${name}.proto`);

/** proto-loader options shared by every server and client: camelCase fields, defaults filled. */
export const PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};
