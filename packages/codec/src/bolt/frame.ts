/**
 * Bolt v1 frames: encoding, and an incremental decoder. Chunks may split frames anywhere. The
 * decoder validates each fixed part before buffering anything of the frame's body, so a length
 * over the limit costs nothing; it fails once, with a typed MeshError delivered to its error
 * callback, and then ignores further input (the connection is to be closed: Bolt has no way to
 * resynchronise a byte stream).
 */
import { MeshError } from '@xmesh/core';
import {
  BOLT_V1,
  BOLT_V2,
  BoltCommand,
  BoltType,
  DEFAULT_MAX_BOLT_FRAME_SIZE,
  REQUEST_HEADER_SIZE,
  RESPONSE_HEADER_SIZE,
} from './constants.js';

export type BoltFrameKind = 'request' | 'response' | 'heartbeat' | 'heartbeat_ack';

/**
 * One decoded frame. `className`, `header` and `content` are views into `raw`, the frame's bytes
 * exactly as received (for forwarding without re-encoding).
 */
export interface BoltFrame {
  readonly kind: BoltFrameKind;
  /** The `type` byte: request, oneway request or response. */
  readonly type: number;
  readonly command: number;
  /** The `ver2` byte. */
  readonly version: number;
  /** Request id (unsigned 32-bit as read; SOFA stacks keep it below 2^31). */
  readonly id: number;
  readonly codec: number;
  /** Requests: the caller's timeout in ms (0 = none). Responses: 0. */
  readonly timeout: number;
  /** Responses: the status. Requests: 0. */
  readonly status: number;
  readonly className: Buffer;
  readonly header: Buffer;
  readonly content: Buffer;
  readonly raw: Buffer;
}

export interface BoltRequestFields {
  readonly id: number;
  readonly codec: number;
  /** Milliseconds; 0 for none. */
  readonly timeout: number;
  readonly className: string | Uint8Array;
  /** An encoded header map (see `encodeBoltHeaders`). */
  readonly header: Uint8Array;
  readonly content: Uint8Array;
  /** A oneway request expects no response. */
  readonly oneway?: boolean;
}

export interface BoltResponseFields {
  readonly id: number;
  readonly codec: number;
  readonly status: number;
  readonly className: string | Uint8Array;
  readonly header: Uint8Array;
  readonly content: Uint8Array;
}

const NOTHING = Buffer.alloc(0);

/** A request frame in one allocation. */
export function encodeBoltRequest(fields: BoltRequestFields): Buffer {
  const frame = frameOf(REQUEST_HEADER_SIZE, fields.oneway === true ? BoltType.REQUEST_ONEWAY : BoltType.REQUEST, BoltCommand.REQUEST, fields);
  frame.writeInt32BE(clampTimeout(fields.timeout), 10);
  return frame;
}

/** A response frame in one allocation. */
export function encodeBoltResponse(fields: BoltResponseFields): Buffer {
  const frame = frameOf(RESPONSE_HEADER_SIZE, BoltType.RESPONSE, BoltCommand.RESPONSE, fields);
  frame.writeUInt16BE(fields.status & 0xffff, 10);
  return frame;
}

/** A frame with everything but the field at offset 10 (a request's timeout, a response's status). */
function frameOf(fixedSize: number, type: number, command: number, fields: Omit<BoltResponseFields, 'status'>): Buffer {
  const className = typeof fields.className === 'string' ? Buffer.from(fields.className, 'latin1') : fields.className;
  checkSizes(className.length, fields.header.length);
  const frame = Buffer.allocUnsafe(fixedSize + className.length + fields.header.length + fields.content.length);
  frame[0] = BOLT_V1;
  frame[1] = type;
  frame.writeUInt16BE(command, 2);
  frame[4] = 1;
  frame.writeUInt32BE(fields.id >>> 0, 5);
  frame[9] = fields.codec;
  const lengths = fixedSize - 8;
  frame.writeUInt16BE(className.length, lengths);
  frame.writeUInt16BE(fields.header.length, lengths + 2);
  frame.writeUInt32BE(fields.content.length, lengths + 4);
  let at = fixedSize;
  frame.set(className, at);
  at += className.length;
  frame.set(fields.header, at);
  at += fields.header.length;
  frame.set(fields.content, at);
  return frame;
}

/** A heartbeat request (cmdcode 0, no body), as SOFA clients send on idle connections. */
export function encodeBoltHeartbeat(id: number, codec: number, timeout = 3000): Buffer {
  const frame = encodeBoltRequest({ id, codec, timeout, className: NOTHING, header: NOTHING, content: NOTHING });
  frame.writeUInt16BE(BoltCommand.HEARTBEAT, 2);
  return frame;
}

/** The answer to a heartbeat: a response with cmdcode 0, status SUCCESS, no body. */
export function encodeBoltHeartbeatAck(id: number, codec: number): Buffer {
  const frame = encodeBoltResponse({ id, codec, status: 0, className: NOTHING, header: NOTHING, content: NOTHING });
  frame.writeUInt16BE(BoltCommand.HEARTBEAT, 2);
  return frame;
}

/** A copy of `frame` (a request or response as received) with another request id, for forwarding on a shared connection. */
export function withBoltId(raw: Uint8Array, id: number): Buffer {
  const copy = Buffer.allocUnsafe(raw.length);
  copy.set(raw);
  copy.writeUInt32BE(id >>> 0, 5);
  return copy;
}

/** Sets a request frame's timeout field in place (the proxy forwards the time the caller has left). */
export function setBoltTimeout(requestFrame: Buffer, timeoutMs: number): void {
  requestFrame.writeInt32BE(clampTimeout(timeoutMs), 10);
}

function clampTimeout(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) return 0;
  return Math.min(Math.ceil(ms), 0x7fffffff);
}

function checkSizes(classLength: number, headerLength: number): void {
  if (classLength > 0x7fff) throw new MeshError('XMESH_MESSAGE_TOO_LARGE', `Bolt class name of ${classLength} bytes exceeds 32767`);
  if (headerLength > 0x7fff) throw new MeshError('XMESH_MESSAGE_TOO_LARGE', `Bolt header map of ${headerLength} bytes exceeds 32767`);
}

/** Called once per complete frame. The frame's buffers stay valid (they are never reused). */
export type BoltFrameHandler = (frame: BoltFrame) => void;
/** Called at most once, with XMESH_PROTOCOL or XMESH_MESSAGE_TOO_LARGE. */
export type BoltErrorHandler = (error: MeshError) => void;

export interface BoltDecoderOptions {
  /** Largest accepted frame in bytes (fixed part included); default 16 MiB. */
  readonly maxFrameSize?: number;
}

export class BoltDecoder {
  private readonly maxFrameSize: number;
  /** The fixed part being assembled across chunks. */
  private readonly fixed = Buffer.alloc(REQUEST_HEADER_SIZE);
  private fixedFilled = 0;
  /** The frame being assembled across chunks, or null between frames. */
  private frame: Buffer | null = null;
  private frameFilled = 0;
  private error: MeshError | null = null;

  constructor(
    private readonly onFrame: BoltFrameHandler,
    private readonly onError: BoltErrorHandler,
    options: BoltDecoderOptions = {},
  ) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_BOLT_FRAME_SIZE;
  }

  /** True once an error was reported; the decoder then ignores input. */
  get failed(): boolean {
    return this.error !== null;
  }

  /** True when no partial frame is buffered. */
  get idle(): boolean {
    return this.fixedFilled === 0 && this.frame === null;
  }

  push(chunk: Uint8Array): void {
    if (this.error) return;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = buf.length;
    let offset = 0;
    while (offset < end && !this.error) {
      if (this.frame !== null) {
        offset = this.fillFrame(buf, offset);
        continue;
      }
      if (this.fixedFilled === 0) {
        // Fast path: the whole fixed part is in this chunk.
        const size = fixedSizeOf(buf, offset, end);
        if (typeof size === 'string') {
          this.fail(new MeshError('XMESH_PROTOCOL', size));
          return;
        }
        if (size > 0 && end - offset >= size) {
          const length = this.frameLength(buf, offset);
          if (length < 0) return;
          if (end - offset >= length) {
            // The whole frame is here: hand out a view, no copy.
            const raw = buf.subarray(offset, offset + length);
            offset += length;
            this.deliver(raw);
          } else {
            this.frame = Buffer.allocUnsafe(length);
            buf.copy(this.frame, 0, offset, end);
            this.frameFilled = end - offset;
            offset = end;
          }
          continue;
        }
      }
      // Slow path: gather the fixed part byte by byte across chunks.
      this.fixed[this.fixedFilled++] = buf[offset++]!;
      const size = fixedSizeOf(this.fixed, 0, this.fixedFilled);
      if (typeof size === 'string') {
        this.fail(new MeshError('XMESH_PROTOCOL', size));
        return;
      }
      if (size === 0 || this.fixedFilled < size) continue;
      const length = this.frameLength(this.fixed, 0);
      if (length < 0) return;
      this.fixedFilled = 0;
      if (length === size) {
        this.deliver(Buffer.from(this.fixed.subarray(0, size)));
        continue;
      }
      this.frame = Buffer.allocUnsafe(length);
      this.fixed.copy(this.frame, 0, 0, size);
      this.frameFilled = size;
    }
  }

  /** Declares the end of input: a partial frame left over is a protocol error. */
  end(): void {
    if (this.error || this.idle) return;
    const have = this.frame ? `${this.frameFilled} of ${this.frame.length} bytes` : `${this.fixedFilled} bytes of the fixed part`;
    this.fail(new MeshError('XMESH_PROTOCOL', `the connection ended inside a Bolt frame (${have})`));
  }

  private fillFrame(buf: Buffer, offset: number): number {
    const frame = this.frame!;
    const n = Math.min(frame.length - this.frameFilled, buf.length - offset);
    buf.copy(frame, this.frameFilled, offset, offset + n);
    this.frameFilled += n;
    if (this.frameFilled === frame.length) {
      this.frame = null;
      this.deliver(frame);
    }
    return offset + n;
  }

  /**
   * The whole frame's length from a complete fixed part at `at`, after validating it; -1 once
   * an error was reported.
   */
  private frameLength(buf: Buffer, at: number): number {
    const type = buf[at + 1]!;
    const command = buf.readUInt16BE(at + 2);
    const response = type === BoltType.RESPONSE;
    if (command !== BoltCommand.HEARTBEAT && command !== (response ? BoltCommand.RESPONSE : BoltCommand.REQUEST)) {
      return this.fail(new MeshError('XMESH_PROTOCOL', `invalid Bolt frame: cmdcode ${command} in a ${response ? 'response' : 'request'}`));
    }
    const lengths = at + (response ? 12 : 14);
    const classLength = buf.readInt16BE(lengths);
    const headerLength = buf.readInt16BE(lengths + 2);
    const contentLength = buf.readInt32BE(lengths + 4);
    if (classLength < 0 || headerLength < 0 || contentLength < 0) {
      return this.fail(new MeshError('XMESH_PROTOCOL', `invalid Bolt frame: negative length (class ${classLength}, header ${headerLength}, content ${contentLength})`));
    }
    if (command === BoltCommand.HEARTBEAT && classLength + headerLength + contentLength > 0 && response) {
      // A heartbeat ack carries nothing; a heartbeat request may (SOFA ignores it), so only acks are strict.
      return this.fail(new MeshError('XMESH_PROTOCOL', 'invalid Bolt frame: a heartbeat ack with a body'));
    }
    const length = (response ? RESPONSE_HEADER_SIZE : REQUEST_HEADER_SIZE) + classLength + headerLength + contentLength;
    if (length > this.maxFrameSize) {
      return this.fail(new MeshError('XMESH_MESSAGE_TOO_LARGE', `Bolt frame of ${length} bytes exceeds the maximum of ${this.maxFrameSize}`));
    }
    return length;
  }

  private deliver(raw: Buffer): void {
    this.onFrame(parseBoltFrame(raw));
  }

  private fail(error: MeshError): -1 {
    this.error = error;
    this.frame = null;
    this.fixedFilled = 0;
    this.onError(error);
    return -1;
  }
}

/**
 * The fixed-part size (20 or 22) of the frame starting at `at`, 0 while too few bytes tell, or
 * the reason the bytes cannot start a Bolt v1 frame.
 */
function fixedSizeOf(buf: Buffer, at: number, end: number): number | string {
  if (end - at < 1) return 0;
  const first = buf[at]!;
  if (first !== BOLT_V1) return first === BOLT_V2 ? 'Bolt v2 frames are not supported (protocol byte 2)' : `not a Bolt frame: protocol byte ${first}`;
  if (end - at < 2) return 0;
  const type = buf[at + 1]!;
  if (type === BoltType.RESPONSE) return RESPONSE_HEADER_SIZE;
  if (type === BoltType.REQUEST || type === BoltType.REQUEST_ONEWAY) return REQUEST_HEADER_SIZE;
  return `invalid Bolt frame: type ${type}`;
}

/** Parses a complete, validated frame (see `BoltDecoder`). */
function parseBoltFrame(raw: Buffer): BoltFrame {
  const type = raw[1]!;
  const command = raw.readUInt16BE(2);
  const response = type === BoltType.RESPONSE;
  const lengths = response ? 12 : 14;
  const classLength = raw.readUInt16BE(lengths);
  const headerLength = raw.readUInt16BE(lengths + 2);
  let at = response ? RESPONSE_HEADER_SIZE : REQUEST_HEADER_SIZE;
  const className = raw.subarray(at, at + classLength);
  at += classLength;
  const header = raw.subarray(at, at + headerLength);
  at += headerLength;
  const content = raw.subarray(at);
  const heartbeat = command === BoltCommand.HEARTBEAT;
  return {
    kind: response ? (heartbeat ? 'heartbeat_ack' : 'response') : heartbeat ? 'heartbeat' : 'request',
    type,
    command,
    version: raw[4]!,
    id: raw.readUInt32BE(5),
    codec: raw[9]!,
    timeout: response ? 0 : Math.max(0, raw.readInt32BE(10)),
    status: response ? raw.readUInt16BE(10) : 0,
    className,
    header,
    content,
    raw,
  };
}
