// The sidecar's listener with several filter chains chosen by filter_chain_match as Envoy chooses them: two TLS
// chains with their own certificates and route tables told apart by SNI (a stock node https client), a plaintext
// chain, a connection no chain matches closed as Envoy closes it; and tcp_proxy chains relaying bytes between raw
// node:net peers (both directions, half-close, idle_timeout, an upstream that is down, max_connect_attempts,
// weighted clusters, the cluster's round robin and its max_connections circuit breaker).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectH2 } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { request } from 'undici';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { standardPki } from '../support/pki.js';
import { until, within } from './support/waits.js';

const pki = standardPki();
const certA = pki.issue('chain-a', { sans: ['DNS:a.test'] });
const certB = pki.issue('chain-b', { sans: ['DNS:*.b.test'] });
after(() => pki.dispose());

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** An HttpConnectionManager whose every request is answered `body` (a direct_response): which chain served is in the body. */
function answering(body: string): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM,
      stat_prefix: body.replaceAll(' ', '_'),
      route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: body } } }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
    },
  };
}

function serverTls(cert: { certPath: string; keyPath: string }): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: { tls_certificates: [{ certificate_chain: { filename: cert.certPath }, private_key: { filename: cert.keyPath } }] },
    },
  };
}

function tcpProxy(extra: Record<string, unknown>): object {
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: 'relay', ...extra } };
}

function staticConfig(filterChains: object[], clusters: Record<string, { addresses: string[]; extra?: Record<string, unknown> }> = {}, listenerExtra: Record<string, unknown> = {}): object {
  return {
    static_resources: {
      listeners: [{ name: 'edge', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } }, filter_chains: filterChains, ...listenerExtra }],
      clusters: Object.entries(clusters).map(([name, c]) => ({
        name,
        type: 'STATIC',
        connect_timeout: '1s',
        load_assignment: {
          cluster_name: name,
          endpoints: [{ lb_endpoints: c.addresses.map((a) => ({ endpoint: { address: { socket_address: { address: a.split(':')[0], port_value: Number(a.split(':')[1]) } } } })) }],
        },
        ...c.extra,
      })),
    },
  };
}

/** An HTTPS GET with SNI `servername`: the body and the certificate the server showed, or the error. */
function httpsGet(port: number, servername: string | undefined): Promise<{ body: string; san: string | undefined } | Error> {
  return new Promise((resolve) => {
    const req = httpsRequest({
      host: '127.0.0.1', port, path: '/', ca: pki.ca.cert, agent: false,
      ...(servername === undefined ? {} : { servername }),
      checkServerIdentity: () => undefined,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ body, san: (res.socket as TLSSocket).getPeerCertificate?.()?.subjectaltname }));
      res.on('error', resolve);
    });
    req.on('error', resolve);
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

/** A raw HTTP/1.1 GET from source port `localPort`: everything the server sent until it closed. */
function rawHttp(port: number, localPort: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1', localPort }, () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    socket.setEncoding('latin1');
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

describe('filter_chain_match in the sidecar', () => {
  test('two TLS chains with their own certificates and routes, chosen by SNI (exact and wildcard); plaintext to the raw_buffer chain; an unmatched SNI is closed', async () => {
    const sidecar = await startSidecar({
      config: staticConfig([
        { name: 'a', filter_chain_match: { server_names: ['a.test'] }, transport_socket: serverTls(certA), filters: [answering('chain a')] },
        { name: 'b', filter_chain_match: { server_names: ['*.b.test'] }, transport_socket: serverTls(certB), filters: [answering('chain b')] },
        { name: 'plain', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [answering('plain chain')] },
      ]),
      listen: '127.0.0.1:0',
      admin: false,
    });
    try {
      const port = sidecar.address.port;
      assert.deepEqual(await httpsGet(port, 'a.test'), { body: 'chain a', san: 'DNS:a.test' });
      assert.deepEqual(await httpsGet(port, 'www.b.test'), { body: 'chain b', san: 'DNS:*.b.test' });
      assert.deepEqual(await httpsGet(port, 'A.TEST'), { body: 'chain a', san: 'DNS:a.test' }, 'server names compare without case');
      const plain = await request(`http://127.0.0.1:${port}/`);
      assert.equal(await plain.body.text(), 'plain chain');
      // No chain for this SNI and no default chain: Envoy closes the connection (no_filter_chain_match).
      for (const servername of ['c.test', undefined]) {
        const refused = await httpsGet(port, servername);
        assert.ok(refused instanceof Error, `SNI ${servername ?? '(none)'}: ${JSON.stringify(refused)}`);
        assert.match((refused as NodeJS.ErrnoException).code ?? refused.message, /ECONNRESET|socket hang up|EPIPE/);
      }
      assert.equal(sidecar.mesh.observability.store.value('http.sidecar.no_filter_chain_match'), 2);
    } finally {
      await sidecar.close();
    }
  });

  test('the default_filter_chain takes what no chain matches; a TLS chain without server_names takes TLS without SNI', async () => {
    const sidecar = await startSidecar({
      config: {
        static_resources: {
          listeners: [{
            name: 'edge', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
            filter_chains: [
              { name: 'a', filter_chain_match: { server_names: ['a.test'] }, transport_socket: serverTls(certA), filters: [answering('chain a')] },
              { name: 'tls-other', filter_chain_match: { transport_protocol: 'tls' }, transport_socket: serverTls(certB), filters: [answering('any other tls')] },
            ],
            default_filter_chain: { filters: [answering('default chain')] },
          }],
          clusters: [],
        },
      },
      listen: '127.0.0.1:0',
      admin: false,
    });
    try {
      const port = sidecar.address.port;
      assert.deepEqual(await httpsGet(port, 'a.test'), { body: 'chain a', san: 'DNS:a.test' });
      assert.deepEqual(await httpsGet(port, 'z.test'), { body: 'any other tls', san: 'DNS:*.b.test' });
      const plain = await request(`http://127.0.0.1:${port}/`);
      assert.equal(await plain.body.text(), 'default chain');
    } finally {
      await sidecar.close();
    }
  });

  test('destination_port and source_prefix_ranges: a connection matching neither is closed', async () => {
    const sidecar = await startSidecar({
      config: staticConfig([
        { name: 'other-port', filter_chain_match: { destination_port: 1 }, filters: [answering('port 1')] },
        { name: 'elsewhere', filter_chain_match: { source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }, filters: [answering('from 10/8')] },
      ]),
      listen: '127.0.0.1:0',
      admin: false,
    });
    try {
      const error = await request(`http://127.0.0.1:${sidecar.address.port}/`).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof Error, 'closed without an answer');
    } finally {
      await sidecar.close();
    }
    const loopback = await startSidecar({
      config: staticConfig([
        { name: 'elsewhere', filter_chain_match: { source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }, filters: [answering('from 10/8')] },
        { name: 'loopback', filter_chain_match: { source_prefix_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }] }, filters: [answering('from loopback')] },
      ]),
      listen: '127.0.0.1:0',
      admin: false,
    });
    try {
      const res = await request(`http://127.0.0.1:${loopback.address.port}/`);
      assert.equal(await res.body.text(), 'from loopback');
    } finally {
      await loopback.close();
    }
  });

  test('application_protocols (ALPN), prefix_ranges, direct_source_prefix_ranges, source_type and source_ports choose among chains', async () => {
    const loopback = { prefix_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }], direct_source_prefix_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }], source_type: 'SAME_IP_OR_LOOPBACK', transport_protocol: 'raw_buffer' };
    const probe = await startSidecar({ config: staticConfig([{ filters: [answering('probe')] }]), listen: '127.0.0.1:0', admin: false });
    // A source port the client binds to (free a moment ago).
    const sourcePort = probe.address.port;
    await probe.close();
    const sidecar = await startSidecar({
      config: staticConfig([
        // The destination IP comes before the server name in Envoy's order: a chain without prefix_ranges would lose
        // to the more specific loopback chains below before SNI is looked at.
        { name: 'alpn-h2', filter_chain_match: { prefix_ranges: loopback.prefix_ranges, server_names: ['alpn.test'], application_protocols: ['h2'] }, transport_socket: serverTls(certA), filters: [answering('alpn h2')] },
        { name: 'alpn-any', filter_chain_match: { prefix_ranges: loopback.prefix_ranges, server_names: ['alpn.test'] }, transport_socket: serverTls(certA), filters: [answering('alpn any')] },
        { name: 'loopback', filter_chain_match: loopback, filters: [answering('loopback')] },
        { name: 'source-port', filter_chain_match: { ...loopback, source_ports: [sourcePort] }, filters: [answering('source port')] },
      ]),
      listen: '127.0.0.1:0',
      admin: false,
    });
    try {
      const port = sidecar.address.port;
      assert.deepEqual(await httpsGet(port, 'alpn.test'), { body: 'alpn any', san: 'DNS:a.test' }, 'node https offers no ALPN');
      const h2 = await new Promise<string>((resolve, reject) => {
        const session = connectH2(`https://127.0.0.1:${port}`, { ca: pki.ca.cert, servername: 'alpn.test', checkServerIdentity: () => undefined });
        session.on('error', reject);
        const stream = session.request({ ':path': '/' });
        let body = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (body += chunk));
        stream.on('end', () => {
          session.close();
          resolve(body);
        });
        stream.on('error', reject);
      });
      assert.equal(h2, 'alpn h2');
      assert.equal(await (await request(`http://127.0.0.1:${port}/`)).body.text(), 'loopback');
      const fromPort = await rawHttp(port, sourcePort);
      assert.match(fromPort, /\r\n\r\nsource port$/);
    } finally {
      await sidecar.close();
    }
  });

  test('transport_socket_connect_timeout closes a TLS connection that does not finish its handshake', async () => {
    const sidecar = await startSidecar({
      config: staticConfig([{ transport_socket: serverTls(certA), transport_socket_connect_timeout: '0.3s', filters: [answering('tls')] }]),
      listen: '127.0.0.1:0',
      admin: false,
    });
    try {
      const client = rawClient(sidecar.address.port);
      await within(client.closed, 'closed by transport_socket_connect_timeout', 10_000);
    } finally {
      await sidecar.close();
    }
  });

  test('FilterChainMatch and tcp_proxy fields that are not honoured are refused with their path', async () => {
    const refusal = (tunneling: object): Promise<unknown> => startSidecar({
      config: staticConfig([{ filter_chain_match: {}, filters: [tcpProxy({ cluster: 'up', tunneling_config: tunneling })] }], { up: { addresses: ['127.0.0.1:1'] } }),
      listen: '127.0.0.1:0',
      admin: false,
    }).then(async (started) => {
      await started.close();
      return undefined;
    }, (e: unknown) => e);
    const at = /filter_chains\[0\]\.filters\[0\]\.typed_config\.tunneling_config\./.source;
    assert.match(String(await refusal({ hostname: 'x:1', post_path: '/up' })), new RegExp(`${at}post_path: is only for POST tunnels: set use_post`));
    assert.match(String(await refusal({ hostname: 'x:1', use_post: true, post_path: 'up' })), new RegExp(`${at}post_path: must be a path starting with "/"`));
    assert.match(String(await refusal({ hostname: 'x:1', headers_to_add: [{ header: { key: 'x-id', value: '%REQ(x-id)%' } }] })), new RegExp(`${at}headers_to_add\\[0\\]\\.header: substitution commands`));
  });
});

/** A raw TCP upstream: greets each connection with `hello <name>\n`, then echoes what it receives upper-cased. */
async function rawUpstream(name: string): Promise<{ server: Server; address: string; connections: number; open: number }> {
  const state = { server: createServer({ allowHalfOpen: true }), address: '', connections: 0, open: 0 };
  state.server.on('connection', (socket: Socket) => {
    state.connections += 1;
    state.open += 1;
    socket.on('close', () => (state.open -= 1));
    socket.on('error', () => undefined);
    socket.write(`hello ${name}\n`);
    socket.on('data', (chunk: Buffer) => socket.write(chunk.toString('latin1').toUpperCase()));
    socket.on('end', () => socket.end('bye\n'));
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.address = `127.0.0.1:${(state.server.address() as AddressInfo).port}`;
  return state;
}

/** A port nothing listens on. */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/** A raw client: what it received, and when the proxy ended the connection (FIN or reset; the client may half-close first). */
function rawClient(port: number): { socket: Socket; received: () => string; closed: Promise<void> } {
  let received = '';
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  return { socket, received: () => received, closed };
}

describe('tcp_proxy in the sidecar', () => {
  const upstreams: Server[] = [];
  let one: Awaited<ReturnType<typeof rawUpstream>>;
  let two: Awaited<ReturnType<typeof rawUpstream>>;
  before(async () => {
    one = await rawUpstream('one');
    two = await rawUpstream('two');
    upstreams.push(one.server, two.server);
  });
  after(async () => {
    for (const s of upstreams) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  async function sidecarWith(proxy: Record<string, unknown>, clusters: Record<string, { addresses: string[]; extra?: Record<string, unknown> }>): Promise<Sidecar> {
    return startSidecar({ config: staticConfig([{ filters: [tcpProxy(proxy)] }], clusters), listen: '127.0.0.1:0', admin: false });
  }

  test('bytes flow both ways (server speaks first); a half-close reaches the upstream and its answer comes back; stats', async () => {
    const sidecar = await sidecarWith({ cluster: 'up' }, { up: { addresses: [one.address] } });
    try {
      const client = rawClient(sidecar.address.port);
      await until(() => client.received() === 'hello one\n', 'the upstream greets first');
      client.socket.write('ping');
      await until(() => client.received() === 'hello one\nPING', 'the echo comes back');
      client.socket.end();
      await within(client.closed, 'the session ends after both sides ended');
      assert.equal(client.received(), 'hello one\nPINGbye\n');
      const store = sidecar.mesh.observability.store;
      assert.equal(store.value('tcp.relay.downstream_cx_total'), 1);
      assert.equal(store.value('tcp.relay.downstream_cx_rx_bytes_total'), 4);
      assert.equal(store.value('tcp.relay.downstream_cx_tx_bytes_total'), 'hello one\nPINGbye\n'.length);
      assert.equal(store.value('cluster.up.upstream_cx_total'), 1);
      await until(() => one.open === 0, 'the upstream connection closed');
    } finally {
      await sidecar.close();
    }
  });

  test('idle_timeout closes a quiet session (both sides)', async () => {
    const sidecar = await sidecarWith({ cluster: 'up', idle_timeout: '0.3s' }, { up: { addresses: [one.address] } });
    try {
      const client = rawClient(sidecar.address.port);
      await until(() => client.received() === 'hello one\n', 'the upstream greets');
      await within(client.closed, 'closed by idle_timeout', 10_000);
      assert.equal(sidecar.mesh.observability.store.value('tcp.relay.idle_timeout'), 1);
    } finally {
      await sidecar.close();
    }
  });

  test('max_downstream_connection_duration closes a session however busy', async () => {
    const sidecar = await sidecarWith({ cluster: 'up', max_downstream_connection_duration: '0.3s' }, { up: { addresses: [one.address] } });
    try {
      const client = rawClient(sidecar.address.port);
      const talk = setInterval(() => client.socket.write('x'), 50);
      try {
        await within(client.closed, 'closed by max_downstream_connection_duration', 10_000);
      } finally {
        clearInterval(talk);
      }
      assert.equal(sidecar.mesh.observability.store.value('tcp.relay.max_downstream_connection_duration'), 1);
    } finally {
      await sidecar.close();
    }
  });

  test('an upstream that is down: the client is closed; max_connect_attempts tries another endpoint of the round robin', async () => {
    const down = await closedPort();
    const alone = await sidecarWith({ cluster: 'down' }, { down: { addresses: [down] } });
    try {
      const client = rawClient(alone.address.port);
      await within(client.closed, 'closed when the upstream refuses');
      assert.equal(client.received(), '');
      assert.equal(alone.mesh.observability.store.value('cluster.down.upstream_cx_connect_fail'), 1);
    } finally {
      await alone.close();
    }
    const retried = await sidecarWith({ cluster: 'mixed', max_connect_attempts: 2 }, { mixed: { addresses: [down, one.address] } });
    try {
      for (let i = 0; i < 4; i++) {
        const client = rawClient(retried.address.port);
        await until(() => client.received() === 'hello one\n', `connection ${i} reaches the live endpoint`);
        client.socket.destroy();
      }
      assert.ok(retried.mesh.observability.store.value('cluster.mixed.upstream_cx_connect_fail') >= 1, 'the round robin picked the dead endpoint, then tried again');
    } finally {
      await retried.close();
    }
  });

  test('weighted_clusters and round robin spread connections; max_connections refuses the excess (upstream_cx_overflow)', async () => {
    const weighted = await sidecarWith({ weighted_clusters: { clusters: [{ name: 'one', weight: 1 }, { name: 'two', weight: 1 }] } }, { one: { addresses: [one.address] }, two: { addresses: [two.address] } });
    try {
      const greetings = new Set<string>();
      for (let i = 0; i < 40 && greetings.size < 2; i++) {
        const client = rawClient(weighted.address.port);
        await until(() => client.received().endsWith('\n'), 'a greeting');
        greetings.add(client.received());
        client.socket.destroy();
      }
      assert.deepEqual([...greetings].sort(), ['hello one\n', 'hello two\n']);
    } finally {
      await weighted.close();
    }
    const limited = await sidecarWith({ cluster: 'up' }, {
      up: { addresses: [one.address], extra: { circuit_breakers: { thresholds: [{ max_connections: 1 }] } } },
    });
    try {
      const first = rawClient(limited.address.port);
      await until(() => first.received() === 'hello one\n', 'the first connection is relayed');
      const second = rawClient(limited.address.port);
      await within(second.closed, 'the second connection is refused');
      assert.equal(second.received(), '');
      assert.equal(limited.mesh.observability.store.value('cluster.up.upstream_cx_overflow'), 1);
      first.socket.destroy();
      await until(() => one.open === 0, 'the first session ended at the upstream');
      // The session's slot is released once the proxy saw both sides close: a later connection is admitted again.
      let admitted = false;
      for (let i = 0; i < 20 && !admitted; i++) {
        const next = rawClient(limited.address.port);
        await within(Promise.race([next.closed, until(() => next.received() === 'hello one\n', 'a greeting')]), 'relayed or refused');
        admitted = next.received() === 'hello one\n';
        next.socket.destroy();
      }
      assert.ok(admitted, 'a connection is admitted again');
    } finally {
      await limited.close();
    }
  });
  test('a TLS cluster: the relay originates mutual TLS from its UpstreamTlsContext (as envoyproxy/examples double-proxy); a server the SAN check refuses gets no byte', async () => {
    // A stock node TLS server asking for the client's certificate: it greets, then upper-cases what it gets.
    const seenClients: string[] = [];
    const seenSni: (string | false)[] = [];
    const tlsServer = createTlsServer({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true }, (socket) => {
      seenClients.push(socket.getPeerCertificate().subjectaltname ?? '');
      seenSni.push((socket as TLSSocket & { servername?: string | false }).servername ?? false);
      socket.on('error', () => undefined);
      socket.write('hello tls\n');
      socket.on('data', (chunk: Buffer) => socket.write(chunk.toString('latin1').toUpperCase()));
    });
    tlsServer.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
    const upstreamTls = (sanExact: string) => ({
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
          sni: 'postgres.test',
          common_tls_context: {
            tls_certificates: [{ certificate_chain: { filename: pki.client.certPath }, private_key: { filename: pki.client.keyPath } }],
            validation_context: { trusted_ca: { filename: pki.ca.certPath }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: sanExact } }] },
          },
        },
      },
    });
    const sidecar = await sidecarWith({ cluster: 'db' }, { db: { addresses: [address], extra: upstreamTls('spiffe://xmesh.test/ns/default/sa/server') } });
    const refusing = await sidecarWith({ cluster: 'db' }, { db: { addresses: [address], extra: upstreamTls('spiffe://xmesh.test/ns/default/sa/elsewhere') } });
    try {
      const client = rawClient(sidecar.address.port);
      await until(() => client.received() === 'hello tls\n', 'the TLS upstream greets through the relay');
      client.socket.write('select 1');
      await until(() => client.received() === 'hello tls\nSELECT 1', 'the echo comes back');
      assert.deepEqual([seenClients, seenSni], [['URI:spiffe://xmesh.test/ns/default/sa/client'], ['postgres.test']], 'the client certificate and SNI of the cluster\'s context');
      client.socket.destroy();

      const refused = rawClient(refusing.address.port);
      await within(refused.closed, 'a peer failing the SAN check closes the session');
      assert.equal(refused.received(), '');
      assert.equal(refusing.mesh.observability.store.value('cluster.db.upstream_cx_connect_fail'), 1);
    } finally {
      await sidecar.close();
      await refusing.close();
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    }
  });
});
