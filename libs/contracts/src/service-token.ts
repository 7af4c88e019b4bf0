import { timingSafeEqual } from 'node:crypto';
import { type Interceptor, InterceptingCall, Metadata } from '@grpc/grpc-js';

/** gRPC metadata key carrying the mesh's shared service token on every internal call. */
export const SERVICE_TOKEN_METADATA_KEY = 'x-ragmesh-service-token';
/** Used when RAGMESH_SERVICE_TOKEN is unset, so a fresh checkout's mesh works; set a real secret anywhere else. */
export const DEV_SERVICE_TOKEN = 'ragmesh-dev-service-token';

export function serviceToken(env: NodeJS.ProcessEnv = process.env): string {
  return env.RAGMESH_SERVICE_TOKEN || DEV_SERVICE_TOKEN;
}

/** Client side: adds the token to every call's metadata (GrpcClientsModule installs it on each client). */
export function serviceTokenInterceptor(token = serviceToken()): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(SERVICE_TOKEN_METADATA_KEY, token);
        next(metadata, listener);
      },
    });
}

/** Whether `presented` (a metadata value, an HTTP header) is the expected token, compared in constant time. */
export function isServiceToken(presented: unknown, token = serviceToken()): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Server side: whether the call's metadata carries the expected token (compared in constant time). */
export function hasServiceToken(metadata: Metadata | undefined, token = serviceToken()): boolean {
  return isServiceToken(metadata?.get(SERVICE_TOKEN_METADATA_KEY)[0], token);
}

/** Metadata with the token, for hand-made grpc-js clients (tests, scripts): `client.method(req, serviceMetadata(), cb)`. */
export function serviceMetadata(token = serviceToken()): Metadata {
  const metadata = new Metadata();
  metadata.set(SERVICE_TOKEN_METADATA_KEY, token);
  return metadata;
}
