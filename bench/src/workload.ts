/**
 * What one benchmarked call does: a unary Echo with a payload of `payloadBytes`, a ServerStream
 * call that receives `messages` replies of `payloadBytes` each, or a Bidi call that sends `messages`
 * requests of `payloadBytes` each and receives each one echoed.
 */
export type Workload =
  | { readonly kind: 'unary'; readonly payloadBytes: number }
  | { readonly kind: 'stream' | 'bidi'; readonly payloadBytes: number; readonly messages: number };

/** Long label, for progress lines and headings: `unary 100 B`, `stream 10×100 B`, `bidi 10×100 B`. */
export function workloadLabel(w: Workload): string {
  return w.kind === 'unary' ? `unary ${w.payloadBytes} B` : `${w.kind} ${w.messages}×${w.payloadBytes} B`;
}

/** Short label, for comparison columns: `u100`, `s10×100`, `b10×100`. */
export function workloadShortLabel(w: Workload): string {
  return w.kind === 'unary' ? `u${w.payloadBytes}` : `${w.kind === 'stream' ? 's' : 'b'}${w.messages}×${w.payloadBytes}`;
}

/** Messages received per call: 1 for unary. */
export function messagesPerCall(w: Workload): number {
  return w.kind === 'unary' ? 1 : w.messages;
}
