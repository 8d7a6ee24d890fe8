/**
 * gRPC length-prefixed message framing: 1-byte compressed flag (0 or 1), 4-byte big-endian length, payload.
 * `FrameDecoder` is incremental: chunks may split frames anywhere. It fails once, with a typed MeshError
 * delivered to its error callback, and then ignores further input.
 */
import { MeshError } from '@xmesh/core';

export const FRAME_HEADER_SIZE = 5;
/** gRPC's default maximum message size (4 MiB). */
export const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

/** One frame in a single allocation: header then payload. */
export function encodeFrame(payload: Uint8Array, compressed = false): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  frame[0] = compressed ? 1 : 0;
  frame.writeUInt32BE(payload.length, 1);
  frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}

/** Called once per complete message. `payload` may be a view into the pushed chunk: copy it to keep it past the call. */
export type MessageHandler = (payload: Buffer, compressed: boolean) => void;
/** Called at most once, with XMESH_MESSAGE_TOO_LARGE or XMESH_PROTOCOL. */
export type FrameErrorHandler = (error: MeshError) => void;

export interface FrameDecoderOptions {
  /** Largest accepted payload in bytes; default 4 MiB. */
  readonly maxMessageSize?: number;
}

export class FrameDecoder {
  private readonly maxMessageSize: number;
  private readonly header = Buffer.alloc(FRAME_HEADER_SIZE);
  private headerFilled = 0;
  /** The payload being assembled across chunks, or null between frames. */
  private payload: Buffer | null = null;
  private payloadFilled = 0;
  private compressed = false;
  private error: MeshError | null = null;

  constructor(
    private readonly onMessage: MessageHandler,
    private readonly onError: FrameErrorHandler,
    options: FrameDecoderOptions = {},
  ) {
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** True once an error has been reported; the decoder then ignores input. */
  get failed(): boolean {
    return this.error !== null;
  }

  /** True when no partial frame is buffered. */
  get idle(): boolean {
    return this.headerFilled === 0 && this.payload === null;
  }

  push(chunk: Uint8Array): void {
    if (this.error) return;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = buf.length;
    let offset = 0;
    while (offset < end) {
      if (this.payload) {
        offset = this.fillPayload(buf, offset);
        continue;
      }
      let length: number;
      if (this.headerFilled === 0 && end - offset >= FRAME_HEADER_SIZE) {
        if (!this.acceptHeader(buf[offset]!, (length = buf.readUInt32BE(offset + 1)))) return;
        offset += FRAME_HEADER_SIZE;
      } else {
        const n = Math.min(FRAME_HEADER_SIZE - this.headerFilled, end - offset);
        buf.copy(this.header, this.headerFilled, offset, offset + n);
        this.headerFilled += n;
        offset += n;
        if (this.headerFilled < FRAME_HEADER_SIZE) return;
        this.headerFilled = 0;
        if (!this.acceptHeader(this.header[0]!, (length = this.header.readUInt32BE(1)))) return;
      }
      if (end - offset >= length) {
        // The whole payload is in this chunk: hand out a view, no copy.
        const payload = buf.subarray(offset, offset + length);
        offset += length;
        this.onMessage(payload, this.compressed);
        if (this.error) return;
      } else {
        this.payload = Buffer.allocUnsafe(length);
        this.payloadFilled = 0;
      }
    }
  }

  /** Declares the end of input: a partial frame left over is a protocol error. */
  end(): void {
    if (this.error || this.idle) return;
    const have = this.payload ? `${this.payloadFilled} of ${this.payload.length} payload bytes` : `${this.headerFilled} of 5 header bytes`;
    this.fail(new MeshError('XMESH_PROTOCOL', `stream ended inside a gRPC frame (${have})`));
  }

  private fillPayload(buf: Buffer, offset: number): number {
    const payload = this.payload!;
    const n = Math.min(payload.length - this.payloadFilled, buf.length - offset);
    buf.copy(payload, this.payloadFilled, offset, offset + n);
    this.payloadFilled += n;
    if (this.payloadFilled === payload.length) {
      this.payload = null;
      this.onMessage(payload, this.compressed);
    }
    return offset + n;
  }

  /** Validates a header before any of its payload is buffered. */
  private acceptHeader(flag: number, length: number): boolean {
    if (flag > 1) {
      this.fail(new MeshError('XMESH_PROTOCOL', `invalid gRPC frame: compressed flag ${flag} (must be 0 or 1)`));
      return false;
    }
    if (length > this.maxMessageSize) {
      this.fail(new MeshError('XMESH_MESSAGE_TOO_LARGE', `gRPC message of ${length} bytes exceeds the maximum of ${this.maxMessageSize}`));
      return false;
    }
    this.compressed = flag === 1;
    return true;
  }

  private fail(error: MeshError): void {
    this.error = error;
    this.payload = null;
    this.headerFilled = 0;
    this.onError(error);
  }
}
