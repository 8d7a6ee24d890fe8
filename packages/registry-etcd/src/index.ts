export { EtcdRegistry, type EtcdRegistryOptions } from './etcd-registry.js';
export {
  registerService, shutdownGracefully, DEFAULT_TTL_SECONDS,
  type RegisterServiceOptions, type Registration, type InstanceUpdate, type GracefulShutdownOptions,
} from './registration.js';
export { parseEtcdUrl } from './etcd-client.js';
export { DEFAULT_PREFIX, instanceKey, encodeInstance } from './instance-codec.js';
