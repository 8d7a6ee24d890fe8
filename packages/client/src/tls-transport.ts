/**
 * The mesh's transports over one `ClientTls` (from `@xmesh/tls`): what each transport needs to open its
 * connections with it. Every connection is made by `ClientTls` itself, so all transports share one handshake,
 * one set of peer checks, one failure classification and one set of `ssl.*` stats.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { buildConnector } from 'undici';
import type { LeanConnector } from '@xmesh/grpc-lean';
import type { ClientTls } from '@xmesh/tls';
import { grpcJs } from './lazy-deps.js';

/**
 * grpc-js channel credentials whose secure connector is `tls` (grpc-js ~1.14's `ChannelCredentials` contract:
 * `_createSecureConnector` turns grpc-js's TCP socket into the connection it speaks HTTP/2 over).
 */
export function meshTlsCredentials(tls: ClientTls, host: string, port: number): grpc.ChannelCredentials {
  return new (meshTlsCredentialsClass ??= defineMeshTlsCredentials())(tls, host, port);
}

type MeshTlsCredentialsClass = new (tls: ClientTls, host: string, port: number) => grpc.ChannelCredentials;
let meshTlsCredentialsClass: MeshTlsCredentialsClass | undefined;

/** The class extends grpc-js's, so it is defined once grpc-js is loaded (see `lazy-deps.ts`). */
function defineMeshTlsCredentials(): MeshTlsCredentialsClass {
  const grpcModule = grpcJs();
  return class MeshTlsCredentials extends grpcModule.ChannelCredentials {
    constructor(
      private readonly tls: ClientTls,
      private readonly host: string,
      private readonly port: number,
    ) {
      super();
    }

    _isSecure(): boolean {
      return true;
    }

    _equals(other: grpc.ChannelCredentials): boolean {
      return other === this;
    }

    _createSecureConnector(_target: unknown, _options: unknown, callCredentials?: grpc.CallCredentials): grpc.experimental.SecureConnector {
      const { tls, host, port } = this;
      const calls = callCredentials ?? grpcModule.credentials.createEmpty();
      return {
        connect: (socket: Socket) => new Promise((resolve, reject) => {
          const secured = tls.secure(socket, host, port, 'h2');
          const onError = (error: Error): void => reject(error);
          secured.once('error', onError);
          secured.once('secureConnect', () => {
            secured.off('error', onError);
            resolve({ socket: secured, secure: true });
          });
        }),
        waitForReady: () => Promise.resolve(),
        getCallCredentials: () => calls,
        destroy: () => undefined,
      };
    }
  };
}

/** The lean transport's connector: TLS with ALPN h2 (unless the config names others). */
export function leanConnector(tls: ClientTls): LeanConnector {
  return { connect: (host, port) => tls.connect(host, port, 'h2') };
}

/** An undici `connect` function over `tls` for `host:port`: HTTP/1.1, or h2 when `h2`. */
export function undiciConnect(tls: ClientTls, host: string, port: number, h2: boolean): buildConnector.connector {
  return (_options, callback) => {
    const socket: TLSSocket = tls.connect(host, port, h2 ? 'h2' : 'http/1.1');
    const onError = (error: Error): void => callback(error, null);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      callback(null, socket);
    });
  };
}
