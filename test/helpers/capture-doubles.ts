/**
 * Test doubles for the capture tests: back-to-back device pairs (a minimal stand-in for PipeL2 /
 * PipeL3, which may not exist while src/capture is built), capture sinks (in memory, slow,
 * failing), a stepping clock, and an Ethernet frame builder.
 */

import type { AddrListener, FrameHandler, L2Device, L3Device, PacketHandler } from '../../src/core/device.js';
import type { CaptureSink } from '../../src/capture/index.js';
import { IpPrefix } from '../../src/wire/addr.js';
import { setBe16, writeMac } from '../../src/wire/bytes.js';

/**
 * One end of a back-to-back L2 pair: a frame given to this end's `send` comes out of the other
 * end's handler, synchronously, as across a cable. Each end copies nothing.
 */
export class PipeEndL2 implements L2Device {
  readonly hwAddr: number;
  peer: PipeEndL2 | null = null;
  handler: FrameHandler | null = null;
  closeCalls = 0;
  /** Called with each frame given to `send`, before it crosses (for mutation tests). */
  onSend: ((frame: Uint8Array) => void) | null = null;

  constructor(mac: number) {
    this.hwAddr = mac;
  }

  setHandler(handler: FrameHandler): void {
    this.handler = handler;
  }

  send(frame: Uint8Array): void {
    this.onSend?.(frame);
    this.peer?.handler?.(frame);
  }

  close(): void {
    this.closeCalls++;
  }
}

export function pipeL2(macA: number, macB: number): [PipeEndL2, PipeEndL2] {
  const a = new PipeEndL2(macA);
  const b = new PipeEndL2(macB);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** One end of a back-to-back L3 pair, with an address and (optionally) address watchers. */
export class PipeEndL3 implements L3Device {
  peer: PipeEndL3 | null = null;
  handler: PacketHandler | null = null;
  closeCalls = 0;
  private prefix: IpPrefix | null = null;
  private readonly listeners = new Set<AddrListener>();
  readonly watchAddr: ((listener: AddrListener) => () => void) | undefined;

  constructor(withWatch = true) {
    this.watchAddr = withWatch
      ? (listener) => {
          this.listeners.add(listener);
          return () => this.listeners.delete(listener);
        }
      : undefined;
  }

  get addr(): IpPrefix | null {
    return this.prefix;
  }

  setAddr(addr: IpPrefix | string | null): void {
    this.prefix = addr === null ? null : IpPrefix.from(addr);
    for (const l of this.listeners) l(this.prefix);
  }

  setHandler(handler: PacketHandler): void {
    this.handler = handler;
  }

  send(packet: Uint8Array): void {
    this.peer?.handler?.(packet);
  }

  close(): Promise<void> {
    this.closeCalls++;
    return Promise.resolve();
  }
}

export function pipeL3(withWatch = true): [PipeEndL3, PipeEndL3] {
  const a = new PipeEndL3(withWatch);
  const b = new PipeEndL3(withWatch);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Collects everything written, in order. */
export class MemorySink implements CaptureSink {
  private readonly parts: Uint8Array[] = [];
  closed = false;
  writes = 0;

  write(buf: Uint8Array, off: number, len: number): Promise<number> {
    this.writes++;
    this.parts.push(buf.slice(off, off + len));
    return Promise.resolve(len);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  bytes(): Uint8Array {
    const total = this.parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

/**
 * A sink whose writes stay pending until `release()` (or, after `autoRelease()`, resolve at once):
 * the disk that cannot keep up. The bytes are copied when the write resolves, as a real write
 * would read them, so a writer that reused a chunk too early would show corrupt data.
 */
export class SlowSink extends MemorySink {
  private readonly pending: (() => void)[] = [];
  private auto = false;

  override write(buf: Uint8Array, off: number, len: number): Promise<number> {
    if (this.auto) return super.write(buf, off, len);
    return new Promise((resolve) => {
      this.pending.push(() => {
        void super.write(buf, off, len);
        resolve(len);
      });
    });
  }

  get pendingWrites(): number {
    return this.pending.length;
  }

  /** Completes the writes waiting now. */
  release(): void {
    for (const done of this.pending.splice(0)) done();
  }

  /** Completes waiting writes and every later one at once. */
  autoRelease(): void {
    this.auto = true;
    this.release();
  }
}

/** A sink whose writes fail, as a full disk. */
export class FailingSink implements CaptureSink {
  closed = false;
  write(): Promise<number> {
    return Promise.reject(new Error('ENOSPC: no space left on device'));
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/**
 * A clock that returns `start`, then moves by `stepMs` on every call.
 *
 * V8 note: the fields get numeric initializers. A field declared without one is first defined as
 * undefined (ES class-field semantics), so it is "tagged" and every double stored into it later
 * allocates a heap number: the clock itself would allocate per packet and spoil allocation tests.
 */
export class StepClock {
  t = 0.5;
  stepMs = 0.5;
  calls = 0;
  constructor(start: number, stepMs: number) {
    this.t = start;
    this.stepMs = stepMs;
  }
  now(): number {
    const v = this.t;
    this.t += this.stepMs;
    this.calls++;
    return v;
  }
}

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;

/** An Ethernet II frame around `payload`. */
export function ethFrame(dst: number, src: number, etherType: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  writeMac(f, 0, dst);
  writeMac(f, 6, src);
  setBe16(f, 12, etherType);
  f.set(payload, 14);
  return f;
}

/** An Ethernet frame for an IP packet, the EtherType chosen by its version nibble. */
export function ethForIp(dst: number, src: number, ip: Uint8Array): Uint8Array {
  return ethFrame(dst, src, ip[0]! >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4, ip);
}
