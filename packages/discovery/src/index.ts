export type { EndpointSource, SourceOptions, DnsLookupFamily } from './endpoint-source.js';
export { createEndpointSource } from './create-endpoint-source.js';
export { sameSource } from './same-source.js';
export { flattenLoadAssignment } from './flatten.js';
export { FixedSource } from './fixed-source.js';
export { DnsSource, type DnsMode } from './dns/dns-source.js';
export { lookupHost, selectFamily, type LookupAnswer } from './dns/lookup.js';
export * from './ads/index.js';
export * from './registry/index.js';
