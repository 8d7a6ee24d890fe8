/** `xmesh validate <file...>`: like `envoy --mode validate`. Exit 0 when every file is valid, 1 otherwise. */
import { formatFieldErrors, type FieldError } from '@xmesh/core';
import { loadConfigFile, readConfigText, TypeUrl, type AdsBootstrap, type MeshSnapshot, type ResourceTypeUrl } from '@xmesh/xds';
import { routingTable, summarize } from './summary.js';

export interface ValidateOutcome {
  readonly file: string;
  readonly snapshot?: MeshSnapshot;
  /** The ADS server the bootstrap takes its listeners and clusters from. */
  readonly ads?: AdsBootstrap;
  readonly errors: readonly FieldError[];
}

/** `--type` values: the resource type of a file whose resources carry no `@type`. */
export const RESOURCE_TYPES: Readonly<Record<string, ResourceTypeUrl>> = {
  listener: TypeUrl.Listener,
  route: TypeUrl.RouteConfiguration,
  cluster: TypeUrl.Cluster,
  endpoint: TypeUrl.ClusterLoadAssignment,
};

/** Validates `file` and the files its dynamic_resources name, as Envoy would load them. Never throws: a file that cannot be read, parsed or built is an outcome with its errors. */
export async function validateFile(file: string, resourceType?: ResourceTypeUrl): Promise<ValidateOutcome> {
  const { result } = await loadConfigFile(file, readConfigText, { allowAds: true, ...(resourceType === undefined ? {} : { resourceType }) });
  if (!result.ok) return { file, errors: result.errors };
  return { file, snapshot: result.snapshot, ...(result.ads === undefined ? {} : { ads: result.ads }), errors: [] };
}

/** How `validate` prints an invalid file; `xmesh sidecar` and `xmesh control-plane` print a bad config the same way. */
export function formatInvalid(file: string, errors: readonly FieldError[]): string {
  const header = `${file}: INVALID (${errors.length} error${errors.length === 1 ? '' : 's'})`;
  return `${header}\n${formatFieldErrors(errors).replace(/^/gm, '  ')}`;
}

export interface ValidateOptions {
  readonly routes?: boolean;
  readonly json?: boolean;
  /** The resource type of files whose resources have no `@type` (listener, route, cluster, endpoint). */
  readonly type?: string;
}

export async function runValidate(files: string[], options: ValidateOptions, out: (line: string) => void): Promise<number> {
  let failed = 0;
  const resourceType = options.type === undefined ? undefined : RESOURCE_TYPES[options.type];
  if (options.type !== undefined && resourceType === undefined) {
    out(`--type must be one of ${Object.keys(RESOURCE_TYPES).join(', ')}, got ${JSON.stringify(options.type)}`);
    return 2;
  }
  for (const file of files) {
    const result = await validateFile(file, resourceType);
    if (options.json) {
      out(JSON.stringify({ file, ok: result.errors.length === 0, errors: result.errors, snapshot: result.snapshot, ads: result.ads }, null, 2));
    } else if (result.snapshot) {
      out(`${file}: OK`);
      if (result.ads) out(`listeners and clusters come from the ADS server ${result.ads.xds_servers[0].server_uri} (node ${result.ads.node.id})`);
      out(summarize(result.snapshot));
      if (options.routes) out(routingTable(result.snapshot));
    } else {
      out(formatInvalid(file, result.errors));
    }
    if (result.errors.length > 0) failed++;
  }
  return failed === 0 ? 0 : 1;
}
