/**
 * Test-only dataplane engines, registered in every port worker as a plugin module:
 *
 *   gen    L2  sends N numbered frames in bursts (one burst per run-loop round, via ctx.defer);
 *              `alloc` builds each frame in a pool frame from ctx.allocFrame (retrying in the next
 *              round when the pool is exhausted), stamped with its own byteOffset; `pattern`
 *              fills the payload with a pattern of the sequence number (always with `alloc`)
 *   sink   L2  counts frames and checks that each stream's sequence numbers arrive in order;
 *              `delayUs` makes it slow (busy-waits per frame), `throwEvery` makes its handler
 *              throw on every frame whose sequence number is a multiple of it, `pattern` checks
 *              the payload pattern; it counts frames carrying the mark stage's mark and frames
 *              that are still where the generator wrote them (shared memory, same byteOffset)
 *   mark   L2  (dp-zc-engines.ts) a stage: writes a mark byte into each frame from its first
 *              device, in place, and forwards it to its second device
 *   crash  L2  fails its worker on command: an uncaught exception, or process.exit
 *   host   L3  an IP host: sends IPv4/UDP packets to given destinations, counts what it receives
 *   stubborn L2 keeps its worker alive after close (a ref'd interval it never clears)
 *
 * Test frames: Ethernet, EtherType 0x88b5 (IEEE 802 local experimental), payload
 * [stream u32][seq u32][origin u32][mark u8][pattern or zero padding to the requested size];
 * origin is the frame's byteOffset in its pool when the generator allocated it (else 0).
 */

import type { L2Device, L3Device } from '../../src/core/device.js';
import type { DataplaneModule, Engine, EngineContext } from '../../src/dataplane/index.js';
import { formatIPv4, parseIPv4, randomLocalMac } from '../../src/wire/addr.js';
import { be32, setBe16, setBe32, writeMac } from '../../src/wire/bytes.js';
import { emitIpv4, newIpv4Fields } from '../../src/wire/ipv4.js';

export const TEST_ETHERTYPE = 0x88b5;
const ETH_HDR = 14;
const STREAM_OFF = ETH_HDR;
const SEQ_OFF = ETH_HDR + 4;
const ORIGIN_OFF = ETH_HDR + 8;
const MARK_OFF = ETH_HDR + 12;
const PATTERN_OFF = ETH_HDR + 13;
const MIN_TEST_FRAME = ETH_HDR + 8;
/** What the mark stage writes at MARK_OFF. */
export const STAGE_MARK = 0x5a;

function patternByte(seq: number, i: number): number {
  return (seq * 7 + i) & 0xff;
}
const BROADCAST = 0xffff_ffff_ffff;

interface SendCommand {
  count: number;
  burst?: number;
  size?: number;
  dst?: number;
  stream?: number;
}

/** Sends numbered frames on every device it is attached to, `burst` per run-loop round. */
class Generator implements Engine<L2Device> {
  private readonly devs: L2Device[] = [];
  private readonly mac: number;
  private sent = 0;
  private received = 0;
  private allocFailed = 0;
  private readonly alloc: boolean;
  private readonly pattern: boolean;
  /** alloc: the pool byteOffsets used, and a view of the whole pool (to look at them later). */
  private readonly offsets = new Set<number>();
  private pool: Uint8Array | null = null;
  private readonly ctx: EngineContext;

  constructor(options: unknown, ctx: EngineContext) {
    const o = (options ?? {}) as { mac?: number; alloc?: boolean; pattern?: boolean };
    this.mac = o.mac ?? randomLocalMac();
    this.alloc = o.alloc === true;
    this.pattern = this.alloc || o.pattern === true;
    this.ctx = ctx;
  }

  private fill(frame: Uint8Array, dst: number, stream: number, seq: number): void {
    writeMac(frame, 0, dst);
    writeMac(frame, 6, this.mac);
    setBe16(frame, 12, TEST_ETHERTYPE);
    setBe32(frame, STREAM_OFF, stream);
    setBe32(frame, SEQ_OFF, seq);
    if (frame.length < PATTERN_OFF) return;
    setBe32(frame, ORIGIN_OFF, this.alloc ? frame.byteOffset : 0);
    frame[MARK_OFF] = 0;
    if (this.pattern) for (let i = PATTERN_OFF; i < frame.length; i++) frame[i] = patternByte(seq, i);
  }

  attach(dev: L2Device): () => void {
    this.devs.push(dev);
    dev.setHandler(() => {
      this.received++;
    });
    return () => {
      const i = this.devs.indexOf(dev);
      if (i !== -1) this.devs.splice(i, 1);
    };
  }

  stats(): unknown {
    return { sent: this.sent, received: this.received, allocFailed: this.allocFailed };
  }

  /**
   * `peek`: how many distinct pool frames the generator used, and in how many of them the last
   * frame written there now carries the mark stage's mark: written by another worker into this
   * worker's pool, in place.
   */
  private peek(): { frames: number; marked: number } {
    let marked = 0;
    for (const off of this.offsets) if (this.pool !== null && this.pool[off + MARK_OFF] === STAGE_MARK) marked++;
    return { frames: this.offsets.size, marked };
  }

  command(name: string, payload: unknown): unknown {
    if (name === 'peek') return this.peek();
    if (name !== 'send') throw new TypeError(`gen: unknown command ${name}`);
    const p = payload as SendCommand;
    const burst = p.burst ?? 64;
    const size = Math.max(MIN_TEST_FRAME, p.size ?? 128);
    const own = new Uint8Array(size);
    const dst = p.dst ?? BROADCAST;
    const stream = p.stream ?? 0;
    let seq = 0;
    return new Promise<{ sent: number }>((resolve) => {
      const step = (): void => {
        const end = Math.min(p.count, seq + burst);
        for (; seq < end; seq++) {
          let frame: Uint8Array = own;
          if (this.alloc) {
            const f = this.ctx.allocFrame(size);
            if (f === null) {
              // The pool is exhausted: try again next round, when frames have come back.
              this.allocFailed++;
              break;
            }
            frame = f;
            if (this.pool === null) this.pool = new Uint8Array(f.buffer);
            this.offsets.add(f.byteOffset);
          }
          this.fill(frame, dst, stream, seq);
          for (let i = 0; i < this.devs.length; i++) this.devs[i]!.send(frame);
          this.sent++;
        }
        if (seq < p.count) this.ctx.defer(step);
        else resolve({ sent: seq });
      };
      this.ctx.defer(step);
    });
  }

  close(): void {
    this.devs.length = 0;
  }
}

/** Counts test frames and checks their order per stream; optionally slow. */
class Sink implements Engine<L2Device> {
  private readonly devs: L2Device[] = [];
  private readonly mac: number;
  private readonly delayMs: number;
  private readonly throwEvery: number;
  private readonly pattern: boolean;
  private readonly ctx: EngineContext;
  private received = 0;
  private bytes = 0;
  private outOfOrder = 0;
  private other = 0;
  private corrupt = 0;
  private marked = 0;
  private inPlace = 0;
  private readonly next = new Map<number, number>();

  constructor(options: unknown, ctx: EngineContext) {
    const o = (options ?? {}) as { mac?: number; delayUs?: number; throwEvery?: number; pattern?: boolean };
    this.mac = o.mac ?? randomLocalMac();
    this.delayMs = (o.delayUs ?? 0) / 1000;
    this.throwEvery = o.throwEvery ?? 0;
    this.pattern = o.pattern === true;
    this.ctx = ctx;
  }

  /** Pattern, mark and place of a frame long enough to have them. */
  private inspect(f: Uint8Array, seq: number): void {
    if (f.length < PATTERN_OFF) return;
    if (f[MARK_OFF] === STAGE_MARK) this.marked++;
    const origin = be32(f, ORIGIN_OFF);
    if (origin !== 0 && origin === f.byteOffset && f.buffer instanceof SharedArrayBuffer) this.inPlace++;
    if (!this.pattern) return;
    for (let i = PATTERN_OFF; i < f.length; i++) {
      if (f[i] !== patternByte(seq, i)) {
        this.corrupt++;
        return;
      }
    }
  }

  private readonly onFrame = (f: Uint8Array): void => {
    if (f.length < MIN_TEST_FRAME || ((f[12]! << 8) | f[13]!) !== TEST_ETHERTYPE) {
      this.other++;
      return;
    }
    const stream = be32(f, STREAM_OFF);
    const seq = be32(f, SEQ_OFF);
    if (this.throwEvery > 0 && seq % this.throwEvery === 0) throw new Error('sink: thrown on purpose');
    const want = this.next.get(stream) ?? 0;
    if (seq !== want && !(this.throwEvery > 0 && seq === want + 1 && want % this.throwEvery === 0)) this.outOfOrder++;
    this.next.set(stream, seq + 1);
    this.received++;
    this.bytes += f.length;
    this.inspect(f, seq);
    if (this.delayMs > 0) {
      const until = performance.now() + this.delayMs;
      while (performance.now() < until);
    }
  };

  attach(dev: L2Device): () => void {
    this.devs.push(dev);
    dev.setHandler(this.onFrame);
    return () => {
      const i = this.devs.indexOf(dev);
      if (i !== -1) this.devs.splice(i, 1);
    };
  }

  stats(): unknown {
    return {
      received: this.received,
      bytes: this.bytes,
      outOfOrder: this.outOfOrder,
      other: this.other,
      corrupt: this.corrupt,
      marked: this.marked,
      inPlace: this.inPlace,
      next: Object.fromEntries(this.next),
    };
  }

  command(name: string, payload: unknown): unknown {
    switch (name) {
      case 'hello': {
        // A broadcast from the sink's MAC, so that switches learn where it is.
        const f = new Uint8Array(60);
        writeMac(f, 0, BROADCAST);
        writeMac(f, 6, this.mac);
        setBe16(f, 12, 0x88b6);
        for (const d of this.devs) d.send(f);
        return this.mac;
      }
      case 'wait':
        return waitFor(this.ctx, () => this.received, payload as { count: number; timeoutMs?: number });
      case 'stall': {
        // Blocks this worker (nothing else runs on it meanwhile): a consumer that stops draining.
        const until = performance.now() + (payload as number);
        while (performance.now() < until);
        return this.received;
      }
      default:
        throw new TypeError(`sink: unknown command ${name}`);
    }
  }

  close(): void {
    this.devs.length = 0;
  }
}

/** Resolves with `count()` once it reaches `want.count` or `want.timeoutMs` passes (polled every 2 ms). */
function waitFor(ctx: EngineContext, count: () => number, want: { count: number; timeoutMs?: number }): Promise<number> {
  const deadline = ctx.clock.now() + (want.timeoutMs ?? 10_000);
  return new Promise((resolve) => {
    const check = (): void => {
      if (count() >= want.count || ctx.clock.now() >= deadline) resolve(count());
      else ctx.clock.setTimer(check, 2);
    };
    check();
  });
}

/**
 * A stage: marks each frame from its first device in place and forwards it to the second.
 * Registered as `mark` by dp-zc-engines.ts (a module of its own, so that the kinds every other
 * dataplane test sees stay as they are).
 */
export class Marker implements Engine<L2Device> {
  private up: L2Device | null = null;
  private down: L2Device | null = null;
  private forwarded = 0;
  private readonly onUp = (f: Uint8Array): void => {
    if (f.length > MARK_OFF) f[MARK_OFF] = STAGE_MARK;
    this.forwarded++;
    this.down?.send(f);
  };

  attach(dev: L2Device): () => void {
    if (this.up === null) {
      this.up = dev;
      dev.setHandler(this.onUp);
      return () => {
        this.up = null;
      };
    }
    if (this.down !== null) throw new RangeError('mark: attach at most two devices (upstream, downstream)');
    this.down = dev;
    dev.setHandler(() => {});
    return () => {
      this.down = null;
    };
  }
  stats(): unknown {
    return { forwarded: this.forwarded };
  }
  close(): void {}
}

/** Fails its worker on command. */
class Crasher implements Engine<L2Device> {
  attach(dev: L2Device): () => void {
    dev.setHandler(() => {});
    return () => {};
  }
  stats(): unknown {
    return {};
  }
  command(name: string): unknown {
    if (name === 'throw') {
      setTimeout(() => {
        throw new Error('crash engine: boom');
      }, 0);
      return 'armed';
    }
    if (name === 'exit') {
      setTimeout(() => process.exit(7), 0);
      return 'armed';
    }
    throw new TypeError(`crash: unknown command ${name}`);
  }
  close(): void {}
}

const UDP_HDR = 8;
const IPV4_HDR = 20;

/** An IPv4 host behind one link: sends UDP packets, counts what arrives, by source address. */
class Host implements Engine<L3Device> {
  private dev: L3Device | null = null;
  private readonly addr: number;
  private readonly ctx: EngineContext;
  private received = 0;
  private readonly bySrc: Record<string, number> = {};
  private readonly byDst: Record<string, number> = {};

  constructor(options: unknown, ctx: EngineContext) {
    const o = (options ?? {}) as { addr?: string };
    if (typeof o.addr !== 'string') throw new TypeError('host: options.addr (an IPv4 address) is required');
    this.addr = parseIPv4(o.addr);
    this.ctx = ctx;
  }

  attach(dev: L3Device): () => void {
    this.dev = dev;
    dev.setHandler((p) => {
      this.received++;
      const src = formatIPv4(be32(p, 12));
      const dst = formatIPv4(be32(p, 16));
      this.bySrc[src] = (this.bySrc[src] ?? 0) + 1;
      this.byDst[dst] = (this.byDst[dst] ?? 0) + 1;
    });
    return () => {
      this.dev = null;
    };
  }

  stats(): unknown {
    return { received: this.received, bySrc: this.bySrc, byDst: this.byDst };
  }

  command(name: string, payload: unknown): unknown {
    if (name === 'wait') return waitFor(this.ctx, () => this.received, payload as { count: number; timeoutMs?: number });
    if (name !== 'send') throw new TypeError(`host: unknown command ${name}`);
    const { dst, count } = payload as { dst: string; count: number };
    const f = newIpv4Fields();
    f.src = this.addr;
    f.dst = parseIPv4(dst);
    f.protocol = 17;
    f.payloadLen = UDP_HDR + 4;
    const p = new Uint8Array(IPV4_HDR + f.payloadLen);
    emitIpv4(f, p, 0);
    setBe16(p, IPV4_HDR, 40000);
    setBe16(p, IPV4_HDR + 2, 9);
    setBe16(p, IPV4_HDR + 4, UDP_HDR + 4);
    for (let i = 0; i < count; i++) {
      setBe32(p, IPV4_HDR + UDP_HDR, i);
      this.dev?.send(p);
    }
    return count;
  }

  close(): void {
    this.dev = null;
  }
}

/** Leaves a ref'd interval behind, so that its worker does not exit by itself. */
class Stubborn implements Engine<L2Device> {
  constructor() {
    setInterval(() => {}, 1000);
  }
  attach(): () => void {
    return () => {};
  }
  stats(): unknown {
    return {};
  }
  close(): void {}
}

const register: DataplaneModule = (registry) => {
  registry.define('gen', { layer: 2, create: (options, ctx) => new Generator(options, ctx) });
  registry.define('sink', { layer: 2, create: (options, ctx) => new Sink(options, ctx) });
  registry.define('crash', { layer: 2, create: () => new Crasher() });
  registry.define('host', { layer: 3, create: (options, ctx) => new Host(options, ctx) });
  registry.define('stubborn', { layer: 2, create: () => new Stubborn() });
};
export default register;
