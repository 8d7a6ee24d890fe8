// `xmesh sidecar` as a process: serves a config file, and on SIGTERM finishes the in-flight call and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadEcho, startEchoServer, type EchoClient } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';
import { waitFor } from '../support/wait.js';

const BIN = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'src', 'bin.ts');

test('xmesh sidecar drains on SIGTERM: the in-flight call completes and the process exits 0', async () => {
  const upstream = await startEchoServer('slow');
  const dir = await mkdtemp(join(tmpdir(), 'xmesh-sidecar-'));
  const file = join(dir, 'envoy.json');
  await writeFile(file, JSON.stringify(bootstrap({ routes: [{ prefix: '/', cluster: 'slow' }], clusters: { slow: [upstream.address] }, http2: ['slow'] })));
  const child = spawn(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', BIN, 'sidecar', '--config', file, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const target = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const match = /listening on (\S+?),/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error(`exited early: ${output}`)));
  });
  const { EchoClient: EchoCtor } = loadEcho();
  const client = new EchoCtor(target, grpc.credentials.createInsecure()) as EchoClient;
  try {
    assert.equal((await unary(client, { message: 'warm' })).message, 'warm');
    // Held by the upstream until the sidecar is draining: in flight across the signal, whatever the load.
    const inFlight = unary(client, { message: 'hold' });
    await waitFor(() => upstream.held === 1, 'the call to reach the upstream');
    child.kill('SIGTERM');
    await waitFor(() => output.includes('SIGTERM: draining'), 'the sidecar to start draining');
    upstream.release();
    assert.equal((await inFlight).message, 'hold');
    assert.equal(await exited, 0);
    assert.match(output, /SIGTERM: draining\ndrained\n/);
  } finally {
    client.close();
    child.kill('SIGKILL');
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('xmesh sidecar --max-connections and --max-grpc-message-bytes set the sidecar\'s limits; bad values are refused', async () => {
  const { XmeshProcess, runXmesh } = await import('../support/xmesh-cli.js');
  const { connect } = await import('node:net');
  const upstream = await startEchoServer('limits');
  const dir = await mkdtemp(join(tmpdir(), 'xmesh-sidecar-'));
  const file = join(dir, 'envoy.json');
  await writeFile(file, JSON.stringify(bootstrap({ routes: [{ prefix: '/', cluster: 'echo' }], clusters: { echo: [upstream.address] }, http2: ['echo'] })));
  const sidecar = new XmeshProcess(['sidecar', '--config', file, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--max-connections', '2', '--max-grpc-message-bytes', '1024']);
  const { EchoClient: EchoCtor } = loadEcho();
  let client: EchoClient | undefined;
  const sockets: import('node:net').Socket[] = [];
  try {
    const [, target] = await sidecar.waitFor(/listening on (\S+?),/);
    const [host, port] = [target!.slice(0, target!.lastIndexOf(':')), Number(target!.slice(target!.lastIndexOf(':') + 1))];
    client = new EchoCtor(target!, grpc.credentials.createInsecure()) as EchoClient;
    assert.equal((await unary(client, { message: 'small' })).message, 'small');
    const big = await unary(client, { message: 'big', payload: Buffer.alloc(2048) }).then(() => undefined, (e: grpc.ServiceError) => e.code);
    assert.equal(big, grpc.status.RESOURCE_EXHAUSTED, 'a 2 KiB message is over --max-grpc-message-bytes 1024');
    // The client holds one connection; one more fits, the third is closed at accept.
    const open = () => new Promise<import('node:net').Socket>((resolve, reject) => {
      const socket = connect(port, host, () => resolve(socket));
      socket.on('error', reject);
      sockets.push(socket);
    });
    await open();
    const third = await open();
    await new Promise<void>((resolve) => third.once('close', () => resolve()));
  } finally {
    client?.close();
    for (const s of sockets) s.destroy();
    sidecar.child.kill('SIGKILL');
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  }
  const refused = runXmesh(['sidecar', '--config', file, '--max-connections', 'lots']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /--max-connections.*'lots' is invalid\. must be a whole number of at least 1/);
});
