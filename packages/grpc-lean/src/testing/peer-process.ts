/**
 * Runs one echo peer in its own process so a test can kill it outright:
 * `node --import tsx peer-process.ts <grpc-js|connect> <port>`; prints
 * `LISTENING <port>` once bound.
 */
import { startConnectPeer } from './connect-peer.js';
import { startGrpcJsPeer } from './grpc-js-peer.js';

const [kind, portText] = process.argv.slice(2);
const port = Number(portText ?? 0);
const peer = kind === 'connect' ? await startConnectPeer(port) : await startGrpcJsPeer(port);
process.stdout.write(`LISTENING ${peer.port}\n`);
