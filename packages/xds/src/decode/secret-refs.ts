/**
 * Secrets referenced by name (`SdsSecretConfig` without `sds_config`, or with `ads`) must be defined in the same
 * snapshot (`static_resources.secrets`, `Secret` resources), and be of the kind the reference needs. File-sourced
 * secrets are read when the config applies, and certificate provider instances come from the xDS bootstrap: both
 * are checked there.
 */
import type { ClusterConfig, ListenerConfig } from '../model.js';
import type { CommonTlsConfig, SdsRef, SecretConfig } from '../tls-model.js';
import type { Issues } from './reader.js';

export function checkSecretRefs(cluster: ClusterConfig, path: string, secrets: ReadonlyMap<string, { config: SecretConfig }>, issues: Issues): void {
  const contexts: { common: CommonTlsConfig; at: string }[] = [];
  if (cluster.tls) contexts.push({ common: cluster.tls.common, at: `${path}.transport_socket` });
  cluster.transportSocketMatches?.forEach((m, i) => {
    if (m.tls) contexts.push({ common: m.tls.common, at: `${path}.transport_socket_matches[${i}].transport_socket` });
  });
  checkContexts(contexts, secrets, issues);
}

/** The same for the downstream TLS contexts of a listener's filter chains. */
export function checkListenerSecretRefs(listener: ListenerConfig, path: string, secrets: ReadonlyMap<string, { config: SecretConfig }>, issues: Issues): void {
  const contexts: { common: CommonTlsConfig; at: string }[] = [];
  for (const chain of listener.filterChains ?? []) {
    if (chain.tls) contexts.push({ common: chain.tls.common, at: `${path}.filter_chains("${chain.name}").transport_socket` });
  }
  checkContexts(contexts, secrets, issues);
}

function checkContexts(contexts: readonly { common: CommonTlsConfig; at: string }[], secrets: ReadonlyMap<string, { config: SecretConfig }>, issues: Issues): void {
  for (const { common, at } of contexts) {
    if (common.certificate?.kind === 'sds') check(common.certificate.secret, 'tls_certificate', at, secrets, issues);
    if (common.validation?.kind === 'sds') check(common.validation.secret, 'validation_context', at, secrets, issues);
  }
}

function check(ref: SdsRef, kind: SecretConfig['kind'], at: string, secrets: ReadonlyMap<string, { config: SecretConfig }>, issues: Issues): void {
  if (ref.source.kind === 'file') return;
  const found = secrets.get(ref.name)?.config;
  if (found === undefined) issues.error(at, `refers to secret "${ref.name}", which is not defined`);
  else if (found.kind !== kind) issues.error(at, `refers to secret "${ref.name}", a ${found.kind} secret; a ${kind} secret is needed here`);
}
