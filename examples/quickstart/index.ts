export {
  echoImplementation,
  echoProtoPath,
  loadEchoService,
  startEchoServer,
  type EchoClient,
  type EchoClientConstructor,
  type EchoReply,
  type EchoRequest,
  type RunningEchoServer,
} from './echo-service.js';
export {
  DEFAULT_PORTS,
  ECHO_SERVER_NAMES,
  parsePorts,
  startServers,
  type QuickstartServers,
  type ServerAddress,
  type ServerPorts,
} from './servers.js';
export { loadQuickstartConfig, meshYamlPath, type QuickstartConfig } from './mesh-config.js';
