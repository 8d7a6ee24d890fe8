export { ClientTls, type TransportAlpn } from './client-tls.js';
export { ClusterTls, UpstreamTlsContexts, type Prepared } from './upstream-contexts.js';
export { TlsSecrets, DEFAULT_PROVIDER_REFRESH_MS, type FileWatcherProvider, type ProviderMaterial, type TlsSecretsOptions } from './secrets.js';
export { SslStats } from './ssl-stats.js';
export { buildMaterial, type TlsMaterial } from './material.js';
export { compilePeerCheck, subjectAltNames, spkiPin, type PeerCheck, type SubjectAltNames } from './peer-check.js';
export { loadDataSource, MAX_DATA_SOURCE_BYTES } from './data-source.js';
export { describeTlsFailure, markTlsFailure, tlsFailureKindOf, tlsFailureOf, type TlsFailureKind, type TlsFailureDetails } from './failure.js';
