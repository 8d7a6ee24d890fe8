/**
 * Secrets served from certificate files: a `Secret` resource of the served config may name its certificate, key
 * and CA by `filename` — paths on the control plane's host. They are read here and sent inline (`inline_bytes`),
 * so clients receive the certificates themselves; the files are watched by the caller, and a change is a new
 * version pushed to every client (rotation = a push). Key bytes are never logged.
 */
import { readFileSync } from 'node:fs';
import { TypeUrl } from '@xmesh/xds';
import type { FieldError } from '@xmesh/core';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Certificate files are small; a bigger one is a mistake. */
const MAX_SECRET_FILE_BYTES = 1024 * 1024;

/** The DataSource fields of a Secret that may name a file, by secret kind. */
const FILE_FIELDS: readonly (readonly [kind: string, field: string])[] = [
  ['tls_certificate', 'certificate_chain'],
  ['tls_certificate', 'private_key'],
  ['validation_context', 'trusted_ca'],
];

export interface InlinedSecrets {
  /** The resources, with every Secret file read into `inline_bytes`. */
  readonly resources: unknown[];
  /** The files read (to watch). */
  readonly files: readonly string[];
  readonly errors: readonly FieldError[];
}

/** Reads the files Secret resources name, returning resources that carry their bytes instead. */
export function inlineSecretFiles(resources: readonly unknown[]): InlinedSecrets {
  const files = new Set<string>();
  const errors: FieldError[] = [];
  const out = resources.map((resource, i) => {
    if (!isObj(resource) || resource['@type'] !== TypeUrl.Secret) return resource;
    let copy: Json | undefined;
    for (const [kind, field] of FILE_FIELDS) {
      const holder = resource[kind];
      const source = isObj(holder) ? holder[field] : undefined;
      const filename = isObj(source) ? source['filename'] : undefined;
      if (typeof filename !== 'string') continue;
      const path = `[${i}].${kind}.${field}.filename`;
      files.add(filename);
      let bytes: Buffer;
      try {
        bytes = readFileSync(filename);
      } catch (err) {
        errors.push({ path, message: `cannot read ${filename}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        continue;
      }
      if (bytes.length > MAX_SECRET_FILE_BYTES) {
        errors.push({ path, message: `${filename} is larger than ${MAX_SECRET_FILE_BYTES} bytes` });
        continue;
      }
      copy ??= { ...resource, [kind]: { ...(resource[kind] as Json) } };
      const { filename: _served, ...rest } = source as Json;
      (copy[kind] as Json)[field] = { ...rest, inline_bytes: bytes.toString('base64') };
    }
    return copy ?? resource;
  });
  return { resources: out, files: [...files], errors };
}
