export { OutboundHttpClient, DEFAULT_OUTBOUND_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_REDIRECTS } from './outbound-client';
export type { OutboundPolicy, OutboundRequest, OutboundResponse, OutboundMethod } from './outbound-client';
export { OutboundError } from './errors';
export type { OutboundErrorCode } from './errors';
export { parseAllowList, checkAddress, isHostAllowListed, EMPTY_ALLOW_LIST } from './address-policy';
export type { AllowList, AddressVerdict } from './address-policy';
export { outboundEnv } from './config';
