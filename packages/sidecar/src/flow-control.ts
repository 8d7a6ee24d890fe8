/**
 * HTTP/2 flow-control windows of the sidecar's sessions, both towards clients and towards
 * upstreams. Node's defaults (64 KiB per stream and per connection) make a large body wait for a
 * WINDOW_UPDATE every 64 KiB, and let one large body on a shared upstream session stall every
 * other stream on it. The sidecar advertises 1 MiB per stream (unless `http2Settings` sets
 * `initialWindowSize`) and opens each session's connection window to 16 MiB. A paused stream
 * holds at most its window, so memory per stream stays bounded.
 */
import type { Http2Session, Settings } from 'node:http2';

/** Per-stream receive window advertised when the settings do not name one. */
export const DEFAULT_STREAM_WINDOW = 1024 * 1024;
/** Per-session (connection-level) receive window. */
export const CONNECTION_WINDOW = 16 * 1024 * 1024;

/** `settings` with the default stream window filled in. */
export function withStreamWindow(settings: Settings | undefined): Settings {
  return settings?.initialWindowSize === undefined ? { ...settings, initialWindowSize: DEFAULT_STREAM_WINDOW } : settings;
}

/** Opens a connected session's connection window (never narrows one the settings made larger). */
export function widenConnectionWindow(session: Http2Session, streamWindow: number | undefined): void {
  if (session.destroyed) return;
  session.setLocalWindowSize(Math.max(CONNECTION_WINDOW, streamWindow ?? 0));
}
