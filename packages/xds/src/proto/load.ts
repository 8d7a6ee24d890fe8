/**
 * Loads the Envoy v3 protos that ship in `@grpc/grpc-js-xds` into one protobufjs root.
 * Loading parses ~150 .proto files and takes about 200 ms on a 2-core machine: callers create one
 * `EnvoyProtos` (per process or per owner) and keep it. Nothing here is cached at module level.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import type { Field, Root, Type } from 'protobufjs';

const require = createRequire(import.meta.url);

/** The resource and extension protos xmesh reads, plus the discovery service used by ADS. */
export const ENVOY_PROTO_FILES: readonly string[] = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/route/v3/route_components.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/csrf/v3/csrf.proto',
  'envoy/extensions/filters/http/health_check/v3/health_check.proto',
  'envoy/extensions/filters/http/grpc_http1_bridge/v3/config.proto',
  // Inputs and custom matchers of RBAC matchers (the Unified Matcher API).
  'envoy/type/matcher/v3/http_inputs.proto',
  'envoy/extensions/matching/common_inputs/network/v3/network_inputs.proto',
  'envoy/extensions/matching/common_inputs/ssl/v3/ssl_inputs.proto',
  'xds/type/matcher/v3/ip.proto',
  'envoy/extensions/filters/http/buffer/v3/buffer.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/request_id/uuid/v3/uuid.proto',
  'envoy/config/trace/v3/zipkin.proto',
  'envoy/config/trace/v3/opentelemetry.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/service/discovery/v3/ads.proto',
];

/** A loaded, fully resolved set of Envoy protos. Immutable once built; share it freely. */
export interface EnvoyProtos {
  /** The protobufjs root, loaded with `keepCase: true` (field names stay snake_case). */
  readonly root: Root;
  /** Milliseconds spent loading and resolving. */
  readonly loadMs: number;
  /** The message type named by a type URL (`type.googleapis.com/pkg.Msg`), or undefined. */
  typeOf(typeUrl: string): Type | undefined;
  /** Fields of `type` by their name, their snake_case name and their lowerCamelCase name. */
  fieldsOf(type: Type): ReadonlyMap<string, Field>;
}

export function grpcJsXdsDir(): string {
  return path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
}

/**
 * Loads `ENVOY_PROTO_FILES` (synchronously), and `extraFiles` (other protos of the same trees, such as
 * `envoy/admin/v3/config_dump.proto`). Throws if the protos cannot be found or resolved.
 */
export function loadEnvoyProtos(extraFiles: readonly string[] = []): EnvoyProtos {
  const started = performance.now();
  const xdsDir = grpcJsXdsDir();
  const includeDirs = ['deps/envoy-api', 'deps/xds', 'deps/googleapis', 'deps/protoc-gen-validate'].map((d) =>
    path.join(xdsDir, d),
  );
  // google/protobuf/descriptor.proto (extended by the validate/udpa annotations) ships with protobufjs.
  includeDirs.push(path.dirname(require.resolve('protobufjs/package.json')));

  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of includeDirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return null;
  };
  root.loadSync([...ENVOY_PROTO_FILES, ...extraFiles], { keepCase: true });
  root.resolveAll();
  return new LoadedEnvoyProtos(root, performance.now() - started);
}

class LoadedEnvoyProtos implements EnvoyProtos {
  /** Only found types are cached, so hostile type URLs cannot grow it. */
  private readonly types = new Map<string, Type>();
  private readonly fields = new WeakMap<Type, ReadonlyMap<string, Field>>();

  constructor(
    readonly root: Root,
    readonly loadMs: number,
  ) {}

  typeOf(typeUrl: string): Type | undefined {
    const cached = this.types.get(typeUrl);
    if (cached) return cached;
    const slash = typeUrl.lastIndexOf('/');
    const name = typeUrl.slice(slash + 1);
    if (slash < 0 || name === '' || name.startsWith('.')) return undefined;
    const found = this.root.lookup(name);
    if (!(found instanceof protobuf.Type)) return undefined;
    this.types.set(typeUrl, found);
    return found;
  }

  fieldsOf(type: Type): ReadonlyMap<string, Field> {
    let map = this.fields.get(type);
    if (!map) {
      const m = new Map<string, Field>();
      for (const field of type.fieldsArray) {
        m.set(field.name, field);
        m.set(lowerCamel(field.name), field);
        m.set(snakeCase(field.name), field); // the bundled well-known types use lowerCamelCase names
      }
      map = m;
      this.fields.set(type, map);
    }
    return map;
  }
}

export function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
