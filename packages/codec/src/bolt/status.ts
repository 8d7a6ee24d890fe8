/**
 * Bolt response status ↔ the mesh's outcome classes, so retries (`retry_on`), outlier detection,
 * breakers and stats read a Bolt call's end as they read an HTTP one:
 *
 * | Bolt status                                   | HTTP status read | class                      |
 * |-----------------------------------------------|------------------|----------------------------|
 * | SUCCESS                                       | 200              | success                    |
 * | SERVER_EXCEPTION, ERROR, UNKNOWN, CODEC_EXCEPTION, SERVER_(DE)SERIAL_EXCEPTION | 500 | server exception (5xx) |
 * | NO_PROCESSOR (the provider has no such service) | 501            | 5xx                        |
 * | SERVER_THREADPOOL_BUSY                        | 503              | gateway error, overloaded  |
 * | CONNECTION_CLOSED, ERROR_COMM, CLIENT_SEND_ERROR | 503           | gateway error              |
 * | TIMEOUT                                       | 504              | gateway error, timeout     |
 *
 * And the other way, a mesh-originated failure answered to a Bolt caller (sidecar local replies):
 * no route → NO_PROCESSOR; no provider (no healthy upstream, no cluster, connect failure, reset,
 * closed) → CONNECTION_CLOSED; circuit open or rate limited → SERVER_THREADPOOL_BUSY; timeout →
 * TIMEOUT; a malformed or oversized frame → CODEC_EXCEPTION; anything else → SERVER_EXCEPTION.
 */
import type { MeshError } from '@xmesh/core';
import { BoltStatus } from './constants.js';

/** The HTTP status a Bolt response status counts as (see the table above); unknown values are 500. */
export function httpStatusOfBolt(status: number): number {
  switch (status) {
    case BoltStatus.SUCCESS:
      return 200;
    case BoltStatus.NO_PROCESSOR:
      return 501;
    case BoltStatus.SERVER_THREADPOOL_BUSY:
    case BoltStatus.CONNECTION_CLOSED:
    case BoltStatus.ERROR_COMM:
    case BoltStatus.CLIENT_SEND_ERROR:
      return 503;
    case BoltStatus.TIMEOUT:
      return 504;
    default:
      return 500;
  }
}

/** The Bolt status a mesh-originated failure is answered with. */
export function boltStatusOfError(error: MeshError): BoltStatus {
  switch (error.code) {
    case 'XMESH_NO_ROUTE':
      return BoltStatus.NO_PROCESSOR;
    case 'XMESH_NO_HEALTHY_UPSTREAM':
    case 'XMESH_NO_CLUSTER':
    case 'XMESH_CONNECT_FAILED':
    case 'XMESH_UPSTREAM_RESET':
    case 'XMESH_UPSTREAM_PROTOCOL':
    case 'XMESH_CLOSED':
    case 'XMESH_DNS_FAILED':
      return BoltStatus.CONNECTION_CLOSED;
    case 'XMESH_CIRCUIT_OPEN':
    case 'XMESH_RATE_LIMITED':
      return BoltStatus.SERVER_THREADPOOL_BUSY;
    case 'XMESH_TIMEOUT':
      return BoltStatus.TIMEOUT;
    case 'XMESH_PROTOCOL':
    case 'XMESH_MESSAGE_TOO_LARGE':
      return BoltStatus.CODEC_EXCEPTION;
    default:
      return BoltStatus.SERVER_EXCEPTION;
  }
}

/** A readable name for a status, for error messages. */
export function boltStatusName(status: number): string {
  for (const [name, value] of Object.entries(BoltStatus)) if (value === status) return name;
  return `status 0x${status.toString(16).padStart(4, '0')}`;
}
