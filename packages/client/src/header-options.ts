/** Header helpers the HTTP front ends (the mesh's dispatcher, the sidecar) share. */
import type { HeaderValueOption } from '@xmesh/xds';

type HeaderRecord = Record<string, string | string[] | undefined>;

/** Applies Envoy HeaderValueOptions to `headers` (lower-case names): `append` adds a value, otherwise the header is replaced. */
export function addHeaderOptions(headers: HeaderRecord, options: readonly HeaderValueOption[]): void {
  for (const { key, value, append } of options) {
    const name = key.toLowerCase();
    const prior = headers[name];
    if (!append || prior === undefined) headers[name] = value;
    else headers[name] = Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
}

/** Removes `names` (lower-case) from `headers`. */
export function removeHeaders(headers: HeaderRecord, names: readonly string[] | undefined): void {
  if (names === undefined) return;
  for (const name of names) delete headers[name];
}

/** The first value of header `name` (lower case) in `headers`: a `HeaderReader` for trace propagation. */
export function headerText(headers: HeaderRecord, name: string): string | undefined {
  return firstValue(headers[name]);
}

/** The first value of a header that may repeat. */
export function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
