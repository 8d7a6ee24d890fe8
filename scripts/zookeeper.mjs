// A throwaway ZooKeeper (Debian `zookeeperd` 3.8) on loopback, for tests, the demo and the examples:
// the Java server runs in the foreground from the package's jars with a generated zoo.cfg and a temp
// data dir. `stop()` kills it and removes the dir; `kill()` / `restart()` let tests lose and regain it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.mjs';

/** What `ensureDebian` checks for: the script the zookeeperd package ships. */
export const ZOOKEEPER_SCRIPT = '/usr/share/zookeeper/bin/zkServer.sh';
const JARS = '/usr/share/java';
const CLASSPATH = [
  'zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar', 'slf4j-nop.jar', 'metrics-core.jar', 'snappy-java.jar',
  'netty-handler.jar', 'netty-common.jar', 'netty-buffer.jar', 'netty-transport.jar', 'netty-codec.jar', 'netty-resolver.jar',
  'netty-transport-native-epoll.jar', 'netty-transport-native-unix-common.jar',
].map((jar) => join(JARS, jar)).join(':');

export function zookeeperInstalled() {
  return existsSync(join(JARS, 'zookeeper.jar')) && spawnSync('sh', ['-c', 'command -v java']).status === 0;
}

/** Sends a four-letter word; resolves with the answer, or '' when nothing answers. */
function fourLetter(port, word) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(2000, () => socket.destroy());
    socket.once('connect', () => socket.write(word));
    socket.on('data', (chunk) => { answer += chunk; });
    socket.once('close', () => resolve(answer));
    socket.once('error', () => resolve(''));
  });
}

/**
 * Starts ZooKeeper on 127.0.0.1 (a free port unless `port` is given); sessions last at most
 * `maxSessionTimeoutMs` (so a killed client's ephemeral nodes go within seconds); resolves once it answers
 * `ruok`. The returned handle: `connectString`, `port`, `kill()` (SIGKILL, data kept), `start()`
 * (again, same port and data), `stop()` (kill and remove the data dir).
 */
export async function startZooKeeper({ port, timeoutMs = 60_000, maxSessionTimeoutMs = 4_000 } = {}) {
  if (!zookeeperInstalled()) throw new Error('ZooKeeper is not installed: apt-get install zookeeperd (and a Java runtime)');
  const dir = mkdtempSync(join(tmpdir(), 'xmesh-zk-'));
  const clientPort = port ?? (await freePort());
  const config = join(dir, 'zoo.cfg');
  writeFileSync(config, [
    'tickTime=500', `dataDir=${join(dir, 'data')}`, `clientPort=${clientPort}`, 'clientPortAddress=127.0.0.1',
    'admin.enableServer=false', 'minSessionTimeout=1000', `maxSessionTimeout=${maxSessionTimeoutMs}`, '4lw.commands.whitelist=ruok',
    'maxClientCnxns=0', '',
  ].join('\n'));
  let child;
  const handle = {
    port: clientPort,
    connectString: `127.0.0.1:${clientPort}`,
    async start() {
      child = spawn('java', ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', CLASSPATH, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', config], { stdio: 'ignore' });
      child.on('error', () => undefined);
      const end = Date.now() + timeoutMs;
      while ((await fourLetter(clientPort, 'ruok')) !== 'imok') {
        if (Date.now() > end || child.exitCode !== null) {
          child.kill('SIGKILL');
          throw new Error(`ZooKeeper did not answer on ${clientPort} within ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
    async stop() {
      await handle.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
