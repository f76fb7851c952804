/**
 * vtcp rows: TCP segment parse and marshal (wire/tcp.ts) with and without options, and bulk
 * throughput between two Tcbs in one thread.
 *
 * The bulk pair is two Tcbs joined by two rings of fixed 2 KiB slots (one per direction): a
 * Tcb's emitted segment is marshalled into the next slot (emitTcp plus the payload), and the
 * loop parses each slot back (parseTcp) and hands it to the other Tcb, as a stack in one worker
 * would. Time is a clock advanced by hand (a few µs per round), so only the Tcbs' own work and
 * the marshalling are measured. The writer keeps A's send buffer full from one 64 KiB buffer,
 * the reader empties B's receive buffer into another. `BulkPair` is exported for the allocation
 * test (test/vtcp/engine/alloc.test.ts), which runs the same loop.
 */

import type { Clock, TimerHandle } from '../src/core/clock.js';
import { TcpView, emitTcp, newTcpFields, parseTcp, type TcpFields } from '../src/wire/tcp.js';
import type { SegmentSink, TcbOptions } from '../src/vtcp/contract.js';
import { ByteCopier } from '../src/vtcp/recv-buffer.js';
import { Tcb } from '../src/vtcp/tcb.js';
import type { Row } from './harness.js';

const SLOT = 2048;
const SLOTS = 1024;
const INNER = 1000;

interface LoopTimer extends TimerHandle {
  fn: (() => void) | null;
  at: number;
}

/** A hand-driven clock whose timers are reused objects: arming one allocates nothing. */
export class LoopClock implements Clock {
  t = 0;
  private readonly timers: LoopTimer[] = [];
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, delayMs: number): TimerHandle {
    let tm: LoopTimer | undefined;
    for (const x of this.timers) {
      if (x.fn === null) {
        tm = x;
        break;
      }
    }
    if (tm === undefined) {
      tm = { __timer: true, fn: null, at: 0 };
      this.timers.push(tm);
    }
    tm.fn = fn;
    tm.at = this.t + delayMs;
    return tm;
  }
  clearTimer(handle: TimerHandle): void {
    (handle as LoopTimer).fn = null;
  }
  /** Runs the timers due at `t`. */
  run(): void {
    for (const x of this.timers) {
      if (x.fn !== null && x.at <= this.t) {
        const fn = x.fn;
        x.fn = null;
        fn();
      }
    }
  }
}

/** One direction: segments marshalled into fixed slots, delivered in order. */
class SlotLink implements SegmentSink {
  readonly buf = new Uint8Array(SLOT * SLOTS);
  readonly lens = new Int32Array(SLOTS);
  private readonly copier = new ByteCopier(this.buf);
  head = 0;
  count = 0;
  drops = 0;
  emit(f: TcpFields, payload: Uint8Array, off: number, len: number): void {
    if (this.count === SLOTS) {
      this.drops++;
      return;
    }
    const slot = (this.head + this.count) & (SLOTS - 1);
    const o = slot * SLOT;
    const hl = emitTcp(f, this.buf, o);
    if (len > 0) this.copier.toRing(this.buf, o + hl, payload, off, len);
    this.lens[slot] = hl + len;
    this.count++;
  }
  /** Hands up to `max` queued segments to `to`, in order; returns how many. */
  deliver(to: Tcb, view: TcpView, fields: TcpFields, max = SLOTS): number {
    let n = 0;
    while (this.count > 0 && n < max) {
      const slot = this.head;
      view.reset(this.buf, slot * SLOT, this.lens[slot]!);
      parseTcp(view, fields);
      this.head = (slot + 1) & (SLOTS - 1);
      this.count--;
      to.input(fields, this.buf, view.payloadOff, view.payloadLen);
      n++;
    }
    return n;
  }
}

/** Two connected Tcbs, A sending to B as fast as the loop runs. */
export class BulkPair {
  readonly clock = new LoopClock();
  readonly ab = new SlotLink();
  readonly ba = new SlotLink();
  readonly a: Tcb;
  readonly b: Tcb;
  private readonly view = new TcpView();
  private readonly fields = newTcpFields();
  private readonly src = new Uint8Array(64 * 1024);
  private readonly dst = new Uint8Array(64 * 1024);
  received = 0;

  /** `issA`/`issB`: the two ISSs (high by default: sequence numbers at or above 2^31). */
  constructor(opts: Partial<TcbOptions> = {}, issA = 0x9000_0000, issB = 0xc000_0000) {
    const o = { clock: this.clock, random: () => 0.25, sendBufferSize: 1 << 20, recvBufferSize: 1 << 20, ...opts };
    this.a = new Tcb(this.ab, o);
    this.b = new Tcb(this.ba, o);
    for (let i = 0; i < this.src.length; i++) this.src[i] = i & 0xff;
    this.a.connect(40000, 80, issA);
    // B answers the SYN like a listener would.
    const syn = this.ab;
    this.view.reset(syn.buf, syn.head * SLOT, syn.lens[syn.head]!);
    parseTcp(this.view, this.fields);
    syn.head = (syn.head + 1) & (SLOTS - 1);
    syn.count--;
    this.b.acceptSyn(this.fields, syn.buf, 0, 0, issB);
    this.round();
    this.round();
  }

  /** One round: top up A, deliver up to `max` segments A->B, drain B, deliver B->A, move time on. */
  round(max = SLOTS): number {
    const a = this.a;
    const w = a.writable;
    if (w > 0 && a.synchronized) a.write(this.src, 0, w < this.src.length ? w : this.src.length);
    const n = this.ab.deliver(this.b, this.view, this.fields, max);
    let got = 0;
    for (;;) {
      const r = this.b.read(this.dst, 0, this.dst.length);
      if (r === 0) break;
      got += r;
    }
    this.received += got;
    this.ba.deliver(a, this.view, this.fields);
    this.clock.t += 0.005;
    this.clock.run();
    return n;
  }

  /** Runs rounds until exactly `segments` segments went A->B (nearly all full-sized data). */
  run(segments: number): number {
    let n = 0;
    while (n < segments) n += this.round(segments - n);
    return n;
  }
}

function segment(opts: boolean): { bytes: Uint8Array; fields: TcpFields } {
  const f = newTcpFields();
  f.srcPort = 40000;
  f.dstPort = 80;
  f.seq = 0x9000_0000;
  f.ack = 0x1234_5678;
  f.flags = 0x18;
  f.window = 4096;
  if (opts) {
    f.hasTimestamps = true;
    f.tsVal = 0x8000_0001;
    f.tsEcr = 0x7000_0002;
    f.sackCount = 2;
    f.sackBlocks.set([0x1234_6000, 0x1234_7000, 0x1234_8000, 0x1234_9000]);
  }
  const bytes = new Uint8Array(1500);
  emitTcp(f, bytes, 0);
  return { bytes, fields: f };
}

export function vtcpRows(): Row[] {
  let sink = 0;
  const view = new TcpView();
  const out = newTcpFields();
  const plain = segment(false);
  const withOpts = segment(true);
  const parse = (bytes: Uint8Array) => (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      parseTcp(view.reset(bytes, 0, bytes.length), out);
      s += out.window + out.sackCount;
    }
    sink = (sink + s) | 0;
    return sink;
  };
  const marshal = (f: TcpFields) => (): number => {
    let s = 0;
    const buf = new Uint8Array(1500);
    for (let i = 0; i < INNER; i++) s += emitTcp(f, buf, 0);
    sink = (sink + s) | 0;
    return sink;
  };
  const bulk = (opts: Partial<TcbOptions>) => {
    const pair = new BulkPair(opts);
    pair.run(20_000); // past slow start
    return (): number => pair.run(100);
  };
  return [
    { name: 'TCP segment parse', fn: parse(plain.bytes), inner: INNER },
    { name: 'TCP segment parse (timestamps + 2 SACK blocks)', fn: parse(withOpts.bytes), inner: INNER, baseline: 'TCP segment parse' },
    { name: 'TCP segment marshal', fn: marshal(plain.fields), inner: INNER },
    { name: 'TCP segment marshal (timestamps + 2 SACK blocks)', fn: marshal(withOpts.fields), inner: INNER, baseline: 'TCP segment marshal' },
    { name: 'vtcp bulk, two Tcbs in one thread (SACK + timestamps)', fn: bulk({}), inner: 100, bytes: 1448 },
    { name: 'vtcp bulk, two Tcbs in one thread (no options)', fn: bulk({ sack: false, timestamps: false }), inner: 100, bytes: 1460, baseline: 'vtcp bulk, two Tcbs in one thread (SACK + timestamps)' },
  ];
}

/** Mbit/s of payload A->B over `mb` MiB in one thread (for reports). */
export function bulkMbits(mb = 200, opts: Partial<TcbOptions> = {}): number {
  const pair = new BulkPair(opts);
  pair.run(20_000);
  const start = pair.received;
  const t0 = performance.now();
  while (pair.received - start < mb * 1024 * 1024) pair.run(1000);
  const ms = performance.now() - t0;
  return ((pair.received - start) * 8) / ms / 1000;
}
