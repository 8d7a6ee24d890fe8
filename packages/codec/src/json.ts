/** JSON message codec (`application/grpc+json`, `application/json`): UTF-8 JSON text per message. */
import type { Codec, CodecFamily, MethodCodecs } from './codec.js';
import { protocolError } from './codec.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function jsonCodec<T = unknown>(contentType = 'application/grpc+json'): Codec<T> {
  return {
    contentType,
    encode(message: T): Uint8Array {
      const text = JSON.stringify(message);
      if (text === undefined) throw protocolError(`cannot encode ${typeof message} as JSON`);
      return Buffer.from(text, 'utf8');
    },
    decode(bytes: Uint8Array): T {
      try {
        return JSON.parse(utf8.decode(bytes)) as T;
      } catch (err) {
        throw protocolError(`invalid JSON message: ${(err as Error).message}`, err);
      }
    },
  };
}

/** JSON for every message and method: the schema is the application's business. */
export function jsonCodecFamily(contentType = 'application/grpc+json'): CodecFamily {
  const codec = jsonCodec(contentType);
  return {
    message: () => codec,
    method(path: string): MethodCodecs | undefined {
      const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
      if (!m) return undefined;
      return { path, requestType: '', responseType: '', requestStream: false, responseStream: false, request: codec, response: codec };
    },
  };
}
