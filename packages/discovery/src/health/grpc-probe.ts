/**
 * Envoy's gRPC health checker (source/extensions/health_checkers/grpc): a unary
 * `grpc.health.v1.Health/Check` over HTTP/2 with `service_name`, `:authority` from the endpoint's
 * `health_check_config.hostname`, else `authority`, else the cluster name, `grpc-timeout` set to the
 * check's timeout and the `initial_metadata`. It passes only on grpc-status OK with one
 * HealthCheckResponse whose status is SERVING; any other answer (NOT_SERVING, UNIMPLEMENTED, a
 * non-200 status, a malformed body) is an active failure; a reset or refused connection a network one.
 */
import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { parseGrpcStatus } from '@xmesh/core';
import { HeaderMutator, RecordHeaders } from '@xmesh/router';
import type { GrpcHealthCheckConfig, HealthCheckConfig } from '@xmesh/xds';
import { H2Connection } from './h2-connection.js';
import { ACTIVE_FAILURE, NETWORK_FAILURE, SUCCESS, type Probe, type ProbeOutcome, type ProbeTarget } from './probe.js';

const PATH = '/grpc.health.v1.Health/Check';
/** `HealthCheckResponse.ServingStatus.SERVING`. */
const SERVING = 1;
/** A HealthCheckResponse is a few bytes; more than this is not one. */
const MAX_RESPONSE_BYTES = 4096;

export class GrpcProbe implements Probe {
  private readonly connection: H2Connection;
  private readonly request: Buffer;
  private readonly headers: OutgoingHttpHeaders;
  private stream: ClientHttp2Stream | undefined = undefined;
  private done: ((outcome: ProbeOutcome) => void) | undefined = undefined;
  private readonly reuse: boolean;
  /** Increases with each check: events of an earlier check's stream are ignored. */
  private checkNumber = 0;

  constructor(config: HealthCheckConfig, target: ProbeTarget) {
    const check = config.checker as GrpcHealthCheckConfig;
    this.connection = new H2Connection(target);
    this.reuse = config.reuseConnection;
    this.request = frame(healthCheckRequest(check.serviceName));
    const headers: Record<string, string | string[]> = {
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'Envoy/HC',
      'grpc-timeout': `${Math.max(1, Math.ceil(config.timeoutMs))}m`,
    };
    if (check.initialMetadata !== undefined) {
      new HeaderMutator(check.initialMetadata).apply(new RecordHeaders(headers), { request: { get: (name) => firstOf(headers[name]) }, response: undefined });
    }
    this.headers = { ...headers, ':method': 'POST', ':path': PATH, ':authority': target.authority };
  }

  start(done: (outcome: ProbeOutcome) => void): void {
    this.done = done;
    const number = ++this.checkNumber;
    const finish = (outcome: ProbeOutcome): void => {
      if (number === this.checkNumber) this.finish(outcome);
    };
    let stream: ClientHttp2Stream;
    try {
      stream = this.connection.request(this.headers, false);
    } catch {
      this.connection.drop();
      finish(NETWORK_FAILURE);
      return;
    }
    this.stream = stream;
    let status = 0;
    let trailersOnly: IncomingHttpHeaders | undefined;
    const body: Buffer[] = [];
    let bodyBytes = 0;
    let tooLong = false;
    stream.on('error', () => finish(NETWORK_FAILURE));
    stream.on('response', (headers, flags) => {
      status = Number(headers[':status']);
      if ((flags & 1) !== 0) trailersOnly = headers;
    });
    stream.on('data', (chunk: Buffer) => {
      if (bodyBytes + chunk.length > MAX_RESPONSE_BYTES) {
        tooLong = true;
        return;
      }
      body.push(chunk);
      bodyBytes += chunk.length;
    });
    let trailers: IncomingHttpHeaders | undefined;
    stream.on('trailers', (t) => (trailers = t));
    stream.on('end', () => {
      if (this.stream === stream) this.stream = undefined;
      const outcome = status === 0 ? NETWORK_FAILURE : judge(status, trailersOnly ?? trailers, tooLong ? undefined : Buffer.concat(body));
      if (!this.reuse) this.connection.drop();
      finish(outcome);
    });
    stream.on('close', () => finish(NETWORK_FAILURE));
    stream.end(this.request);
  }

  abort(): void {
    this.done = undefined;
    this.stream?.close();
    this.stream = undefined;
    if (!this.reuse) this.connection.drop();
  }

  close(): void {
    this.abort();
    this.connection.drop();
  }

  private finish(outcome: ProbeOutcome): void {
    const done = this.done;
    if (done === undefined) return;
    this.done = undefined;
    if (outcome === NETWORK_FAILURE) this.connection.drop();
    process.nextTick(done, outcome);
  }
}

/** GrpcActiveHealthCheckSession::onRpcComplete: SERVING with grpc-status 0 passes, anything else fails actively. */
function judge(status: number, trailers: IncomingHttpHeaders | undefined, body: Buffer | undefined): ProbeOutcome {
  if (status !== 200) return ACTIVE_FAILURE;
  const grpcStatus = trailers?.['grpc-status'];
  if (grpcStatus === undefined || parseGrpcStatus(grpcStatus) !== 0) return ACTIVE_FAILURE;
  if (body === undefined) return ACTIVE_FAILURE;
  return servingStatus(body) === SERVING ? SUCCESS : ACTIVE_FAILURE;
}

/** The status of the one HealthCheckResponse in `body` (gRPC framed, uncompressed); undefined when there is not exactly one. */
export function servingStatus(body: Buffer): number | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) return undefined;
  const message = body.subarray(5);
  // Field 1 (`status`, varint); other fields are skipped as protobuf readers do. Absent = UNKNOWN (0).
  let status = 0;
  let i = 0;
  while (i < message.length) {
    const key = readVarint(message, i);
    if (key === undefined) return undefined;
    i = key.next;
    const field = key.value >>> 3;
    const wire = key.value & 7;
    if (wire === 0) {
      const value = readVarint(message, i);
      if (value === undefined) return undefined;
      i = value.next;
      if (field === 1) status = value.value;
    } else if (wire === 2) {
      const length = readVarint(message, i);
      if (length === undefined || length.next + length.value > message.length) return undefined;
      i = length.next + length.value;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else return undefined;
  }
  return i === message.length ? status : undefined;
}

function readVarint(buffer: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let shift = 0, i = at; i < buffer.length && shift < 35; shift += 7, i++) {
    const byte = buffer[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

/** `HealthCheckRequest { string service = 1; }`. */
function healthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const name = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

function firstOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
