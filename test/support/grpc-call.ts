/** Promise helpers over stock generated grpc-js clients. */
import * as grpc from '@grpc/grpc-js';
import type { EchoClient, EchoReply, EchoRequest } from './echo-server.js';

/** One unary call; rejects with the ServiceError. */
export function unary(client: EchoClient, request: EchoRequest, options: grpc.CallOptions = {}, method = 'Echo', metadata = new grpc.Metadata()): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, options, (err: grpc.ServiceError | null, res: EchoReply) => (err ? reject(err) : resolve(res)));
  });
}

/** Runs `total` calls of `one` with at most `concurrency` in flight; resolves with every result in order. */
export async function runConcurrently<T>(total: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      results[i] = await one(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
}
