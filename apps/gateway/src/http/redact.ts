// grpc-js's own failures name hosts and ports ("connect ECONNREFUSED 10.0.3.7:50051"): logged in full, redacted in answers.
const ADDRESS = /\b(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]|localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?::\d{1,5})\b|\b\d{1,3}(?:\.\d{1,3}){3}\b/gi;

/** Every error text that leaves the gateway (error bodies, stream `error` events, callback pieces) goes through this. */
export function redactAddresses(message: string): string {
  return message.replace(ADDRESS, '<address>');
}
