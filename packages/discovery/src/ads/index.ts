export { XdsClient, type XdsClientOptions, type XdsClientEvents, type AckInfo, type NackInfo, type XdsUpdate, type ListenerStatus } from './xds-client.js';
export {
  resolveBootstrap, listenerResourceName, DELTA_SERVER_FEATURE, IGNORE_RESOURCE_DELETION_FEATURE,
  type XdsBootstrap, type XdsNode, type XdsServerConfig, type ResolvedBootstrap, type FileWatcherConfig,
} from './bootstrap.js';
export { readCache, writeCache, type CachedResources } from './cache.js';
export {
  adsWire, toStruct, ADS_SERVICE, SOTW_METHOD_PATH, DELTA_METHOD_PATH,
  type AdsWire, type AdsMethod, type WireAny, type WireNode, type WireStatus, type WireResource,
  type DiscoveryRequest, type DiscoveryResponse, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse,
} from './wire.js';
export { nameOf } from './references.js';
