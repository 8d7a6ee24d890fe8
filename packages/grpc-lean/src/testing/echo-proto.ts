import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The repository's echo proto, shared by the quickstart, tests and benchmarks. */
export const ECHO_PROTO_PATH = fileURLToPath(new URL('../../../../examples/quickstart/proto/echo.proto', import.meta.url));

const root = protobuf.loadSync(ECHO_PROTO_PATH);
const rpcRoot = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: { nested: { Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } } } },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
          },
        },
      },
    },
  },
});

export const EchoRequest = root.lookupType('xmesh.echo.EchoRequest');
export const EchoReply = root.lookupType('xmesh.echo.EchoReply');
export const RpcStatus = rpcRoot.lookupType('google.rpc.Status');

export interface EchoRequestShape {
  message?: string;
  payload?: Uint8Array;
  count?: number;
}

export interface EchoReplyShape {
  message: string;
  payload: Uint8Array;
  server: string;
}

export function encodeRequest(request: EchoRequestShape): Buffer {
  return Buffer.from(EchoRequest.encode(EchoRequest.create(request)).finish());
}

export function decodeReply(bytes: Uint8Array): EchoReplyShape {
  const reply = EchoReply.toObject(EchoReply.decode(bytes), { defaults: true }) as EchoReplyShape;
  return reply;
}

export function decodeRequest(bytes: Uint8Array): Required<EchoRequestShape> {
  return EchoRequest.toObject(EchoRequest.decode(bytes), { defaults: true }) as Required<EchoRequestShape>;
}

export function encodeReply(reply: Partial<EchoReplyShape>): Buffer {
  return Buffer.from(EchoReply.encode(EchoReply.create(reply)).finish());
}

/** A google.rpc.Status with one EchoReply detail, as both peers send in `grpc-status-details-bin`. */
export function encodeStatusDetails(code: number, message: string, detail: string): Buffer {
  const any = { type_url: 'type.googleapis.com/xmesh.echo.EchoReply', value: encodeReply({ message: detail }) };
  return Buffer.from(RpcStatus.encode(RpcStatus.create({ code, message, details: [any] })).finish());
}

export function decodeStatusDetails(bytes: Uint8Array): { code: number; message: string; details: { type_url: string; value: Uint8Array }[] } {
  return RpcStatus.toObject(RpcStatus.decode(bytes), { defaults: true }) as never;
}
