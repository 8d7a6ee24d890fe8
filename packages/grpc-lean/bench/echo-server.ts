/**
 * Stock grpc-js echo server for compare.ts, run in its own process so the
 * client's CPU time is measured alone. Replies with the request bytes
 * (EchoRequest and EchoReply share fields 1 and 2). Prints `LISTENING <port>`.
 */
import * as grpc from '@grpc/grpc-js';

const passThrough = (bytes: Buffer): Buffer => bytes;
const server = new grpc.Server();
server.addService(
  {
    Echo: {
      path: '/xmesh.echo.Echo/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: passThrough,
      requestDeserialize: passThrough,
      responseSerialize: passThrough,
      responseDeserialize: passThrough,
    },
  },
  { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request) },
);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`LISTENING ${port}\n`);
});
