/**
 * W3C trace context and `x-request-id` for upstream requests. An incoming `traceparent` keeps its
 * trace id and flags and gets a fresh parent id (the mesh hop is a child span); without one a new
 * trace starts, sampled as the caller says (unsampled by default). `x-request-id` passes through, or is created (UUID v4) as Envoy does.
 *
 * Span and trace ids come from `Math.random` (as OpenTelemetry's JS id generator does): ids must be
 * unique, not secret, and a `crypto.randomBytes` call per id costs microseconds on every call. A
 * traceparent is built as one flat string (no concatenation chain for the transport to flatten).
 *
 * Request ids are UUID v4 from crypto-random bytes drawn in batches (as node's `randomUUID` does),
 * written out as one flat string: `randomUUID` concatenates 20 pieces per id, garbage on every call.
 */
import { randomFillSync } from 'node:crypto';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZEROS = /^0+$/;
/** ASCII codes of the lower-case hex digits. */
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;
const ZERO = 0x30;
/**
 * Scratch space ids are written into before they become one flat string: filled and read within
 * one synchronous call, so nothing is carried from call to call.
 */
const scratch = Buffer.alloc(64);

export interface PropagatedHeaders {
  readonly traceparent: string;
  readonly 'x-request-id': string;
}

/** Headers to send upstream, from the caller's `traceparent` and `x-request-id` (either may be absent). */
export function propagateTrace(traceparent: string | undefined, requestId: string | undefined): PropagatedHeaders {
  return { traceparent: childTraceparent(traceparent), 'x-request-id': requestIdOrNew(requestId) };
}

/** `requestId` when non-empty, else a new UUID v4 (Envoy's `x-request-id` generation). */
export function requestIdOrNew(requestId: string | undefined): string {
  return requestId || newRequestId();
}

/** Random bytes for request ids, refilled every `ID_BATCH` ids. */
const ID_BATCH = 128;
const idPool = Buffer.alloc(16 * ID_BATCH);
let idPoolAt = idPool.length;

/** A new UUID v4 (RFC 9562: version nibble 4, variant bits 10), lower-case hex. */
export function newRequestId(): string {
  if (idPoolAt === idPool.length) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  const from = idPoolAt;
  idPoolAt += 16;
  let out = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) scratch[out++] = DASH;
    let byte = idPool[from + i]!;
    if (i === 6) byte = (byte & 0x0f) | 0x40;
    else if (i === 8) byte = (byte & 0x3f) | 0x80;
    scratch[out++] = HEX_DIGITS[byte >>> 4]!;
    scratch[out++] = HEX_DIGITS[byte & 0xf]!;
  }
  return scratch.toString('latin1', 0, 36);
}

/**
 * A child of `parent` (same trace id and flags, new span id), or a new root when `parent` is absent or
 * invalid, sampled (flags `01`) when `sampledRoot`, else not (`00`).
 */
export function childTraceparent(parent: string | undefined, sampledRoot = false): string {
  if (parent !== undefined) {
    const match = TRACEPARENT.exec(parent) ?? TRACEPARENT.exec(parent.trim().toLowerCase());
    if (match && match[1] !== 'ff' && !ALL_ZEROS.test(match[2]!) && !ALL_ZEROS.test(match[3]!)) {
      writeSpanId(0);
      return `00-${match[2]}-${scratch.toString('latin1', 0, 16)}-${match[4]}`;
    }
  }
  // 00-<trace id: 32 hex>-<span id: 16 hex>-00, neither id all zeros (W3C).
  scratch[0] = ZERO;
  scratch[1] = ZERO;
  scratch[2] = DASH;
  while (!writeRandomHex(3, 32));
  scratch[35] = DASH;
  writeSpanId(36);
  scratch[52] = DASH;
  scratch[53] = ZERO;
  scratch[54] = sampledRoot ? ZERO + 1 : ZERO;
  return scratch.toString('latin1', 0, 55);
}

/** A new random 64-bit id as 16 lower-case hex digits, never all zeros (a span id). */
export function newSpanId(): string {
  writeSpanId(0);
  return scratch.toString('latin1', 0, 16);
}

function writeSpanId(offset: number): void {
  while (!writeRandomHex(offset, 16));
}

/** Writes `digits` (a multiple of 4) random hex digits at `offset`; false when they are all zeros. */
function writeRandomHex(offset: number, digits: number): boolean {
  let any = 0;
  for (let at = offset, end = offset + digits; at < end; at += 4) {
    const value = (Math.random() * 0x10000) & 0xffff;
    any |= value;
    scratch[at] = HEX_DIGITS[value >>> 12]!;
    scratch[at + 1] = HEX_DIGITS[(value >>> 8) & 0xf]!;
    scratch[at + 2] = HEX_DIGITS[(value >>> 4) & 0xf]!;
    scratch[at + 3] = HEX_DIGITS[value & 0xf]!;
  }
  return any !== 0;
}
