/**
 * A request body as the HTTP front end sends it on each attempt, kept for retries the way Envoy's
 * router buffers one: up to a byte limit (the route's `per_request_buffer_limit_bytes`, capped by
 * the listener's `per_connection_buffer_limit_bytes`, 1 MiB by default). A body within the limit is
 * sent again, byte for byte, on every retry; a larger one is still sent (streamed), but once past the
 * limit the request can no longer be retried.
 *
 * Bytes, strings and Blobs are re-sent as they are. Streams and async iterables (which is what
 * undici's `fetch` hands a dispatcher, whatever the caller's body was) are teed: the first attempt
 * streams the body as it arrives while the chunks are kept; a retry sends the kept chunks, then
 * the rest as it arrives. Nothing is buffered ahead of the upstream, so a body that is still being
 * produced flows as it would without the mesh.
 *
 * A streamed body reports each chunk it hands an attempt to its observer (the stream idle timeout
 * counts request traffic too); bytes, strings and Blobs go out at once and report nothing.
 */
import type { Blob } from 'node:buffer';
import type { RouteDecision } from '@xmesh/router';
import { streamBufferLimit } from '@xmesh/filters';

/** The most of a request body kept for retries (or a mirror's copy): the stream's buffer limit, as Envoy. */
export const bodyBufferLimit: (decision: RouteDecision | undefined) => number = streamBufferLimit;

export interface RequestBody {
  /** True while a new attempt can still be sent the whole body. */
  readonly replayable: boolean;
  /** True once the caller's whole body was read and is kept: a new attempt can send all of it at once (hedging). */
  readonly whole: boolean;
  /**
   * The whole body as bytes for a mirror's copy (null: none), once it was read; undefined when it
   * cannot be copied (a stream not kept, more than the limit, the caller's body failed or was closed).
   * Kept chunks stay for the copy even after `release`.
   */
  copy(): Promise<Buffer | null | undefined>;
  /** The body for the next attempt (undici `DispatchOptions.body`). */
  forAttempt(): unknown;
  /** The caller's body failed while an attempt was reading it (set once it did). */
  readonly sourceError: Error | undefined;
  /** A response reached the caller: no retry from here on, so nothing more is kept. */
  release(): void;
  /** The call ended before its response (local reply, caller abort): stop reading the caller's body. */
  close(error: Error): void;
}

/** Told of each chunk of a streamed body as it goes upstream. */
export interface BodyObserver {
  bodyChunkSent(): void;
}

/** A body sent unchanged on each attempt: none, bytes, a string, a Blob; or a stream sent once (`sent` wraps it). */
class FixedBody implements RequestBody {
  readonly sourceError = undefined;

  constructor(
    private readonly body: unknown,
    readonly replayable: boolean,
    private readonly sent: unknown = body,
  ) {}

  get whole(): boolean {
    return this.replayable;
  }

  forAttempt(): unknown {
    return this.sent;
  }

  async copy(): Promise<Buffer | null | undefined> {
    const body = this.body;
    if (body === null || body === undefined) return null;
    if (typeof body === 'string') return Buffer.from(body);
    if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (isBlob(body) && this.replayable) return Buffer.from(await body.arrayBuffer());
    return undefined;
  }

  release(): void {}

  close(error: Error): void {
    stopReading(this.body, error);
  }
}

/** No body: every attempt sends none. Shared. */
const NO_BODY: RequestBody = new FixedBody(null, true);

/**
 * The request body of one call. `limit` is the most kept for retries; `retries` is false when the
 * route cannot retry, and then nothing is kept (the body passes through untouched).
 */
export function requestBodyOf(body: unknown, retries: boolean, limit: number, observer?: BodyObserver): RequestBody {
  if (body === null || body === undefined) return NO_BODY;
  if (typeof body === 'string') return new FixedBody(body, retries && Buffer.byteLength(body) <= limit);
  if (body instanceof Uint8Array) return new FixedBody(body, retries && body.byteLength <= limit);
  if (isBlob(body)) return new FixedBody(body, retries && body.size <= limit);
  if (retries && isAsyncIterable(body)) return new TeeBody(body, limit, observer);
  // A stream without retries, or a shape undici reads once: sent as is (observed), never again.
  if (observer !== undefined && isAsyncIterable(body)) return new FixedBody(body, false, observed(body, observer));
  return new FixedBody(body, false);
}

/** `body`'s chunks, each reported to `observer` as it is handed on. */
async function* observed(body: AsyncIterable<unknown>, observer: BodyObserver): AsyncGenerator<unknown> {
  for await (const chunk of body) {
    observer.bodyChunkSent();
    yield chunk;
  }
}

/** One chunk of the caller's body as bytes. */
function bytesOf(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return Buffer.from(chunk);
  throw new TypeError(`request body chunk must be bytes or a string, got ${typeof chunk}`);
}

/**
 * A streamed body read once from the caller and handed to each attempt in turn. Attempts read
 * through one shared pull, so an attempt given up while it waited for the next chunk cannot take a
 * chunk from its successor: every chunk read is kept (until the limit) before any attempt sends it.
 */
class TeeBody implements RequestBody {
  private readonly source: AsyncIterator<unknown>;
  /** Chunks read so far; undefined once they passed the limit (then nothing more is kept). */
  private kept: Buffer[] | undefined = [];
  private keptBytes = 0;
  private ended = false;
  private closed = false;
  private pulling: Promise<Buffer | null> | undefined = undefined;
  /** Mirror copies waiting for the whole body (never pulling themselves: only attempts read the caller's body). */
  private copies: ((body: Buffer | undefined) => void)[] = [];
  private released = false;
  sourceError: Error | undefined = undefined;

  constructor(
    private readonly body: AsyncIterable<unknown>,
    private readonly limit: number,
    private readonly observer: BodyObserver | undefined,
  ) {
    this.source = body[Symbol.asyncIterator]();
  }

  get replayable(): boolean {
    return this.kept !== undefined && !this.closed && this.sourceError === undefined;
  }

  get whole(): boolean {
    return this.ended && this.replayable;
  }

  forAttempt(): AsyncIterable<Buffer> {
    return this.attemptChunks();
  }

  release(): void {
    this.released = true;
    if (this.copies.length === 0) this.kept = undefined;
  }

  /** Resolves once the attempts read the whole body (kept within the limit); a copy never reads the caller's body itself. */
  copy(): Promise<Buffer | null | undefined> {
    if (!this.replayable) return Promise.resolve(undefined);
    if (this.ended) return Promise.resolve(Buffer.concat(this.kept!));
    return new Promise((resolve) => this.copies.push(resolve));
  }

  close(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.kept = undefined;
    this.settleCopies();
    if (!this.ended) stopReading(this.body, error);
  }

  /** Hands the waiting copies the whole body, or undefined when it is not kept (past the limit, failed, closed). */
  private settleCopies(): void {
    if (this.copies.length === 0) return;
    const copies = this.copies;
    this.copies = [];
    const body = this.kept !== undefined && this.ended && this.sourceError === undefined ? Buffer.concat(this.kept) : undefined;
    for (const resolve of copies) resolve(body);
    if (this.released) this.kept = undefined;
  }

  private async *attemptChunks(): AsyncGenerator<Buffer> {
    let index = 0;
    for (;;) {
      const kept = this.kept;
      if (kept !== undefined && index < kept.length) {
        yield kept[index++]!;
        continue;
      }
      if (this.ended || this.closed) return;
      const chunk = await this.pull();
      if (chunk === null) return;
      this.observer?.bodyChunkSent();
      // Kept: the loop sends it from `kept`. Past the limit: this attempt is the last; send it on.
      if (this.kept === undefined) yield chunk;
    }
  }

  /** The next chunk of the caller's body (kept while within the limit), or null at its end. */
  private pull(): Promise<Buffer | null> {
    this.pulling ??= this.source.next().then(
      (result) => {
        this.pulling = undefined;
        if (result.done === true) {
          this.ended = true;
          this.settleCopies();
          return null;
        }
        const chunk = bytesOf(result.value);
        this.keep(chunk);
        return chunk;
      },
      (error: unknown) => {
        this.pulling = undefined;
        this.sourceError = error instanceof Error ? error : new Error(String(error));
        this.settleCopies();
        throw this.sourceError;
      },
    );
    return this.pulling;
  }

  private keep(chunk: Buffer): void {
    if (this.kept === undefined) return;
    this.keptBytes += chunk.length;
    if (this.keptBytes > this.limit) {
      this.kept = undefined;
      this.settleCopies();
    } else this.kept.push(chunk);
  }
}

/** What `bufferRequestBody` read: the bytes (all of them, or the first `limit`), `none`, or `too_large`. */
export type BodyRead = { readonly bytes: Buffer; readonly complete: boolean } | 'none' | 'too_large';

/**
 * Reads the caller's `body` (undici's DispatchOptions.body) up to `limit` bytes for a filter that needs it
 * before the request goes on (buffer, ext_authz's with_request_body). `done` gets what was read and the body
 * to send from then on (the bytes, followed by the rest when only part was read), or the error the caller's
 * body failed with. Never synchronous. Over the limit without `partial`, reading stops (`too_large`).
 */
export function bufferRequestBody(body: unknown, limit: number, partial: boolean, done: (read: BodyRead | Error, replacement: unknown) => void): void {
  const whole = (bytes: Buffer): void => {
    if (bytes.length <= limit) done({ bytes, complete: true }, bytes);
    else if (partial) done({ bytes: bytes.subarray(0, limit), complete: false }, bytes);
    else done('too_large', undefined);
  };
  if (body === null || body === undefined) {
    process.nextTick(done, 'none', body);
    return;
  }
  if (typeof body === 'string' || body instanceof Uint8Array) {
    process.nextTick(whole, bytesOf(body));
    return;
  }
  if (isBlob(body)) {
    body.arrayBuffer().then((buffer) => whole(Buffer.from(buffer)), (error: unknown) => done(asError(error), undefined));
    return;
  }
  if (!isAsyncIterable(body)) {
    process.nextTick(done, new Error(`a request body of this kind cannot be read before it is sent (${typeof body})`), undefined);
    return;
  }
  const source = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  const read = (): void => {
    source.next().then(
      (result) => {
        if (result.done === true) {
          const bytes = Buffer.concat(chunks);
          done(bytes.length === 0 && chunks.length === 0 ? 'none' : { bytes, complete: true }, bytes);
          return;
        }
        const chunk = bytesOf(result.value);
        if (size + chunk.length <= limit) {
          chunks.push(chunk);
          size += chunk.length;
          read();
          return;
        }
        if (!partial) {
          done('too_large', undefined);
          return;
        }
        const head = Buffer.concat([...chunks, chunk.subarray(0, limit - size)]);
        done({ bytes: head, complete: false }, prefixed(Buffer.concat([...chunks, chunk]), source));
      },
      (error: unknown) => done(asError(error), undefined),
    );
  };
  read();
}

/** `head`, then what `rest` still yields. */
async function* prefixed(head: Buffer, rest: AsyncIterator<unknown>): AsyncGenerator<Buffer> {
  yield head;
  for (;;) {
    const result = await rest.next();
    if (result.done === true) return;
    yield bytesOf(result.value);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Stops the caller's body: a Node stream is destroyed with `error` (with a listener of its own, as
 * undici adds one, so a caller that listens for none does not get an uncaught 'error'), an async
 * generator is asked to return.
 */
export function stopReading(body: unknown, error: Error): void {
  if (typeof body !== 'object' || body === null) return;
  const stream = body as { destroy?: (error?: Error) => void; on?: (event: string, listener: () => void) => void; destroyed?: boolean; return?: () => Promise<unknown> };
  if (typeof stream.destroy === 'function') {
    if (stream.destroyed === true) return;
    stream.on?.('error', ignoreError);
    stream.destroy(error);
  } else if (typeof stream.return === 'function') {
    void stream.return().catch(ignoreError);
  }
}

function ignoreError(): void {}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

function isBlob(value: unknown): value is Blob {
  return typeof value === 'object' && value !== null && typeof (value as Blob).arrayBuffer === 'function' && typeof (value as Blob).size === 'number';
}
