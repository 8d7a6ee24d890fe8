/**
 * Raw HTTP/2 frames for hostile peers in tests: frame and HPACK (literal, never indexed) encoders,
 * a frame reader, and an h2c upstream that speaks just enough HTTP/2 (SETTINGS and PING
 * acknowledged) to hand each request stream to a script that may then send anything: any
 * `:status`, 10,000 trailers, a 4 GiB gRPC length prefix, GOAWAY mid-response, garbage.
 */
import { createServer, type Server, type Socket } from 'node:net';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export const Frame = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
/** HTTP/2 error codes 0x0..0xd (RFC 9113 §7). */
export const ERROR_CODES = Array.from({ length: 14 }, (_, i) => i);
const MAX_FRAME = 16_384;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

function hpackInteger(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** An HPACK header block of literal fields without indexing (no Huffman): every name and value as given. */
export function hpack(headers: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name);
    const v = Buffer.from(value);
    parts.push(Buffer.from([0x00, ...hpackInteger(n.length, 7, 0)]), n, Buffer.from(hpackInteger(v.length, 7, 0)), v);
  }
  return Buffer.concat(parts);
}

/** HEADERS (+ CONTINUATION frames when the block is large). */
export function headersFrames(streamId: number, headers: readonly (readonly [string, string])[], endStream: boolean): Buffer {
  const block = hpack(headers);
  const frames: Buffer[] = [];
  for (let offset = 0; offset < block.length || offset === 0; offset += MAX_FRAME) {
    const piece = block.subarray(offset, offset + MAX_FRAME);
    const last = offset + MAX_FRAME >= block.length;
    const type = offset === 0 ? Frame.HEADERS : Frame.CONTINUATION;
    const flags = (last ? Flag.END_HEADERS : 0) | (offset === 0 && endStream ? Flag.END_STREAM : 0);
    frames.push(frame(type, flags, streamId, piece));
    if (block.length === 0) break;
  }
  return Buffer.concat(frames);
}

export function dataFrame(streamId: number, payload: Buffer, endStream: boolean): Buffer {
  return frame(Frame.DATA, endStream ? Flag.END_STREAM : 0, streamId, payload);
}

export function rstStream(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(Frame.RST_STREAM, 0, streamId, payload);
}

export function goaway(lastStreamId: number, code: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
  payload.writeUInt32BE(code, 4);
  return frame(Frame.GOAWAY, 0, 0, payload);
}

export function settings(entries: readonly (readonly [number, number])[] = []): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(Frame.SETTINGS, 0, 0, payload);
}

/** A gRPC message prefix (uncompressed) announcing `length` bytes. */
export function grpcPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

export interface ParsedFrame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** Splits a byte stream (after any preface) into frames. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ParsedFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: ParsedFrame[] = [];
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) break;
      out.push({ type: this.pending[3]!, flags: this.pending[4]!, streamId: this.pending.readUInt32BE(5) & 0x7fffffff, payload: this.pending.subarray(9, 9 + length) });
      this.pending = this.pending.subarray(9 + length);
    }
    return out;
  }
}

/** One request stream at a raw upstream; the script writes whatever it wants. */
export interface RawStream {
  readonly id: number;
  readonly socket: Socket;
  /** Response HEADERS (`:status` first when given). */
  headers(headers: readonly (readonly [string, string])[], endStream?: boolean): void;
  data(payload: Buffer, endStream?: boolean): void;
  rst(code: number): void;
  goaway(code: number): void;
  /** Request DATA seen on this stream so far. */
  readonly received: Buffer[];
}

export interface RawUpstream {
  readonly server: Server;
  readonly address: string;
  /** Request streams seen (all connections). */
  readonly streams: RawStream[];
  /** Streams the peer (the sidecar) reset, with the code. */
  readonly resets: { id: number; code: number }[];
  close(): Promise<void>;
}

/**
 * An h2c upstream: acknowledges SETTINGS and PING, then calls `onStream` once per request HEADERS.
 * With `raw`, it calls `raw(socket)` instead of speaking HTTP/2 at all (garbage upstreams).
 */
export async function startRawUpstream(onStream: (stream: RawStream) => void, raw?: (socket: Socket) => void): Promise<RawUpstream> {
  const streams: RawStream[] = [];
  const resets: { id: number; code: number }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (raw !== undefined) {
      raw(socket);
      return;
    }
    let prefaceSeen = false;
    let buffered = Buffer.alloc(0);
    const reader = new FrameReader();
    const byId = new Map<number, RawStream>();
    socket.write(settings([[0x4, 16 * 1024 * 1024]]));
    socket.on('data', (chunk: Buffer) => {
      if (!prefaceSeen) {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < PREFACE.length) return;
        prefaceSeen = true;
        chunk = buffered.subarray(PREFACE.length);
      }
      for (const f of reader.push(chunk)) {
        if (f.type === Frame.SETTINGS && (f.flags & Flag.ACK) === 0) socket.write(frame(Frame.SETTINGS, Flag.ACK, 0));
        else if (f.type === Frame.PING && (f.flags & Flag.ACK) === 0) socket.write(frame(Frame.PING, Flag.ACK, 0, f.payload));
        else if (f.type === Frame.RST_STREAM) resets.push({ id: f.streamId, code: f.payload.readUInt32BE(0) });
        else if (f.type === Frame.DATA) byId.get(f.streamId)?.received.push(Buffer.from(f.payload));
        else if (f.type === Frame.HEADERS && !byId.has(f.streamId)) {
          const id = f.streamId;
          const stream: RawStream = {
            id,
            socket,
            received: [],
            headers: (headers, endStream = false) => void (socket.destroyed || socket.write(headersFrames(id, headers, endStream))),
            data: (payload, endStream = false) => void (socket.destroyed || socket.write(dataFrame(id, payload, endStream))),
            rst: (code) => void (socket.destroyed || socket.write(rstStream(id, code))),
            goaway: (code) => void (socket.destroyed || socket.write(goaway(id, code))),
          };
          byId.set(id, stream);
          streams.push(stream);
          onStream(stream);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    streams,
    resets,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
