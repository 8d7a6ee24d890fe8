/**
 * Codec families by content type. Each owner (a client, a sidecar) builds its own registry:
 * there is no process-wide one.
 */
import type { CodecFamily } from './codec.js';
import { jsonCodecFamily } from './json.js';

/** `Application/GRPC+Proto; charset=x` → `application/grpc+proto`. */
export function normalizeContentType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

export class CodecRegistry {
  private readonly families = new Map<string, CodecFamily>();

  /**
   * With `protobuf`, `application/grpc` and `application/grpc+proto` use it; `application/grpc+json`
   * and `application/json` always use JSON.
   */
  constructor(protobuf?: CodecFamily) {
    if (protobuf) {
      this.register('application/grpc', protobuf);
      this.register('application/grpc+proto', protobuf);
    }
    this.register('application/grpc+json', jsonCodecFamily('application/grpc+json'));
    this.register('application/json', jsonCodecFamily('application/json'));
  }

  /** Adds or replaces the family for a content type (e.g. a custom `application/grpc+cbor`). */
  register(contentType: string, family: CodecFamily): this {
    this.families.set(normalizeContentType(contentType), family);
    return this;
  }

  /** The family for a content-type header value (parameters and case ignored), or undefined. */
  lookup(contentType: string): CodecFamily | undefined {
    return this.families.get(normalizeContentType(contentType));
  }

  get contentTypes(): readonly string[] {
    return [...this.families.keys()];
  }
}
