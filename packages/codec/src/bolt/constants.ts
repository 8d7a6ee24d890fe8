/**
 * Bolt v1 (SOFARPC's binary protocol) constants, as the stock SOFA stacks put them on the wire
 * (SOFABolt `RpcProtocol`, and `sofa-bolt-node`'s protocol/v1.js which reads them the same way).
 *
 * ```
 * request  (22-byte fixed part): proto(1)=1 type(1) cmdcode(2) ver2(1) requestId(4) codec(1) timeout(4)
 *                                classLen(2) headerLen(2) contentLen(4), then class name, header map, content
 * response (20-byte fixed part): proto(1)=1 type(1) cmdcode(2) ver2(1) requestId(4) codec(1) status(2)
 *                                classLen(2) headerLen(2) contentLen(4), then class name, header map, content
 * ```
 * All integers are big-endian. A heartbeat is a request (or response) with cmdcode 0 and no body.
 */

/** The first byte of every Bolt v1 frame. */
export const BOLT_V1 = 0x01;
/** The first byte of a Bolt v2 frame (CRC-protected); not spoken here. */
export const BOLT_V2 = 0x02;

export const REQUEST_HEADER_SIZE = 22;
export const RESPONSE_HEADER_SIZE = 20;

/** The `type` byte. */
export const BoltType = {
  RESPONSE: 0x00,
  REQUEST: 0x01,
  REQUEST_ONEWAY: 0x02,
} as const;

/** The `cmdcode` field. */
export const BoltCommand = {
  HEARTBEAT: 0,
  REQUEST: 1,
  RESPONSE: 2,
} as const;

/** The `codec` byte: how the content (and class) is serialized. */
export const BoltCodec = {
  HESSIAN2: 1,
  PROTOBUF: 11,
} as const;

/** Response `status` values (SOFABolt `ResponseStatus`). */
export const BoltStatus = {
  SUCCESS: 0x0000,
  ERROR: 0x0001,
  SERVER_EXCEPTION: 0x0002,
  UNKNOWN: 0x0003,
  SERVER_THREADPOOL_BUSY: 0x0004,
  ERROR_COMM: 0x0005,
  NO_PROCESSOR: 0x0006,
  TIMEOUT: 0x0007,
  CLIENT_SEND_ERROR: 0x0008,
  CODEC_EXCEPTION: 0x0009,
  CONNECTION_CLOSED: 0x0010,
  SERVER_SERIAL_EXCEPTION: 0x0011,
  SERVER_DESERIAL_EXCEPTION: 0x0012,
} as const;

export type BoltStatus = (typeof BoltStatus)[keyof typeof BoltStatus];

/** The class names SOFARPC puts in requests and responses. */
export const SOFA_REQUEST_CLASS = 'com.alipay.sofa.rpc.core.request.SofaRequest';
export const SOFA_RESPONSE_CLASS = 'com.alipay.sofa.rpc.core.response.SofaResponse';
export const RPC_SERVER_EXCEPTION_CLASS = 'com.alipay.remoting.rpc.exception.RpcServerException';

/** Header-map keys SOFARPC clients send. `service` is `interface:version[:uniqueId]`. */
export const BoltHeader = {
  SERVICE: 'service',
  METHOD: 'sofa_head_method_name',
  TARGET_SERVICE: 'sofa_head_target_service',
  TARGET_APP: 'sofa_head_target_app',
  RESPONSE_ERROR: 'sofa_head_response_error',
} as const;

/** Largest frame accepted by default (class + header + content + fixed part): 16 MiB. */
export const DEFAULT_MAX_BOLT_FRAME_SIZE = 16 * 1024 * 1024;
/** Most header-map entries accepted by default. */
export const DEFAULT_MAX_BOLT_HEADERS = 1024;
