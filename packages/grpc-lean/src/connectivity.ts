/** Connectivity states, numbered as grpc-js `connectivityState`. */
export const ConnectivityState = {
  IDLE: 0,
  CONNECTING: 1,
  READY: 2,
  TRANSIENT_FAILURE: 3,
  SHUTDOWN: 4,
} as const;

export type ConnectivityStateValue = (typeof ConnectivityState)[keyof typeof ConnectivityState];
