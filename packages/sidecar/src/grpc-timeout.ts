/** Parses a gRPC `grpc-timeout` header (`<1..8 digits><H|M|S|m|u|n>`) into milliseconds; undefined when absent or malformed. */
export function grpcTimeoutMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  switch (match[2]) {
    case 'H': return amount * 3_600_000;
    case 'M': return amount * 60_000;
    case 'S': return amount * 1000;
    case 'm': return amount;
    case 'u': return amount / 1000;
    default: return amount / 1_000_000;
  }
}
