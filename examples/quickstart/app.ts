/**
 * The quickstart: starts the servers, builds a mesh from `mesh.yaml`, and calls the echo service
 * and the web server by their logical names. Exits 0 when every call succeeded and every
 * `x-canary: always` call reached the canary, 1 otherwise.
 */
import { Metadata } from '@grpc/grpc-js';
import { createMesh } from '@xmesh/client';
import { loadEchoService, type EchoClient, type EchoReply, type EchoRequest } from './echo-service.js';
import { loadQuickstartConfig } from './mesh-config.js';
import { startServers } from './servers.js';

const ECHO_TARGET = 'echo.default.svc:50051';
const WEB_URL = 'http://web.default.svc/hello';
const PLAIN_CALLS = 200;
const CANARY_CALLS = 4;
/** Plain calls printed one per line; the rest only count towards the split. */
const PRINTED_CALLS = 12;

function unary(client: EchoClient, request: EchoRequest, metadata = new Metadata()): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    client.echo(request, metadata, { deadline: Date.now() + 5000 }, (err, reply) => {
      if (err !== null || reply === undefined) reject(err ?? new Error('empty reply'));
      else resolve(reply);
    });
  });
}

async function main(): Promise<number> {
  const servers = await startServers();
  const { bootstrap, clusterOf } = loadQuickstartConfig(servers);
  const mesh = await createMesh({ config: bootstrap });
  let failures = 0;
  try {
    for (const s of [...servers.echo, servers.web]) console.log(`${s.name.padEnd(7)} on ${s.address} (cluster ${clusterOf.get(s.address) ?? '?'})`);
    const client = mesh.grpcClient(loadEchoService(), ECHO_TARGET);
    const perCluster = new Map<string, number>();
    const perServer = new Map<string, number>();
    const clusterOfServer = (server: string) => clusterOf.get(server.slice(server.indexOf('@') + 1)) ?? '?';

    console.log(`\ngRPC ${ECHO_TARGET}: ${PLAIN_CALLS} calls, then ${CANARY_CALLS} with x-canary: always`);
    for (let i = 1; i <= PLAIN_CALLS + CANARY_CALLS; i++) {
      const canary = i > PLAIN_CALLS;
      const metadata = new Metadata();
      if (canary) metadata.set('x-canary', 'always');
      const label = `#${String(i).padStart(3, '0')}`;
      try {
        const reply = await unary(client, { message: `hello ${i}` }, metadata);
        const cluster = clusterOfServer(reply.server);
        if (canary || i <= PRINTED_CALLS) console.log(`${label} ${reply.server} (cluster ${cluster})${canary ? '  [x-canary: always]' : ''}`);
        else if (i === PRINTED_CALLS + 1) console.log(`... ${PLAIN_CALLS - PRINTED_CALLS} more calls, counted in the split below`);
        if (canary && cluster !== 'echo-canary') {
          console.error(`${label} expected the canary for x-canary: always`);
          failures++;
        }
        if (!canary) {
          perCluster.set(cluster, (perCluster.get(cluster) ?? 0) + 1);
          perServer.set(reply.server, (perServer.get(reply.server) ?? 0) + 1);
        }
      } catch (err) {
        console.error(`${label} FAILED: ${(err as Error).message}`);
        failures++;
      }
    }

    console.log('\ngRPC server stream (count 3)');
    try {
      const stream = client.serverStream({ message: 'stream', count: 3 }, new Metadata(), { deadline: Date.now() + 5000 });
      let replies = 0;
      for await (const reply of stream as AsyncIterable<EchoReply>) {
        replies++;
        console.log(`  ${reply.message} from ${reply.server} (cluster ${clusterOfServer(reply.server)})`);
      }
      if (replies !== 3) throw new Error(`expected 3 replies, got ${replies}`);
    } catch (err) {
      console.error(`  stream FAILED: ${(err as Error).message}`);
      failures++;
    }

    console.log(`\nHTTP ${WEB_URL}`);
    for (let i = 1; i <= 3; i++) {
      try {
        const res = await mesh.fetch(WEB_URL);
        const body = (await res.json()) as { server?: string; host?: string };
        console.log(`  ${res.status} from ${body.server ?? '?'} (Host: ${body.host ?? '?'})`);
        if (res.status !== 200) failures++;
      } catch (err) {
        console.error(`  fetch FAILED: ${(err as Error).message}`);
        failures++;
      }
    }

    console.log(`\nsplit over the ${PLAIN_CALLS} calls without the header (configured 80/20):`);
    for (const [cluster, n] of [...perCluster].sort()) console.log(`  ${cluster.padEnd(12)} ${String(n).padStart(3)}  ${((100 * n) / PLAIN_CALLS).toFixed(0)}%`);
    for (const [server, n] of [...perServer].sort()) console.log(`    ${server.padEnd(26)} ${String(n).padStart(3)}`);
    client.close();
  } finally {
    await mesh.close();
    await servers.close();
  }
  console.log(failures === 0 ? '\nok' : `\n${failures} failure(s)`);
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
