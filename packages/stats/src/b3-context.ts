/**
 * B3 propagation as Envoy's Zipkin tracer (`envoy.tracers.zipkin`) does it: the caller's context is
 * read from the single `b3` header when present, else from `x-b3-traceid` + `x-b3-spanid` (with
 * `x-b3-parentspanid`); the span the proxy starts is written upstream as the multi headers
 * `x-b3-traceid`, `x-b3-spanid`, `x-b3-parentspanid` (when the span has a parent) and
 * `x-b3-sampled` (`1`/`0`). A caller's `b3`, `x-b3-flags` and `traceparent` are not rewritten.
 *
 * - No caller context: a new root, its trace id (the low 64 bits) equal to its span id, 128-bit
 *   when `traceId128Bit`; no parent.
 * - A caller's context and a span of its own (`sharedSpanContext` false, or an OUTBOUND listener):
 *   same trace id, a new span id, the caller's span id as parent.
 * - A shared context (Envoy's default on a listener that is not OUTBOUND): the caller's span id and
 *   parent id (when non-zero) go upstream unchanged.
 * - A malformed caller context: nothing is written (Envoy falls back to its null span).
 *
 * Sampling: the caller's flag (the single header's, else `x-b3-sampled` `1`/`true`), else
 * `decide()` (the connection manager's tracing decision). Ids are written lower-case, 16 hex digits
 * per 64 bits (`x-b3-traceid: ABC` goes upstream as `0000000000000abc`).
 */
import { newSpanId } from './trace-context.js';

/** The B3 headers a request sends upstream; `x-b3-parentspanid` only when the span has a parent. */
export interface B3Headers {
  'x-b3-traceid': string;
  'x-b3-spanid': string;
  'x-b3-parentspanid'?: string;
  'x-b3-sampled': '1' | '0';
}

export interface B3Settings {
  /** ZipkinConfig `trace_id_128bit`: new traces get a 128-bit id. */
  readonly traceId128Bit: boolean;
  /** The span shares the caller's ids (ZipkinConfig `shared_span_context` on a listener that is not OUTBOUND). */
  readonly sharedSpanContext: boolean;
}

/** Reads the caller's header `name` (its first value) from `headers`. */
export type HeaderReader<H> = (headers: H, name: string) => string | undefined;

/** The caller's context: ids as 16-digit lower-case hex (`traceHigh` '' for a 64-bit trace id). */
interface CallerContext {
  traceHigh: string;
  trace: string;
  span: string;
  /** '' when absent or zero. */
  parent: string;
}

const HEX_ID = /^[0-9a-fA-F]{1,16}$/;
const ZEROS = '0000000000000000';

/** The headers to send upstream for a caller's `headers`; undefined when the caller's context is malformed. */
export function b3Headers<H>(headers: H, read: HeaderReader<H>, settings: B3Settings, decide: () => boolean): B3Headers | undefined {
  const single = read(headers, 'b3');
  const callerSampled = single !== undefined ? singleHeaderSampled(single) : sampledHeader(read(headers, 'x-b3-sampled'));
  const context = single !== undefined ? singleHeaderContext(single) : multiHeaderContext(read(headers, 'x-b3-traceid'), read(headers, 'x-b3-spanid'), read(headers, 'x-b3-parentspanid'));
  if (context === null) return undefined;
  const sampled = (callerSampled ?? decide()) ? '1' : '0';
  if (context === undefined) {
    const span = newSpanId();
    return { 'x-b3-traceid': settings.traceId128Bit ? newSpanId() + span : span, 'x-b3-spanid': span, 'x-b3-sampled': sampled };
  }
  const trace = context.traceHigh + context.trace;
  if (!settings.sharedSpanContext) return { 'x-b3-traceid': trace, 'x-b3-spanid': newSpanId(), 'x-b3-parentspanid': context.span, 'x-b3-sampled': sampled };
  return context.parent === ''
    ? { 'x-b3-traceid': trace, 'x-b3-spanid': context.span, 'x-b3-sampled': sampled }
    : { 'x-b3-traceid': trace, 'x-b3-spanid': context.span, 'x-b3-parentspanid': context.parent, 'x-b3-sampled': sampled };
}

/** `x-b3-sampled`: `1` or `true` is sampled, any other value not; undefined when absent. */
function sampledHeader(value: string | undefined): boolean | undefined {
  return value === undefined ? undefined : value === '1' || value === 'true';
}

/** The sampling flag of a single `b3` header, found by the header's length (as Envoy does); undefined when it has none. */
function singleHeaderSampled(b3: string): boolean | undefined {
  let at: number;
  switch (b3.length) {
    case 1: at = 0; break;
    case 35: case 52: at = 34; break;
    case 51: case 68: at = 50; break;
    default: return undefined;
  }
  const flag = b3[at];
  return flag === '1' || flag === 'd' ? true : flag === '0' ? false : undefined;
}

/** `{trace}-{span}[-{sampled}[-{parent}]]`; undefined for a sampling-only header, null when malformed. */
function singleHeaderContext(b3: string): CallerContext | undefined | null {
  if (b3.length === 1) return isSamplingFlag(b3) ? undefined : null;
  if (b3.length < 33 || b3.length > 68) return null;
  let traceHigh = '';
  let pos = 0;
  if (b3[32] === '-') {
    traceHigh = hexId(b3.slice(0, 16)) ?? '';
    if (traceHigh === '') return null;
    pos = 16;
  }
  const trace = hexId(b3.slice(pos, pos + 16));
  pos += 16;
  if (trace === undefined || b3[pos++] !== '-') return null;
  const span = hexId(b3.slice(pos, pos + 16));
  pos += 16;
  if (span === undefined) return null;
  let parent = '';
  if (b3.length > pos) {
    if (b3.length === pos + 1 || b3[pos++] !== '-') return null;
    if (!(b3.length === pos + 1 || b3[pos + 1] === '-') || !isSamplingFlag(b3[pos]!)) return null;
    pos++;
    if (b3.length > pos) {
      if (b3.length !== pos + 17 || b3[pos] !== '-') return null;
      const id = hexId(b3.slice(pos + 1));
      if (id === undefined) return null;
      parent = id;
    }
  }
  return contextOf(traceHigh, trace, span, parent);
}

/** `x-b3-traceid` (16 or 32 hex digits) + `x-b3-spanid`; undefined when either is absent, null when malformed. */
function multiHeaderContext(traceId: string | undefined, spanId: string | undefined, parentId: string | undefined): CallerContext | undefined | null {
  if (traceId === undefined || spanId === undefined) return undefined;
  let traceHigh = '';
  let trace: string | undefined;
  if (traceId.length === 32) {
    traceHigh = hexId(traceId.slice(0, 16)) ?? '';
    trace = traceHigh === '' ? undefined : hexId(traceId.slice(16));
  } else {
    trace = hexId(traceId);
  }
  const span = hexId(spanId);
  if (trace === undefined || span === undefined) return null;
  let parent = '';
  if (parentId !== undefined && parentId !== '') {
    const id = hexId(parentId);
    if (id === undefined) return null;
    parent = id;
  }
  return contextOf(traceHigh, trace, span, parent);
}

/** A zero high half makes a 64-bit trace id; a zero parent is no parent (Envoy keeps ids as integers). */
function contextOf(traceHigh: string, trace: string, span: string, parent: string): CallerContext {
  return { traceHigh: traceHigh === ZEROS ? '' : traceHigh, trace, span, parent: parent === ZEROS ? '' : parent };
}

function isSamplingFlag(c: string): boolean {
  return c === '1' || c === '0' || c === 'd';
}

/** 1 to 16 hex digits as 16 lower-case digits; undefined when not hex. */
function hexId(text: string): string | undefined {
  if (!HEX_ID.test(text)) return undefined;
  const lower = text.toLowerCase();
  return lower.length === 16 ? lower : ZEROS.slice(lower.length) + lower;
}
