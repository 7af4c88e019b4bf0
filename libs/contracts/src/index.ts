export * as retrieval from './generated/ragmesh/v1/retrieval';
export * as generation from './generated/ragmesh/v1/generation';
export * as registry from './generated/ragmesh/v1/registry';
export * from './proto-paths';
export * from './events';
export * from './grpc';
export * from './grpc-clients';
export * from './service-token';
