/**
 * What a TLS ClientHello says before any handshake, as Envoy's tls_inspector reads it to pick a filter chain: the
 * server name (SNI) and the ALPN protocols. Reads TLS records of type handshake from the connection's first bytes
 * (the ClientHello may span records); bounded (`MAX_CLIENT_HELLO_BYTES`) and total over any input: bytes that are
 * not a ClientHello are `invalid`, never an exception.
 */

/** The most of a connection's first bytes read for its ClientHello (Envoy's tls_inspector reads up to 16 KiB too). */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;

export type ClientHello = { readonly serverName: string; readonly alpn: readonly string[] };

/** The ClientHello in `bytes`; `incomplete` when more bytes are needed; `invalid` when they are not one. */
export function parseClientHello(bytes: Buffer): ClientHello | 'incomplete' | 'invalid' {
  // Join the handshake records' payloads until the ClientHello message is whole.
  let offset = 0;
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  while (need < 0 || have < need) {
    if (offset + 5 > bytes.length) return bytes.length >= MAX_CLIENT_HELLO_BYTES ? 'invalid' : 'incomplete';
    if (bytes[offset] !== 0x16 || bytes[offset + 1] !== 0x03) return 'invalid';
    const length = bytes.readUInt16BE(offset + 3);
    if (length === 0 || length > 16_384 + 2048) return 'invalid';
    if (offset + 5 + length > bytes.length) return bytes.length >= MAX_CLIENT_HELLO_BYTES ? 'invalid' : 'incomplete';
    parts.push(bytes.subarray(offset + 5, offset + 5 + length));
    have += length;
    offset += 5 + length;
    if (need < 0) {
      const head = Buffer.concat(parts);
      if (head.length < 4) continue;
      if (head[0] !== 0x01) return 'invalid';
      need = 4 + head.readUIntBE(1, 3);
      if (need > MAX_CLIENT_HELLO_BYTES) return 'invalid';
    }
  }
  return readHello(Buffer.concat(parts).subarray(4, need));
}

function readHello(hello: Buffer): ClientHello | 'invalid' {
  const r = new Cursor(hello);
  r.skip(2 + 32); // version, random
  r.skip(r.u8()); // session id
  r.skip(r.u16()); // cipher suites
  r.skip(r.u8()); // compression methods
  if (r.failed) return 'invalid';
  let serverName = '';
  let alpn: string[] = [];
  if (r.remaining === 0) return { serverName, alpn };
  const end = r.position + r.u16();
  while (!r.failed && r.position + 4 <= end) {
    const type = r.u16();
    const length = r.u16();
    const body = r.take(length);
    if (body === undefined) return 'invalid';
    if (type === 0) serverName = readServerName(body) ?? serverName;
    else if (type === 16) alpn = readAlpn(body) ?? alpn;
  }
  return r.failed ? 'invalid' : { serverName, alpn };
}

/** server_name extension: the first host_name entry, lower-cased. */
function readServerName(body: Buffer): string | undefined {
  const r = new Cursor(body);
  const end = 2 + r.u16();
  while (!r.failed && r.position + 3 <= end) {
    const type = r.u8();
    const name = r.take(r.u16());
    if (name === undefined) return undefined;
    if (type === 0) return name.toString('latin1').toLowerCase();
  }
  return undefined;
}

/** application_layer_protocol_negotiation extension: the protocols, in the client's order. */
function readAlpn(body: Buffer): string[] | undefined {
  const r = new Cursor(body);
  const end = 2 + r.u16();
  const out: string[] = [];
  while (!r.failed && r.position < end) {
    const protocol = r.take(r.u8());
    if (protocol === undefined) return undefined;
    out.push(protocol.toString('latin1'));
  }
  return r.failed ? undefined : out;
}

/** A bounds-checked reader: past the end it sets `failed` and reads zeros. */
class Cursor {
  position = 0;
  failed = false;

  constructor(private readonly buffer: Buffer) {}

  get remaining(): number {
    return this.buffer.length - this.position;
  }

  u8(): number {
    if (this.position + 1 > this.buffer.length) return this.fail();
    return this.buffer[this.position++]!;
  }

  u16(): number {
    if (this.position + 2 > this.buffer.length) return this.fail();
    const value = this.buffer.readUInt16BE(this.position);
    this.position += 2;
    return value;
  }

  skip(n: number): void {
    if (this.position + n > this.buffer.length) this.fail();
    else this.position += n;
  }

  take(n: number): Buffer | undefined {
    if (this.position + n > this.buffer.length) {
      this.fail();
      return undefined;
    }
    const out = this.buffer.subarray(this.position, this.position + n);
    this.position += n;
    return out;
  }

  private fail(): number {
    this.failed = true;
    this.position = this.buffer.length;
    return 0;
  }
}
