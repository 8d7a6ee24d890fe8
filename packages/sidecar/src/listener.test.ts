import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectH2, constants } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { request } from 'undici';
import { DualListener } from './listener.js';

/** Answers to `/slow`, held until the test releases them: in flight for as long as it needs. */
const heldSlow: (() => void)[] = [];

function startListener(): Promise<{ listener: DualListener; port: number }> {
  const listener = new DualListener({
    onStream: (stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(`h2 ${headers[':path']}`);
    },
    onRequest: (req, res) => {
      if (req.url === '/slow') heldSlow.push(() => res.end('slow done'));
      else res.end(`h1 ${req.url}`);
    },
  });
  return listener.listen('127.0.0.1', 0).then(({ port }) => ({ listener, port }));
}

function h2Get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = connectH2(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':path': path });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (body += c));
    stream.on('end', () => {
      session.close();
      resolve(body);
    });
    stream.end();
  });
}

test('one port serves HTTP/1.1 and h2c, told apart by the connection preface', async () => {
  const { listener, port } = await startListener();
  const h1 = await request(`http://127.0.0.1:${port}/one`);
  assert.equal(await h1.body.text(), 'h1 /one');
  assert.equal(await h2Get(port, '/two'), 'h2 /two');
  await listener.close();
});

test('a preface split over several packets is still recognised', async () => {
  const { listener, port } = await startListener();
  const socket = connectTcp(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  socket.write(preface.subarray(0, 3));
  await new Promise((r) => setTimeout(r, 30));
  socket.write(preface.subarray(3));
  // An HTTP/2 server answers the preface with a SETTINGS frame (type 4).
  const frame = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
  assert.equal(frame[3], 0x4);
  socket.destroy();
  await listener.close();
  void constants;
});

test('drain finishes the in-flight request, refuses new connections, and resolves once all closed', async () => {
  const { listener, port } = await startListener();
  const slow = request(`http://127.0.0.1:${port}/slow`).then((r) => r.body.text());
  for (const started = Date.now(); heldSlow.length === 0 && Date.now() - started < 10_000;) await new Promise((r) => setTimeout(r, 5));
  const drained = listener.drain(5000);
  const refused = await request(`http://127.0.0.1:${port}/x`).then(() => 'answered', (e: Error & { code?: string }) => e.code);
  assert.equal(refused, 'ECONNREFUSED');
  for (const answer of heldSlow.splice(0)) answer();
  assert.equal(await slow, 'slow done');
  await drained;
  assert.equal(listener.connections, 0);
});
