/**
 * ChunkWriter: bounded, allocation-free buffering between a synchronous packet path and an
 * asynchronous sink (a file). Records are encoded by the caller straight into the current chunk;
 * full chunks go to a queue that one async loop writes out, oldest first, and then returns to a
 * free list for reuse.
 *
 *   packet path (sync)                                         writer loop (async, one at a time)
 *   reserve(len) -> off; encode into `chunk` at off; commit(len)
 *
 *     current chunk            queue (oldest first)                    free list
 *   +-----------+------+     +----------+----------+               +----------+
 *   | records.. | room | --> | chunk c1 | chunk c2 | --> sink.write | chunk c3 | --> reused as current
 *   +-----------+------+     +----------+----------+   (c1 first)   +----------+
 *     `fill` bytes used        c1 in flight until its write resolves
 *
 * Bounds: `bufferedBytes` counts what waits to be written (queued chunks' contents plus the
 * current chunk's fill). `reserve` refuses a record that would take it past `maxBufferedBytes`,
 * and refuses when a chunk is needed but `maxChunks` are alive and none is free: the caller drops
 * the packet and counts it. Metadata blocks (`appendMeta`: headers, interface descriptions,
 * statistics) bypass the bound, so that a file is never missing the blocks its packets refer to.
 *
 * Chunk memory: the first chunk at construction, later ones on demand up to `maxChunks`, each
 * kept for reuse. A chunk is allocated at most `maxChunks` times (plus one per forced flush under
 * pressure, trimmed when it comes back), never per packet.
 *
 * Single-threaded: the packet path and the writer loop run on the same event loop, so the queue
 * needs no locking; the loop only touches the head of the queue, the packet path only the tail.
 */

import { PktError } from '../errors.js';

/** Where the bytes go. `write` resolves with the number of bytes written (it may be fewer). */
export interface CaptureSink {
  write(buf: Uint8Array, off: number, len: number): Promise<number>;
  close(): Promise<void>;
}

const State = {
  Open: 0,
  /** A write failed: everything after is dropped; close() rejects with the error. */
  Failed: 1,
  /** close() was called: no more records; the queue is being drained. */
  Closing: 2,
} as const;
type State = (typeof State)[keyof typeof State];

export class ChunkWriter {
  /** The chunk to encode into after a successful `reserve`. Changes when a chunk fills up. */
  chunk: Uint8Array;
  private fill = 0;
  private buffered = 0;
  private written = 0;
  private state: State = State.Open;
  private error: unknown = null;
  private alive = 1;
  private readonly queue: Uint8Array[] = [];
  private readonly queueLens: number[] = [];
  private readonly free: Uint8Array[] = [];
  /** True while the writer loop runs; `draining` is its promise (kept separately: see kick). */
  private writing = false;
  private draining: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private readonly sink: CaptureSink;
  private readonly chunkSize: number;
  private readonly maxBuffered: number;
  private readonly maxChunks: number;
  private readonly label: string;

  /**
   * `chunkSize` must hold the largest record the caller will reserve. `label` names the sink in
   * error messages (the file's path).
   */
  constructor(sink: CaptureSink, chunkSize: number, maxBufferedBytes: number, label: string) {
    this.sink = sink;
    this.chunkSize = chunkSize;
    this.maxBuffered = maxBufferedBytes;
    // One chunk being filled, the rest queued: enough to hold maxBufferedBytes.
    this.maxChunks = Math.max(2, Math.ceil(maxBufferedBytes / chunkSize) + 1);
    this.label = label;
    this.chunk = new Uint8Array(chunkSize);
  }

  /** Bytes accepted but not yet written. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Bytes the sink has taken. */
  get writtenBytes(): number {
    return this.written;
  }

  /**
   * Makes room for a record of `len` bytes and returns its offset in `chunk`, or -1 when it must
   * be dropped (buffer bound reached, writer failed or closing). Follow with `commit(len)`.
   * Allocation-free except when a new chunk is first needed.
   */
  reserve(len: number): number {
    if (this.state !== State.Open || this.buffered + len > this.maxBuffered) return -1;
    if (this.fill + len > this.chunk.length && !this.rotate()) return -1;
    return this.fill;
  }

  /** Accepts the `len` bytes just written at the offset `reserve` returned. */
  commit(len: number): void {
    this.fill += len;
    this.buffered += len;
  }

  /**
   * Appends a metadata block, outside the buffer bound. Ignored once the writer is closing.
   * `block.length` must not exceed the chunk size.
   */
  appendMeta(block: Uint8Array): void {
    if (this.state === State.Closing) return;
    if (this.fill + block.length > this.chunk.length) this.handOver(true);
    this.chunk.set(block, this.fill);
    this.commit(block.length);
  }

  /**
   * Hands the partly filled chunk to the writer and resolves once everything accepted so far is
   * in the sink. @throws {PktError} ERR_PKT_IO when a write failed.
   */
  async flush(): Promise<void> {
    if (this.state === State.Open && this.fill > 0) this.handOver(true);
    while (this.writing) await this.draining;
    if (this.error !== null) throw this.ioError();
  }

  /** For a periodic timer: hands over the partial chunk if the writer has nothing to do. */
  flushIfIdle(): void {
    if (this.state === State.Open && this.fill > 0 && this.queue.length === 0) this.handOver(false);
  }

  /**
   * Writes everything accepted, then closes the sink. Idempotent: every call returns the same
   * promise. @throws {PktError} ERR_PKT_IO when a write or the close failed.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    this.state = State.Closing;
    if (this.fill > 0) {
      this.enqueue(this.chunk, this.fill);
      this.fill = 0;
    }
    this.kick();
    while (this.writing) await this.draining;
    let failure = this.error;
    try {
      await this.sink.close();
    } catch (err) {
      failure ??= err;
    }
    if (failure !== null) {
      this.error = failure;
      throw this.ioError();
    }
  }

  /** The current chunk is full: queue it and continue in a free one. */
  private rotate(): boolean {
    if (this.fill === 0) return false; // a record larger than a chunk: never fits
    return this.handOver(false);
  }

  /** Queues the current chunk and takes a fresh one; `force` may exceed maxChunks by one. */
  private handOver(force: boolean): boolean {
    let next = this.free.pop();
    if (next === undefined) {
      if (this.alive >= this.maxChunks && !force) return false;
      this.alive++;
      next = new Uint8Array(this.chunkSize);
    }
    this.enqueue(this.chunk, this.fill);
    this.chunk = next;
    this.fill = 0;
    this.kick();
    return true;
  }

  private enqueue(chunk: Uint8Array, len: number): void {
    this.queue.push(chunk);
    this.queueLens.push(len);
  }

  private kick(): void {
    if (this.writing || this.queue.length === 0 || this.error !== null) return;
    // `writing` is set before the loop starts and cleared by the loop itself, so that a loop that
    // ends synchronously (a sink that throws at once) cannot leave a stale "running" marker.
    this.writing = true;
    this.draining = this.drain();
  }

  /** The writer loop: one per burst of queued chunks, started by `kick`. Never rejects. */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const chunk = this.queue[0]!;
        const len = this.queueLens[0]!;
        let off = 0;
        while (off < len) {
          const n = await this.sink.write(chunk, off, len - off);
          if (!(n > 0)) throw new Error(`sink wrote ${String(n)} bytes`);
          off += n;
        }
        this.queue.shift();
        this.queueLens.shift();
        this.buffered -= len;
        this.written += len;
        this.release(chunk);
      }
    } catch (err) {
      this.error = err;
      if (this.state === State.Open) this.state = State.Failed;
    } finally {
      this.writing = false;
    }
  }

  private release(chunk: Uint8Array): void {
    if (chunk.length !== this.chunkSize || this.alive > this.maxChunks) {
      this.alive--;
      return;
    }
    this.free.push(chunk);
  }

  private ioError(): PktError {
    const e = this.error;
    const msg = e instanceof Error ? e.message : String(e);
    return new PktError('ERR_PKT_IO', `capture: writing ${this.label} failed: ${msg}`, { cause: e });
  }
}
