import { encodeFrame, FRAME_HEADER_SIZE, gzipCompression } from '@xmesh/codec';
import { GrpcStatus } from './status.js';
import type { LeanCompression } from './options.js';

/** Inflate bound when the receive limit is off: the largest Buffer node allows. */
const MAX_INFLATE = 2 ** 31 - 1;

/**
 * Frames one message (`compressed flag | uint32 length | bytes`) with
 * @xmesh/codec, gzip-compressing it first when `compression` is gzip. The
 * caller checks send limits first.
 */
export function encodeMessageFrame(message: Uint8Array, compression: LeanCompression): Buffer {
  return compression === 'gzip' ? encodeFrame(gzipCompression.compressSync(message), true) : encodeFrame(message, false);
}

/** Receives whole messages from a {@link FrameReader}; failures end the call with a status. */
export interface FrameSink {
  onFrameMessage(message: Buffer): void;
  onFrameError(code: number, details: string): void;
}

/**
 * Incremental gRPC length-prefixed message reader. (@xmesh/codec's
 * FrameDecoder takes callbacks per decoder; this one reports to a sink passed
 * per push, so a call allocates no closures.) Chunks that hold whole
 * frames are sliced without copying; a frame split across chunks is
 * assembled once. Enforces the receive limit before buffering (a
 * compressed frame may exceed it by gzip's worst-case expansion) and after
 * inflating (uncompressed length).
 */
export class FrameReader {
  /** Chunks holding the start of a frame not yet complete, and their total size. */
  private partial: Buffer[] | null = null;
  private partialBytes = 0;
  /** Bytes the buffered frame needs in all (header only until the header is in). */
  private partialNeeds = 0;
  private failed = false;
  /** The longest compressed frame that may still inflate within the limit. */
  private readonly maxCompressedLength: number;
  /** The inflate bound handed to gzip. */
  private readonly inflateLimit: number;

  constructor(
    private readonly maxMessageLength: number,
    /** `grpc-encoding` of the response; null until response headers name it. */
    public encoding: string | null = null,
  ) {
    this.maxCompressedLength = maxMessageLength + gzipExpansion(maxMessageLength);
    this.inflateLimit = Number.isFinite(maxMessageLength) ? Math.max(1, maxMessageLength) : MAX_INFLATE;
  }

  push(chunk: Buffer, sink: FrameSink): void {
    if (this.failed) return;
    let data = chunk;
    if (this.partial !== null) {
      this.partial.push(chunk);
      this.partialBytes += chunk.length;
      if (this.partialBytes < this.partialNeeds) return;
      data = Buffer.concat(this.partial, this.partialBytes);
      this.partial = null;
    }
    let offset = 0;
    while (data.length - offset >= FRAME_HEADER_SIZE) {
      const flag = data[offset]!;
      const length = data.readUInt32BE(offset + 1);
      // The length is checked first, as grpc-js does, so both transports give garbage the same status.
      if (length > (flag === 0 ? this.maxMessageLength : this.maxCompressedLength)) {
        return this.fail(sink, GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${this.maxMessageLength})`);
      }
      if (flag > 1) return this.fail(sink, GrpcStatus.INTERNAL, `Invalid gRPC frame: compressed flag ${flag}`);
      const end = offset + FRAME_HEADER_SIZE + length;
      if (end > data.length) break;
      const body = data.subarray(offset + FRAME_HEADER_SIZE, end);
      offset = end;
      if (flag === 0) {
        sink.onFrameMessage(body);
      } else if (!this.deliverCompressed(body, sink)) {
        return;
      }
      if (this.failed) return;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.partial = [rest];
      this.partialBytes = rest.length;
      this.partialNeeds = rest.length < FRAME_HEADER_SIZE ? FRAME_HEADER_SIZE : FRAME_HEADER_SIZE + rest.readUInt32BE(1);
    }
  }

  /** True when the reader holds the beginning of a frame not yet complete. */
  hasPartialFrame(): boolean {
    return this.partial !== null;
  }

  private deliverCompressed(body: Buffer, sink: FrameSink): boolean {
    if (this.encoding !== 'gzip') {
      this.fail(sink, GrpcStatus.INTERNAL, `Received compressed message but "grpc-encoding" is ${this.encoding ?? 'absent'}`);
      return false;
    }
    let inflated: Uint8Array;
    try {
      inflated = gzipCompression.decompressSync(body, this.inflateLimit);
    } catch (error) {
      const tooLarge = (error as { code?: string }).code === 'XMESH_MESSAGE_TOO_LARGE';
      this.fail(
        sink,
        tooLarge ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL,
        tooLarge ? `Received message larger than max (decompressed > ${this.maxMessageLength})` : 'Failed to decompress message',
      );
      return false;
    }
    sink.onFrameMessage(Buffer.isBuffer(inflated) ? inflated : Buffer.from(inflated.buffer, inflated.byteOffset, inflated.byteLength));
    return true;
  }

  private fail(sink: FrameSink, code: number, details: string): void {
    this.failed = true;
    this.partial = null;
    this.partialBytes = 0;
    sink.onFrameError(code, details);
  }
}

/** Gzip's worst-case growth for `bytes` of incompressible input: 5 bytes per stored deflate block, plus header and trailer. */
function gzipExpansion(bytes: number): number {
  return Math.ceil(bytes / 16_000) * 5 + 64;
}
