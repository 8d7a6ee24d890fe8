/**
 * Envoy's HTTP health checker (source/extensions/health_checkers/http): `method` (GET) `path` with
 * Host from the endpoint's `health_check_config.hostname`, else `host`, else the cluster name,
 * `user-agent: Envoy/HC`, the configured headers, and `send` as the body. The check passes when the
 * status is in `expected_statuses` (default 200), the `receive` segments are in the first
 * `response_buffer_size` bytes of the body and, with `service_name_matcher`, the response's
 * `x-envoy-upstream-healthchecked-cluster` matches; `x-envoy-degraded` marks the host degraded. A
 * status outside the expected ones is an active failure (retriable when in `retriable_statuses`); a
 * reset or refused connection is a network failure. HTTP/1.1 or HTTP/2 per `codec_client_type`.
 */
import type { Agent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import type { Duplex, Readable } from 'node:stream';
import { HeaderMutator, RecordHeaders, compileStringMatch, type StringPredicate } from '@xmesh/router';
import type { HealthCheckConfig, HttpHealthCheckConfig } from '@xmesh/xds';
import { H2Connection } from './h2-connection.js';
import { ACTIVE_FAILURE, DEGRADED, NETWORK_FAILURE, SUCCESS, payloadMatches, type Probe, type ProbeOutcome, type ProbeStats, type ProbeTarget } from './probe.js';

/** node:http's values without an ESM import of it: that import evaluates every export, and its lazy WebSocket ones load Node's bundled undici (~5 MiB RSS). */
const { Agent: HttpAgent, request: httpRequest } = process.getBuiltinModule('node:http');

const USER_AGENT = 'Envoy/HC';

export class HttpProbe implements Probe {
  private readonly check: HttpHealthCheckConfig;
  private readonly receive: readonly Buffer[];
  private readonly body: Buffer | undefined;
  private readonly mutator: HeaderMutator | undefined;
  private readonly serviceName: StringPredicate | undefined;
  private readonly reuse: boolean;
  private agent: Agent | undefined = undefined;
  private readonly h2: H2Connection | undefined;
  /** The request in flight (HTTP/1.1) or stream (HTTP/2). */
  private inFlight: { destroy(): void } | undefined = undefined;
  private done: ((outcome: ProbeOutcome) => void) | undefined = undefined;
  /** Increases with each check: events of an earlier check's request or stream are ignored. */
  private checkNumber = 0;

  constructor(
    config: HealthCheckConfig,
    private readonly target: ProbeTarget,
    private readonly stats: ProbeStats,
  ) {
    const check = config.checker as HttpHealthCheckConfig;
    this.check = check;
    this.reuse = config.reuseConnection;
    this.receive = check.receive.map((hex) => Buffer.from(hex, 'hex'));
    this.body = check.send === undefined ? undefined : Buffer.from(check.send, 'hex');
    this.mutator = check.requestHeaders === undefined ? undefined : new HeaderMutator(check.requestHeaders);
    this.serviceName = check.serviceNameMatcher === undefined ? undefined : compileStringMatch(check.serviceNameMatcher, 'service_name_matcher');
    this.h2 = check.http2 ? new H2Connection(target) : undefined;
  }

  start(done: (outcome: ProbeOutcome) => void): void {
    this.done = done;
    this.checkNumber++;
    const headers: Record<string, string | string[]> = { 'user-agent': USER_AGENT };
    const secure = this.target.dial !== undefined;
    if (this.mutator !== undefined) {
      const view = { authority: this.target.authority, path: this.check.path, method: this.check.method, scheme: secure ? 'https' : 'http' };
      const request = { get: (name: string) => (name === ':authority' ? view.authority : name === ':path' ? view.path : name === ':method' ? view.method : name === ':scheme' ? view.scheme : firstOf(headers[name])) };
      this.mutator.apply(new RecordHeaders(headers), { request, response: undefined });
    }
    if (this.body !== undefined) headers['content-length'] = String(this.body.length);
    if (this.h2 !== undefined) this.startH2(headers);
    else this.startH1(headers);
  }

  abort(): void {
    this.done = undefined;
    this.dropConnection();
  }

  close(): void {
    this.abort();
    this.agent?.destroy();
    this.agent = undefined;
  }

  private startH1(headers: Record<string, string | string[]>): void {
    const { host, port, dial, authority } = this.target;
    const finish = this.finisherOfThisCheck();
    const agent = this.reuse ? (this.agent ??= this.newAgent()) : undefined;
    let req;
    try {
      req = httpRequest({
        host,
        port,
        method: this.check.method,
        path: this.check.path,
        headers: { ...headers, host: authority },
        setHost: false,
        ...(agent === undefined ? { agent: false, ...(dial === undefined ? {} : { createConnection: () => dial(host, port, 'http/1.1') as never }) } : { agent }),
      });
    } catch {
      finish(NETWORK_FAILURE);
      return;
    }
    this.inFlight = req;
    req.on('error', () => finish(NETWORK_FAILURE));
    req.on('response', (res: IncomingMessage) => this.response(res.statusCode ?? 0, res.headers, res, finish, () => {
      if (!this.reuse || res.headers.connection === 'close') res.socket?.destroy();
    }));
    req.end(this.body);
  }

  private startH2(headers: Record<string, string | string[]>): void {
    const finish = this.finisherOfThisCheck();
    let stream: ClientHttp2Stream;
    try {
      stream = this.h2!.request({ ...headers, ':method': this.check.method, ':path': this.check.path, ':authority': this.target.authority } as OutgoingHttpHeaders, this.body === undefined);
    } catch {
      this.h2!.drop();
      finish(NETWORK_FAILURE);
      return;
    }
    this.inFlight = stream;
    stream.on('error', () => finish(NETWORK_FAILURE));
    stream.on('close', () => finish(NETWORK_FAILURE));
    stream.on('response', (responseHeaders) => {
      const status = Number(responseHeaders[':status']);
      this.response(status, responseHeaders as IncomingHttpHeaders, stream, finish, () => {
        if (!this.reuse) this.h2!.drop();
      });
    });
    if (this.body !== undefined) stream.end(this.body);
  }

  /** Reads the body (what `receive` needs of it, the rest is drained), then judges the response. */
  private response(status: number, headers: IncomingHttpHeaders, body: Readable, finish: (outcome: ProbeOutcome) => void, after: () => void): void {
    const limit = this.check.responseBufferSize === 0 ? Infinity : this.check.responseBufferSize;
    const kept: Buffer[] = [];
    let keptBytes = 0;
    body.on('data', (chunk: Buffer) => {
      if (this.receive.length === 0 || keptBytes >= limit) return;
      const part = chunk.subarray(0, Math.min(chunk.length, limit - keptBytes));
      kept.push(part);
      keptBytes += part.length;
    });
    body.on('end', () => {
      const outcome = this.judge(status, headers, Buffer.concat(kept));
      after();
      finish(outcome);
    });
  }

  /** HttpActiveHealthCheckSession::healthCheckResult. */
  private judge(status: number, headers: IncomingHttpHeaders, body: Buffer): ProbeOutcome {
    const immediateFail = headers['x-envoy-immediate-health-check-fail'] !== undefined;
    if (this.receive.length > 0 && !payloadMatches(this.receive, body)) return { kind: 'failure', type: 'active', retriable: false, ...(immediateFail ? { immediateFail } : {}) };
    if (!inRanges(status, this.check.expectedStatuses)) {
      const retriable = inRanges(status, this.check.retriableStatuses);
      return { kind: 'failure', type: 'active', retriable, ...(immediateFail ? { immediateFail } : {}) };
    }
    const degraded = headers['x-envoy-degraded'] !== undefined;
    if (this.serviceName !== undefined) {
      this.stats.verify_cluster++;
      if (!this.serviceName(firstOf(headers['x-envoy-upstream-healthchecked-cluster']) ?? '')) return ACTIVE_FAILURE;
    }
    return degraded ? DEGRADED : SUCCESS;
  }

  private newAgent(): Agent {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const dial = this.target.dial;
    if (dial !== undefined) {
      (agent as unknown as { createConnection: () => Duplex }).createConnection = () => dial(this.target.host, this.target.port, 'http/1.1');
    }
    return agent;
  }

  private dropConnection(): void {
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    inFlight?.destroy();
    this.h2?.drop();
    // An HTTP/1.1 request cut mid-way leaves its socket unusable: a new agent starts clean.
    if (inFlight !== undefined && this.agent !== undefined) {
      this.agent.destroy();
      this.agent = undefined;
    }
  }

  /** `finish` for the check starting now: a no-op once a later check started. */
  private finisherOfThisCheck(): (outcome: ProbeOutcome) => void {
    const number = this.checkNumber;
    return (outcome) => {
      if (number === this.checkNumber) this.finish(outcome);
    };
  }

  private finish(outcome: ProbeOutcome): void {
    const done = this.done;
    if (done === undefined) return;
    this.done = undefined;
    if (outcome.kind === 'failure' && outcome.type === 'network') this.dropConnection();
    this.inFlight = undefined;
    process.nextTick(done, outcome);
  }
}

function inRanges(status: number, ranges: readonly (readonly [number, number])[]): boolean {
  for (const [start, end] of ranges) if (status >= start && status < end) return true;
  return false;
}

function firstOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
