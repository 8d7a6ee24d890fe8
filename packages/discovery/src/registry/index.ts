export type { RegistryInstance, RegistryWatch, ServiceRegistry } from './registry.js';
export { RegistrySource } from './registry-source.js';
export { SharedRegistries, type RegistryConnector, type RegistryLease } from './shared-registries.js';
export { registryEndpoints, registryLoadAssignment, INSTANCE_METADATA_KEY } from './load-assignment.js';
