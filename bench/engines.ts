/**
 * The cross-core benchmark's engines (`pktkit bench`, chain measurement): a traffic generator, a
 * CPU-bound router stage and a sink, written as a dataplane plugin module:
 *
 *   generator ──> stage 1 ──> stage 2 ──> … ──> stage K ──> sink
 *
 * Each stage does per packet what a software router with checksum offload does: it verifies the
 * IPv4 header checksum, decrements the TTL (incremental checksum update, RFC 1624), verifies the
 * UDP checksum over the whole datagram (pseudo-header included), and routes the packet through
 * an L3Hub (longest-prefix match over a few prefixes) out of the port that leads to the next
 * stage. Everything happens in place in the buffer the stage is handed (a ring slot, when the
 * previous stage runs on another worker over byte rings; the generator's pool frame, when the
 * chain's links are zero-copy); nothing is allocated per packet.
 *
 * Where the generator writes its packets: in a dataplane, by default, in a frame of its worker's
 * pool (`ctx.allocFrame`), so that a zero-copy link further down the chain passes the packet to
 * the next worker without copying it; with `pool: false`, and on the hand-wired raw-ring path
 * (no context), in a buffer of its own. The benchmark sets `pool` only where the chain's links are
 * zero-copy: writing into shared memory costs more than into an ordinary buffer here (about 70 ns
 * against 25 ns per 1500 B), and a chain whose links copy anyway (or that runs on one thread)
 * would pay that for nothing. A frame allocated in a burst lives until the burst returns; the
 * stages forward it (or the runtime takes it back when the burst returns).
 *
 * The default export registers the three kinds with a dataplane registry (src/dataplane's plugin
 * contract). The engines also work without a dataplane: bench/crosscore-roles.ts wires them by
 * hand over raw rings, attaching each to the link devices of its worker.
 *
 * Attachment order: a stage's first attached device is its upstream link, the second its
 * downstream link (the one its route points to): link the chain in order, from the generator to
 * the sink. A generator and a sink take one device each.
 *
 * Driving the generator: call `burst(n)` from a run loop, or, in a dataplane, send it the
 * command `start` ({ batch }) and it bursts once per round through `ctx.defer` until `stop`.
 * The sink's command `mark` returns its counters and the time (performance.now() of its own
 * thread), so that a measured window is timed where the frames arrive.
 */

import { L3Hub } from '../src/core/l3-hub.js';
import { PipeL3 } from '../src/core/pipe.js';
import type { Cleanup, L3Device } from '../src/core/device.js';
import type { DataplaneModule, Engine, EngineContext } from '../src/dataplane/types.js';
import { parseIPv4 } from '../src/wire/addr.js';
import { checksumUpdate32, transportChecksumV4 } from '../src/wire/checksum.js';
import { IpProto, Ipv4View, emitIpv4, newIpv4Fields } from '../src/wire/ipv4.js';
import { UDP_HEADER_LEN, emitUdpV4, newUdpFields } from '../src/wire/udp.js';
import { WireStatus } from '../src/wire/status.js';

// --- The packets ------------------------------------------------------------------------------

/** Where packets come from and go to: the chain routes DST_NET to the next stage. */
export const BENCH_SRC = '10.0.0.1';
export const BENCH_DST = '10.1.0.1';
const DST_NET = '10.1.0.0/16';
/** Prefixes routed to idle ports, so that the lookup chooses among several (a few prefixes). */
const DECOY_NETS = ['10.0.0.0/16', '10.2.0.0/16', '10.3.0.0/16', '172.16.0.0/12', '192.168.0.0/16'] as const;

const IPV4_HEADER = 20;
/** Offset of the sequence number (big-endian u32): the first bytes of the UDP data. */
export const BENCH_SEQ_OFF = IPV4_HEADER + UDP_HEADER_LEN;
/** Smallest packet: IPv4 and UDP headers plus the sequence number. */
export const BENCH_MIN_PACKET = BENCH_SEQ_OFF + 4;
export const BENCH_TTL = 64;

/**
 * An IPv4/UDP packet of `size` bytes (header checksum and UDP checksum filled), sequence number
 * 0, the rest of the data a fixed pattern. Cold path.
 * @throws {RangeError} when `size` is below BENCH_MIN_PACKET or above 65535.
 */
export function buildBenchPacket(size: number): Uint8Array {
  if (!Number.isInteger(size) || size < BENCH_MIN_PACKET || size > 0xffff) {
    throw new RangeError(`bench packet size must be an integer in [${BENCH_MIN_PACKET}, 65535], got ${size}`);
  }
  const p = new Uint8Array(size);
  for (let i = BENCH_SEQ_OFF + 4; i < size; i++) p[i] = (i * 31) & 0xff;
  const src = parseIPv4(BENCH_SRC);
  const dst = parseIPv4(BENCH_DST);
  const ip = newIpv4Fields();
  ip.src = src;
  ip.dst = dst;
  ip.protocol = IpProto.UDP;
  ip.ttl = BENCH_TTL;
  ip.payloadLen = size - IPV4_HEADER;
  emitIpv4(ip, p, 0);
  const udp = newUdpFields();
  udp.srcPort = 40000;
  udp.dstPort = 9;
  udp.payloadLen = size - BENCH_SEQ_OFF;
  emitUdpV4(udp, p, IPV4_HEADER, src, dst);
  return p;
}

const UDP_CSUM_OFF = IPV4_HEADER + 6;

function readSeq(p: Uint8Array): number {
  return ((p[BENCH_SEQ_OFF]! << 24) | (p[BENCH_SEQ_OFF + 1]! << 16) | (p[BENCH_SEQ_OFF + 2]! << 8) | p[BENCH_SEQ_OFF + 3]!) | 0;
}

// --- Generator --------------------------------------------------------------------------------

export interface GeneratorOptions {
  /** Packet size in bytes (IPv4 total length). */
  size: number;
  /** In a dataplane: write each packet into a pool frame from `ctx.allocFrame` (default true). */
  pool?: boolean;
}

/**
 * Produces packets: each is a copy of the template (as a packet arriving from elsewhere would be
 * written into a buffer) stamped with the next sequence number, its UDP checksum updated
 * incrementally, and sent to the attached device. Driven by `burst(n)` (or the `burst` command).
 * The buffer is a pool frame per packet (in a dataplane, unless `pool: false`), else its own
 * buffer (see the file header).
 */
export class GeneratorEngine implements Engine<L3Device> {
  private out: L3Device | null = null;
  private readonly template: Uint8Array;
  private readonly frame: Uint8Array;
  private readonly size: number;
  private readonly baseCsum: number;
  private seq = 0;
  sent = 0;
  /** Packets not sent because the pool had no free frame (the burst ends there; the next retries). */
  poolEmpty = 0;
  /** Packets go in pool frames (`ctx.allocFrame`). */
  private readonly usePool: boolean;
  private readonly ctx: EngineContext | null;
  private running = false;
  private runBatch = 32;
  private readonly tick = (): void => {
    if (!this.running) return;
    this.burst(this.runBatch);
    this.ctx!.defer(this.tick);
  };

  /** `ctx`: the dataplane's engine context (needed only for `start`). */
  constructor(opts: GeneratorOptions, ctx: EngineContext | null = null) {
    this.ctx = ctx;
    this.usePool = ctx !== null && opts.pool !== false;
    this.template = buildBenchPacket(opts.size);
    this.frame = new Uint8Array(opts.size);
    this.size = opts.size;
    this.baseCsum = (this.template[UDP_CSUM_OFF]! << 8) | this.template[UDP_CSUM_OFF + 1]!;
  }

  attach(dev: L3Device): Cleanup {
    this.out = dev;
    dev.setHandler(() => {}); // nothing flows back to a generator
    return () => {
      if (this.out === dev) this.out = null;
    };
  }

  /** Writes packet `seq` into `f` (the template, stamped). */
  private stamp(f: Uint8Array, seq: number): void {
    f.set(this.template);
    f[BENCH_SEQ_OFF] = seq >>> 24;
    f[BENCH_SEQ_OFF + 1] = seq >>> 16;
    f[BENCH_SEQ_OFF + 2] = seq >>> 8;
    f[BENCH_SEQ_OFF + 3] = seq;
    // The template carries sequence 0: RFC 1624 update from 0 to seq.
    const c = checksumUpdate32(this.baseCsum, 0, seq >>> 0);
    f[UDP_CSUM_OFF] = c >>> 8;
    f[UDP_CSUM_OFF + 1] = c;
  }

  /** Sends up to `n` packets; returns how many (0 when nothing is attached, fewer when the pool ran dry). */
  burst(n: number): number {
    const out = this.out;
    if (out === null) return 0;
    let seq = this.seq;
    let i = 0;
    if (this.usePool) {
      const ctx = this.ctx!;
      const size = this.size;
      for (; i < n; i++) {
        const f = ctx.allocFrame(size);
        if (f === null) {
          this.poolEmpty++;
          break;
        }
        this.stamp(f, seq);
        out.send(f);
        seq = (seq + 1) | 0;
      }
    } else {
      const f = this.frame;
      for (; i < n; i++) {
        this.stamp(f, seq);
        out.send(f);
        seq = (seq + 1) | 0;
      }
    }
    this.seq = seq;
    this.sent += i;
    return i;
  }

  stats(): { sent: number; poolEmpty: number } {
    return { sent: this.sent, poolEmpty: this.poolEmpty };
  }

  /** `burst` (n): sends n packets now; `start` ({ batch }): a burst per round; `stop`. */
  command(name: string, payload: unknown): unknown {
    if (name === 'burst') return this.burst(typeof payload === 'number' ? payload : 1);
    if (name === 'start') {
      if (this.ctx === null) throw new RangeError('bench-generator: start needs a dataplane context');
      const batch = (payload as { batch?: unknown } | undefined)?.batch;
      this.runBatch = typeof batch === 'number' && batch >= 1 ? batch : 32;
      if (!this.running) {
        this.running = true;
        this.ctx.defer(this.tick);
      }
      return null;
    }
    if (name === 'stop') {
      this.running = false;
      return this.sent;
    }
    throw new RangeError(`bench-generator: unknown command ${name}`);
  }

  close(): void {
    this.running = false;
    this.out = null;
  }
}

// --- Stage ------------------------------------------------------------------------------------

export interface StageCounters {
  forwarded: number;
  badHeader: number;
  badTransport: number;
  expired: number;
}

/** One CPU-bound router stage (see the file header). */
export class StageEngine implements Engine<L3Device> {
  private readonly hub = new L3Hub({ maxRoutes: 64 });
  private readonly ip = new Ipv4View();
  /** The hub port the stage injects processed packets into. */
  private readonly entry = new PipeL3(null);
  private readonly decoys: PipeL3[] = [];
  private attached = 0;
  readonly counters: StageCounters = { forwarded: 0, badHeader: 0, badTransport: 0, expired: 0 };
  /** The upstream device's handler (one closure, made once). */
  private readonly onPacket = (p: Uint8Array): void => this.process(p);

  constructor() {
    this.hub.connect(this.entry, { routeDeviceAddr: false });
    for (const net of DECOY_NETS) {
      const d = new PipeL3(null);
      this.hub.connect(d, { routeDeviceAddr: false, routes: [net] });
      this.decoys.push(d);
    }
  }

  /** First call: the upstream device; second: the downstream device (routed to DST_NET). */
  attach(dev: L3Device): Cleanup {
    const n = this.attached++;
    if (n === 0) {
      dev.setHandler(this.onPacket);
      return () => dev.setHandler(() => {});
    }
    if (n === 1) {
      const exit = new PipeL3(null, (p) => dev.send(p));
      const h = this.hub.connect(exit, { routeDeviceAddr: false, routes: [DST_NET] });
      dev.setHandler(() => {}); // the chain flows one way
      return () => h.close();
    }
    throw new RangeError('bench-stage: attach at most two devices (upstream, downstream)');
  }

  /** Verifies, decrements the TTL, verifies the transport checksum, then routes. In place. */
  process(p: Uint8Array): void {
    const ip = this.ip.reset(p, 0, p.length);
    const c = this.counters;
    if (ip.check() !== WireStatus.Ok || !ip.verifyChecksum()) {
      c.badHeader++;
      return;
    }
    if (ip.ttl <= 1) {
      c.expired++;
      return;
    }
    ip.decrementTtl();
    const hl = ip.headerLen;
    if (transportChecksumV4(ip.protocol, ip.src, ip.dst, p, hl, ip.totalLen - hl) !== 0) {
      c.badTransport++;
      return;
    }
    c.forwarded++;
    this.entry.inject(p);
  }

  stats(): StageCounters & { hub: ReturnType<L3Hub['stats']> } {
    return { ...this.counters, hub: this.hub.stats() };
  }

  close(): void {
    this.hub.close();
  }
}

// --- Sink -------------------------------------------------------------------------------------

/** Counts what reaches the end of the chain and checks the sequence numbers arrive in order. */
export class SinkEngine implements Engine<L3Device> {
  frames = 0;
  bytes = 0;
  /** Packets whose sequence number was not the one expected (loss or reordering). */
  gaps = 0;
  private next = 0;
  private readonly onPacket = (p: Uint8Array): void => {
    const s = readSeq(p);
    if (s !== this.next) this.gaps++;
    this.next = (s + 1) | 0;
    this.frames++;
    this.bytes += p.length;
  };

  attach(dev: L3Device): Cleanup {
    dev.setHandler(this.onPacket);
    return () => dev.setHandler(() => {});
  }

  stats(): { frames: number; bytes: number; gaps: number } {
    return { frames: this.frames, bytes: this.bytes, gaps: this.gaps };
  }

  /** `mark`: the counters and this thread's performance.now(), taken together. */
  command(name: string): unknown {
    if (name === 'mark') return { ...this.stats(), t: performance.now() };
    throw new RangeError(`bench-sink: unknown command ${name}`);
  }

  close(): void {}
}

/** Registers the bench engines: `bench-generator` ({ size, pool? }), `bench-stage`, `bench-sink`. */
const registerBenchEngines: DataplaneModule = (registry) => {
  registry.define('bench-generator', {
    layer: 3,
    create: (options, ctx) => {
      const o = options as { size?: unknown; pool?: unknown } | null | undefined;
      const size = o?.size;
      const pool = o?.pool ?? true;
      if (typeof size !== 'number' || typeof pool !== 'boolean') {
        throw new TypeError(`bench-generator: expected options { size: number, pool?: boolean }, got ${JSON.stringify(options)}`);
      }
      return new GeneratorEngine({ size, pool }, ctx);
    },
  });
  registry.define('bench-stage', { layer: 3, create: () => new StageEngine() });
  registry.define('bench-sink', { layer: 3, create: () => new SinkEngine() });
};
export default registerBenchEngines;
