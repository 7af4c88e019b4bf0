// Test support shared by integration, e2e and fault tests and the benchmarks; never imported by app code.
export { RabbitNode, rabbitmqInstalled, NODE_START_TIMEOUT_MS } from './rabbit-node';
export type { RabbitNodeOptions } from './rabbit-node';
export { CallbackReceiver } from './callback-receiver';
export type { ReceivedCallback, DuplicateDelivery } from './callback-receiver';
export { freePort } from './ports';
export { ServiceProcess } from './service-process';
export type { ServiceProcessOptions } from './service-process';
export { waitFor, waitUntil } from './wait-for';
export { collectPublished } from './published';
