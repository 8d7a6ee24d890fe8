export { BoltConnection, BoltEndpointConnections, type BoltConnectionOptions, type BoltReceiver } from './connection.js';
export { BoltAttempt, BoltCall, boltTransport, statusError, type BoltRequest, type BoltCallback, type BoltCallHost } from './bolt-call.js';
export { MeshBoltClient, DEFAULT_BOLT_SIDECAR_ADDRESS, type BoltClientOptions, type BoltBytesCall } from './client.js';
export { MeshRpcClient, MeshRpcConsumer, type MeshRpcClientOptions, type MeshRpcConsumerOptions, type InvokeOptions, type ProtoRoot } from './rpc-client.js';
export { boltRouteRequest, interfaceOf, codecName, type BoltRouteInput } from './route-request.js';
