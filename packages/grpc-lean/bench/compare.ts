/**
 * Unary 100 B echo against a stock grpc-js server (child process), three clients:
 *   direct       stock grpc-js Client on its own channel (the floor users know)
 *   lean-client  the same grpc-js Client with a LeanChannel as channelOverride
 *   lean-fast    LeanChannel.unary(), the callback fast path
 * Every client encodes/decodes with protobufjs. Scenarios are interleaved per
 * round; figures are medians over rounds. Client CPU per call comes from
 * process.cpuUsage() of this process only.
 *
 * node --conditions=xmesh-source --import tsx packages/grpc-lean/bench/compare.ts
 * env: BENCH_ROUNDS (5), BENCH_SECONDS (2), BENCH_CONCURRENCY (1,16,64), BENCH_ONLY (comma-separated scenario names)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { LeanChannel } from '../src/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);

const root = protobuf.loadSync(fileURLToPath(new URL('../../../examples/quickstart/proto/echo.proto', import.meta.url)));
const EchoRequest = root.lookupType('xmesh.echo.EchoRequest');
const EchoReply = root.lookupType('xmesh.echo.EchoReply');
const REQUEST = EchoRequest.create({ message: 'bench', payload: Buffer.alloc(100, 7) });
const serialize = (message: protobuf.Message): Buffer => Buffer.from(EchoRequest.encode(message).finish());
const deserialize = (bytes: Buffer): protobuf.Message => EchoReply.decode(bytes);

type Done = (error: unknown) => void;
type Invoke = (done: Done) => void;

function startServer(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./echo-server.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /LISTENING (\d+)/.exec(chunk.toString());
      if (match) resolve({ port: Number(match[1]), stop: () => child.kill('SIGKILL') });
    });
  });
}

const methods = {
  Echo: { path: '/xmesh.echo.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: serialize, requestDeserialize: deserialize, responseSerialize: serialize, responseDeserialize: deserialize },
};
const EchoClient = grpc.makeGenericClientConstructor(methods as unknown as grpc.ServiceDefinition, 'Echo');
type UnaryClient = grpc.Client & { Echo: (request: protobuf.Message, callback: (error: unknown, reply?: protobuf.Message) => void) => void };

function scenarios(target: string): { name: string; invoke: Invoke; close: () => void }[] {
  const direct = new EchoClient(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as UnaryClient;
  const leanForClient = new LeanChannel(target);
  const leanClient = new EchoClient(target, grpc.credentials.createInsecure(), { channelOverride: leanForClient as unknown as grpc.Channel }) as unknown as UnaryClient;
  const fast = new LeanChannel(target);
  return [
    { name: 'direct', invoke: (done) => direct.Echo(REQUEST, done), close: () => direct.close() },
    { name: 'lean-client', invoke: (done) => leanClient.Echo(REQUEST, done), close: () => leanForClient.close() },
    {
      name: 'lean-fast',
      invoke: (done) =>
        fast.unary('/xmesh.echo.Echo/Echo', serialize(REQUEST), undefined, undefined, (error, reply) => {
          if (error === null) deserialize(reply!);
          done(error);
        }),
      close: () => fast.close(),
    },
  ];
}

interface RoundResult {
  callsPerSecond: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerCall: number;
}

/** Runs `concurrency` callback loops until the hrtime deadline; no promise per call. */
function runRound(invoke: Invoke, concurrency: number, seconds: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const endAt = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
    let active = concurrency;
    const cpuStart = process.cpuUsage();
    const wallStart = process.hrtime.bigint();
    const worker = () => {
      const started = process.hrtime.bigint();
      if (started >= endAt) {
        if (--active === 0) finish();
        return;
      }
      invoke((error) => {
        if (error) return reject(error);
        latencies.push(Number(process.hrtime.bigint() - started) / 1e3);
        worker();
      });
    };
    const finish = () => {
      const wallUs = Number(process.hrtime.bigint() - wallStart) / 1e3;
      const cpu = process.cpuUsage(cpuStart);
      latencies.sort((a, b) => a - b);
      resolve({
        callsPerSecond: latencies.length / (wallUs / 1e6),
        p50Us: latencies[Math.floor(latencies.length * 0.5)] ?? NaN,
        p99Us: latencies[Math.floor(latencies.length * 0.99)] ?? NaN,
        cpuUsPerCall: (cpu.user + cpu.system) / latencies.length,
      });
    };
    for (let i = 0; i < concurrency; i++) worker();
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const server = await startServer();
const target = `127.0.0.1:${server.port}`;
const only = process.env.BENCH_ONLY?.split(',');
const clients = scenarios(target).filter((c) => only === undefined || only.includes(c.name) || c.name === 'direct');
for (const client of clients) await runRound(client.invoke, 16, 1); // warm-up: connect, JIT
console.log(`unary echo, 100 B payload, stock grpc-js server (child process); ${ROUNDS} interleaved rounds x ${SECONDS} s; medians`);
for (const concurrency of CONCURRENCY) {
  const results = new Map<string, RoundResult[]>(clients.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = clients.map((_, i) => clients[(i + round) % clients.length]!);
    for (const client of order) results.get(client.name)!.push(await runRound(client.invoke, concurrency, SECONDS));
  }
  const baseline = results.get('direct')!;
  const baseRate = median(baseline.map((r) => r.callsPerSecond));
  const baseCpu = median(baseline.map((r) => r.cpuUsPerCall));
  console.log(`\nconcurrency ${concurrency}`);
  console.log('scenario       calls/s   p50 us   p99 us  cpu us/call  x calls/s  x cpu/call');
  for (const [name, rounds] of results) {
    const rate = median(rounds.map((r) => r.callsPerSecond));
    const cpu = median(rounds.map((r) => r.cpuUsPerCall));
    console.log(
      `${name.padEnd(12)} ${rate.toFixed(0).padStart(9)} ${median(rounds.map((r) => r.p50Us)).toFixed(0).padStart(8)} ${median(rounds.map((r) => r.p99Us)).toFixed(0).padStart(8)} ${cpu.toFixed(1).padStart(12)} ${(rate / baseRate).toFixed(2).padStart(10)} ${(cpu / baseCpu).toFixed(2).padStart(11)}`,
    );
  }
}
for (const client of clients) client.close();
server.stop();
