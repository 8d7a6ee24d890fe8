/**
 * The route's upstream rewrite (header mutations, Host, path; @xmesh/router's UpstreamRewrite) as the
 * front ends apply it. Only a call the embedded pipeline sends is rewritten here: a call handed to a
 * sidecar goes as the app made it and the sidecar rewrites it, so nothing is rewritten twice.
 */
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode, type MeshError } from '@xmesh/core';
import type { HeaderWriter, UpstreamRewrite } from '@xmesh/router';
import type { PipelineCall } from './pipeline-call.js';

/** The rewrite `attempt` must apply itself; undefined in sidecar mode or when its route rewrites nothing. */
export function embeddedRewrite(attempt: PipelineCall): UpstreamRewrite | undefined {
  return attempt.mode === 'embedded' ? attempt.decision?.rewrite : undefined;
}

/**
 * Mesh errors Envoy's router answers itself once a route was chosen (timeouts, no healthy upstream,
 * overflow, connect failures and resets): the route's response header mutations apply to their local
 * replies, as Envoy's `modify_headers` does. Replies of the filters (rate limit, fault) and of routing
 * itself (no route, a rejected path) get none.
 */
export function isRouterReply(error: MeshError): boolean {
  switch (error.code) {
    case ErrorCode.LOCAL_REPLY:
      return error.reply?.route === true;
    case ErrorCode.TIMEOUT:
    case ErrorCode.NO_HEALTHY_UPSTREAM:
    case ErrorCode.NO_CLUSTER:
    case ErrorCode.CIRCUIT_OPEN:
    case ErrorCode.CONNECT_FAILED:
    case ErrorCode.UPSTREAM_RESET:
      return true;
    default:
      return false;
  }
}

/** grpc-js Metadata as a HeaderWriter. `-bin` values are the base64 text Envoy sees on the wire. */
export class MetadataHeaders implements HeaderWriter {
  constructor(readonly metadata: grpc.Metadata) {}

  get(name: string): string | undefined {
    const value = this.metadata.get(name)[0];
    if (value === undefined) return undefined;
    return typeof value === 'string' ? value : Buffer.from(value).toString('base64');
  }

  set(name: string, value: string): void {
    this.metadata.set(name, metadataValue(name, value));
  }

  append(name: string, value: string): void {
    this.metadata.add(name, metadataValue(name, value));
  }

  remove(name: string): void {
    this.metadata.remove(name);
  }
}

function metadataValue(name: string, value: string): grpc.MetadataValue {
  return name.endsWith('-bin') ? Buffer.from(value, 'base64') : value;
}
