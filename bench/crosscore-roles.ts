/**
 * What each worker thread of the cross-core benchmark does (`pktkit bench`; the main-thread side
 * is crosscore.ts, the worker entry workers/crosscore-bench.ts).
 *
 * Every measurement runs in fresh workers that share a small control block with the main thread:
 *
 *   Int32Array over a SharedArrayBuffer (CTL_BYTES):
 *     [CTL_PHASE]  Idle -> Warm -> Measure -> Stop, written by the main thread only
 *
 * Workers set themselves up, post `ready`, wait for Warm, then run flat out. The thread that
 * counts the frames (the ring consumer, the postMessage consumer, the chain's sink) notes the
 * time and its frame count when it first sees Measure and again when it sees Stop, and posts
 * them: frames/s is timed inside the workers, after the warm-up, over what the main thread
 * meanwhile measures with process.cpuUsage() (every thread's CPU time).
 *
 * Roles:
 *   ring-producer / ring-consumer   (a) one SpscRing, frames of `size` bytes, `batch` per publish,
 *                                   the consumer draining, spinning briefly, then parking on its
 *                                   doorbell (rings/doorbell.ts)
 *   pm-producer / pm-consumer       (b) the same flow, one MessagePort.postMessage per frame
 *                                   (structured clone), with a credit window for back-pressure
 *   chain                           (c) one worker's share of generator -> stages -> sink
 *                                   (bench/engines.ts): engines in one worker are joined by direct
 *                                   calls, neighbouring workers by a ring; each stage works on the
 *                                   frame in place (in the inbound slot) and the frame is copied
 *                                   once, into the outbound ring
 *
 * Nothing here allocates per frame, except what postMessage itself does.
 */

import type { MessagePort } from 'node:worker_threads';
import { Doorbell } from '../rings/doorbell.js';
import { RingConsumer, RingProducer, type RingDescriptor } from '../rings/spsc-ring.js';
import type { L3Device, PacketHandler } from '../src/core/device.js';
import type { Engine } from '../src/dataplane/types.js';
import { GeneratorEngine, SinkEngine, StageEngine } from './engines.js';

export const Phase = { Idle: 0, Warm: 1, Measure: 2, Stop: 3 } as const;
export const CTL_PHASE = 0;
export const CTL_BYTES = 64;

/** Credit block for the postMessage flow (Int32 indices). */
export const Credit = { Consumed: 0, ProducerWaiting: 16, WakeAt: 17 } as const;
export const CREDIT_BYTES = 128;

/** A parked consumer wakes at least this often (a lost wake-up would show as a stall, not a hang). */
const PARK_TIMEOUT_MS = 50;
/** A producer waits this long for room before it counts a drop (the runs never drop). */
const MAX_WAIT_MS = 1000;

interface Common {
  ctl: SharedArrayBuffer;
  size: number;
}
export interface RingProducerData extends Common {
  role: 'ring-producer';
  ring: RingDescriptor;
  bell: SharedArrayBuffer;
  batch: number;
}
export interface RingConsumerData extends Common {
  role: 'ring-consumer';
  ring: RingDescriptor;
  bell: SharedArrayBuffer;
  spinUs: number;
}
export interface PmProducerData extends Common {
  role: 'pm-producer';
  port: MessagePort;
  credits: SharedArrayBuffer;
  batch: number;
  window: number;
}
export interface PmConsumerData extends Common {
  role: 'pm-consumer';
  port: MessagePort;
  credits: SharedArrayBuffer;
}
export interface ChainData extends Common {
  role: 'chain';
  generator: boolean;
  stages: number;
  sink: boolean;
  /** Ring from the previous worker and this worker's doorbell (absent on the first worker). */
  inRing: RingDescriptor | null;
  inBell: SharedArrayBuffer | null;
  /** Ring to the next worker and that worker's doorbell (absent on the last worker). */
  outRing: RingDescriptor | null;
  outBell: SharedArrayBuffer | null;
  spinUs: number;
  /** Packets the generator sends per burst (and per publish). */
  batch: number;
}
export type RoleData = RingProducerData | RingConsumerData | PmProducerData | PmConsumerData | ChainData;

/** What a worker posts when it stops. `frames`/`ms` are the measured window (0 unless it counts). */
export interface RoleReport {
  type: 'result';
  frames: number;
  ms: number;
  /** Frames that arrived out of sequence, failed a check, or were dropped: 0 in a sound run. */
  errors: number;
  /** Times this worker parked on its doorbell. */
  parks: number;
}

export type RoleMessage = { type: 'ready' } | RoleReport;

/** Blocks until the main thread leaves Idle. */
function waitForStart(ctl: Int32Array): void {
  while (Atomics.load(ctl, CTL_PHASE) === Phase.Idle) Atomics.wait(ctl, CTL_PHASE, Phase.Idle, 1000);
}

/** The measured window, as the counting thread sees the phases go by. */
class PhaseWindow {
  private seen: number = Phase.Warm;
  t0 = 0;
  n0 = 0;
  t1 = 0;
  n1 = 0;

  /** Notes phase `ph` with `count` frames so far; true once Stop is seen. */
  observe(ph: number, count: number): boolean {
    if (ph === this.seen) return ph === Phase.Stop;
    if (ph >= Phase.Measure && this.seen < Phase.Measure) {
      this.t0 = performance.now();
      this.n0 = count;
    }
    if (ph === Phase.Stop) {
      this.t1 = performance.now();
      this.n1 = count;
    }
    this.seen = ph;
    return ph === Phase.Stop;
  }

  report(errors: number, parks: number): RoleReport {
    return { type: 'result', frames: this.n1 - this.n0, ms: this.t1 - this.t0, errors, parks };
  }
}

/**
 * The consumer's idle step (the doorbell protocol): spin for up to `spinMs` watching the ring,
 * then announce sleep, look once more, and park. Returns true when it parked. Any change of
 * phase ends the wait too (the main thread rings every doorbell after changing it).
 */
let backoffSink = 0;
/** About 100-200 ns of local work (no shared memory). */
function backoff(): void {
  let x = backoffSink;
  for (let i = 0; i < 64; i++) x = (x * 1103515245 + 12345) | 0;
  backoffSink = x;
}

function spinThenPark(c: RingConsumer, bell: Doorbell, ctl: Int32Array, phase: number, spinMs: number): boolean {
  const until = performance.now() + spinMs;
  for (let i = 1; ; i++) {
    if (c.available() !== 0) return false;
    if ((i & 15) === 0) {
      if (Atomics.load(ctl, CTL_PHASE) !== phase) return false;
      if (performance.now() >= until) break;
    }
  }
  const seq = bell.prepare();
  if (c.available() !== 0 || Atomics.load(ctl, CTL_PHASE) !== phase) {
    bell.cancel();
    return false;
  }
  bell.park(seq, PARK_TIMEOUT_MS);
  return true;
}

// --- (a) ring ---------------------------------------------------------------------------------

function ringProducer(d: RingProducerData, post: (m: RoleMessage) => void): void {
  const ctl = new Int32Array(d.ctl);
  const p = new RingProducer(d.ring, { policy: 'wait', maxWaitMs: MAX_WAIT_MS, doorbell: new Doorbell(d.bell) });
  const frame = new Uint8Array(d.size);
  const batch = d.batch;
  let seq = 0;
  let errors = 0;
  post({ type: 'ready' });
  waitForStart(ctl);
  outer: for (;;) {
    if (Atomics.load(ctl, CTL_PHASE) === Phase.Stop) break;
    for (let j = 0; j < batch; j++) {
      frame[0] = seq;
      frame[1] = seq >>> 8;
      frame[2] = seq >>> 16;
      frame[3] = seq >>> 24;
      while (!p.push(frame)) {
        if (Atomics.load(ctl, CTL_PHASE) === Phase.Stop) break outer;
        errors++; // waited MAX_WAIT_MS for room: the consumer stalled
      }
      seq = (seq + 1) | 0;
    }
    p.publish();
  }
  post({ type: 'result', frames: 0, ms: 0, errors, parks: 0 });
}

function ringConsumer(d: RingConsumerData, post: (m: RoleMessage) => void): void {
  const ctl = new Int32Array(d.ctl);
  const c = new RingConsumer(d.ring);
  const bell = new Doorbell(d.bell);
  const spinMs = d.spinUs / 1000;
  let expected = 0;
  let bad = 0;
  let count = 0;
  // Touches each frame in place: reads its sequence number, as an engine reads a header.
  const onFrame = (f: Uint8Array): void => {
    const s = f[0]! | (f[1]! << 8) | (f[2]! << 16) | (f[3]! << 24);
    if (s !== expected) bad++;
    expected = (s + 1) | 0;
    count++;
  };
  const w = new PhaseWindow();
  let parks = 0;
  post({ type: 'ready' });
  waitForStart(ctl);
  for (;;) {
    const ph = Atomics.load(ctl, CTL_PHASE);
    if (w.observe(ph, count)) break;
    const n = c.poll(onFrame);
    if (n > 0) {
      // A poll that found only a frame or two means the producer is slower than this consumer:
      // wait a moment without touching shared memory, so that frames collect between looks
      // (each look at HEAD pulls its cache line over from the producer's core).
      if (n < 4) backoff();
      continue;
    }
    if (spinThenPark(c, bell, ctl, ph, spinMs)) parks++;
  }
  post(w.report(bad, parks));
}

// --- (b) postMessage --------------------------------------------------------------------------

function pmProducer(d: PmProducerData, post: (m: RoleMessage) => void): void {
  const ctl = new Int32Array(d.ctl);
  const cr = new Int32Array(d.credits);
  const frame = new Uint8Array(d.size); // its own ArrayBuffer of exactly `size` bytes: that is what is cloned
  const { batch, window, port } = d;
  let sent = 0;
  post({ type: 'ready' });
  waitForStart(ctl);
  for (;;) {
    if (Atomics.load(ctl, CTL_PHASE) === Phase.Stop) break;
    // Back-pressure: at most `window` frames in flight; when full, sleep until half have drained.
    if (((sent + batch - Atomics.load(cr, Credit.Consumed)) | 0) > window) {
      Atomics.store(cr, Credit.WakeAt, (sent + batch - (window >> 1)) | 0);
      Atomics.store(cr, Credit.ProducerWaiting, 1);
      for (;;) {
        const consumed = Atomics.load(cr, Credit.Consumed);
        if (((sent + batch - consumed) | 0) <= window >> 1 || Atomics.load(ctl, CTL_PHASE) === Phase.Stop) break;
        Atomics.wait(cr, Credit.Consumed, consumed, 20);
      }
      Atomics.store(cr, Credit.ProducerWaiting, 0);
      continue;
    }
    for (let j = 0; j < batch; j++) {
      frame[0] = sent;
      frame[1] = sent >>> 8;
      frame[2] = sent >>> 16;
      frame[3] = sent >>> 24;
      port.postMessage(frame);
      sent = (sent + 1) | 0;
    }
  }
  post({ type: 'result', frames: 0, ms: 0, errors: 0, parks: 0 });
}

function pmConsumer(d: PmConsumerData, post: (m: RoleMessage) => void, control: MessagePort): Promise<void> {
  const ctl = new Int32Array(d.ctl);
  const cr = new Int32Array(d.credits);
  const w = new PhaseWindow();
  let expected = 0;
  let bad = 0;
  let count = 0;
  return new Promise((resolve) => {
    const finish = (): void => {
      d.port.close();
      control.off('message', onControl);
      post(w.report(bad, 0));
      resolve();
    };
    const onControl = (m: unknown): void => {
      if (m === 'stop' && w.observe(Atomics.load(ctl, CTL_PHASE), count)) finish();
    };
    control.on('message', onControl);
    d.port.on('message', (f: Uint8Array) => {
      const s = f[0]! | (f[1]! << 8) | (f[2]! << 16) | (f[3]! << 24);
      if (s !== expected) bad++;
      expected = (s + 1) | 0;
      count++;
      Atomics.store(cr, Credit.Consumed, count);
      if (Atomics.load(cr, Credit.ProducerWaiting) === 1 && ((count - Atomics.load(cr, Credit.WakeAt)) | 0) >= 0) {
        Atomics.notify(cr, Credit.Consumed, 1);
      }
      if (w.observe(Atomics.load(ctl, CTL_PHASE), count)) finish();
    });
    post({ type: 'ready' });
  });
}

// --- (c) chain --------------------------------------------------------------------------------

/** One end of a direct (same-thread) link: `send` calls the other end's handler. */
class LinkEnd implements L3Device {
  readonly addr = null;
  handler: PacketHandler = () => {};
  peer: LinkEnd | null = null;
  setHandler(h: PacketHandler): void {
    this.handler = h;
  }
  send(p: Uint8Array): void {
    this.peer!.handler(p);
  }
  setAddr(): void {}
  close(): void {}
}

function directLink(): [LinkEnd, LinkEnd] {
  const a = new LinkEnd();
  const b = new LinkEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** The receiving end of a ring link: the worker loop polls the ring into `handler`. */
class RingRxDevice implements L3Device {
  readonly addr = null;
  handler: PacketHandler = () => {};
  setHandler(h: PacketHandler): void {
    this.handler = h;
  }
  send(): void {} // one-way link
  setAddr(): void {}
  close(): void {}
}

/** The sending end of a ring link: `send` copies the packet into the next slot. */
class RingTxDevice implements L3Device {
  readonly addr = null;
  drops = 0;
  private readonly producer: RingProducer;
  constructor(producer: RingProducer) {
    this.producer = producer;
  }
  setHandler(): void {}
  send(p: Uint8Array): void {
    if (!this.producer.push(p)) this.drops++;
  }
  setAddr(): void {}
  close(): void {}
}

/** What the engines are told about a hand-wired link (they do not look at it). */
const RAW_LINK = { link: 'raw', peer: 'raw', mode: 'ring' } as const;

function chainSegment(d: ChainData, post: (m: RoleMessage) => void): void {
  const ctl = new Int32Array(d.ctl);
  const gen = d.generator ? new GeneratorEngine({ size: d.size }) : null;
  const stages: StageEngine[] = [];
  for (let i = 0; i < d.stages; i++) stages.push(new StageEngine());
  const sink = d.sink ? new SinkEngine() : null;
  const comps: Engine<L3Device>[] = [...(gen === null ? [] : [gen]), ...stages, ...(sink === null ? [] : [sink])];
  if (comps.length === 0) throw new RangeError('chain segment with nothing to run');

  // Wire: [ring in] -> comps[0] -> … -> comps[last] -> [ring out]. A stage's first attachment
  // is its upstream, its second its downstream (engines.ts).
  let rx: RingRxDevice | null = null;
  let consumer: RingConsumer | null = null;
  let bell: Doorbell | null = null;
  if (d.inRing !== null && d.inBell !== null) {
    rx = new RingRxDevice();
    consumer = new RingConsumer(d.inRing);
    bell = new Doorbell(d.inBell);
    comps[0]!.attach(rx, RAW_LINK);
  }
  for (let i = 0; i + 1 < comps.length; i++) {
    const [a, b] = directLink();
    comps[i]!.attach(a, RAW_LINK);
    comps[i + 1]!.attach(b, RAW_LINK);
  }
  let producer: RingProducer | null = null;
  if (d.outRing !== null && d.outBell !== null) {
    producer = new RingProducer(d.outRing, { policy: 'wait', maxWaitMs: MAX_WAIT_MS, doorbell: new Doorbell(d.outBell) });
    comps[comps.length - 1]!.attach(new RingTxDevice(producer), RAW_LINK);
  }

  const w = new PhaseWindow();
  const spinMs = d.spinUs / 1000;
  let parks = 0;
  post({ type: 'ready' });
  waitForStart(ctl);
  if (gen !== null) {
    for (;;) {
      if (w.observe(Atomics.load(ctl, CTL_PHASE), sink === null ? 0 : sink.frames)) break;
      gen.burst(d.batch);
      if (producer !== null) producer.publish();
    }
  } else if (consumer !== null && bell !== null && rx !== null) {
    const handler = rx.handler;
    for (;;) {
      const ph = Atomics.load(ctl, CTL_PHASE);
      if (w.observe(ph, sink === null ? 0 : sink.frames)) break;
      if (consumer.poll(handler) > 0) {
        if (producer !== null) producer.publish();
        continue;
      }
      if (spinThenPark(consumer, bell, ctl, ph, spinMs)) parks++;
    }
  }
  let errors = sink === null ? 0 : sink.gaps;
  for (const s of stages) errors += s.counters.badHeader + s.counters.badTransport + s.counters.expired;
  const report = w.report(errors, parks);
  if (sink === null) {
    report.frames = 0;
    report.ms = 0;
  }
  post(report);
  for (const c of comps) void c.close();
}

/**
 * Runs one role to completion (posting `ready`, then one `result`). `control` is the worker's
 * parentPort: the postMessage consumer also listens there for the main thread's `stop`.
 */
export async function runRole(d: RoleData, control: MessagePort): Promise<void> {
  const post = (m: RoleMessage): void => control.postMessage(m);
  switch (d.role) {
    case 'ring-producer':
      return ringProducer(d, post);
    case 'ring-consumer':
      return ringConsumer(d, post);
    case 'pm-producer':
      return pmProducer(d, post);
    case 'pm-consumer':
      return pmConsumer(d, post, control);
    case 'chain':
      return chainSegment(d, post);
  }
}
