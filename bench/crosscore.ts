/**
 * The cross-core benchmark (`pktkit bench`), main-thread side: what is measured, how each
 * measurement runs in fresh worker threads, and how rounds become a row.
 *
 *   (a) ring         two workers joined by one SpscRing (1024 slots of 2048 B, the link default),
 *                    64 B and 1500 B frames, 1, 16 or 64 frames per publish; the consumer drains,
 *                    spins briefly, parks on its doorbell, and reads each frame's sequence number
 *   (b) postMessage  the same flow, one MessagePort.postMessage (structured clone) per frame, at
 *                    most 1024 frames in flight; ring / postMessage ratio per size and batch
 *   (c) chain        generator -> K CPU-bound router stages -> sink (bench/engines.ts), 1500 B
 *                    packets, the stages spread over 1..N workers joined by rings, against the
 *                    same chain on one thread: frames/s and scaling. On the dataplane by default
 *                    (crosscore-dataplane.ts); `chainOn: 'rings'` runs it on this file's own
 *                    workers over raw rings instead (crosscore-roles.ts), which separates what the
 *                    dataplane's run loop costs from what the rings and the engines cost. On the
 *                    dataplane, each spread row runs twice: over byte rings (each packet copied
 *                    into a ring slot) and over zero-copy links (`chainLinks`)
 *   (d) CPU          for every row: process.cpuUsage() over the measured window (all threads),
 *                    divided by the frames, beside the wall-clock time per frame
 *
 * One round of one measurement on raw workers (crosscore-roles.ts has the worker side):
 *
 *   main:    spawn workers ─ wait for `ready` ─ Warm ─ sleep(warmup) ─ cpuUsage ─ Measure
 *            ─ sleep(duration) ─ Stop, cpuUsage ─ collect results ─ workers exit
 *   workers: set up ─ `ready` ─ run flat out; the counting thread times its frames between the
 *            moments it sees Measure and Stop
 *
 * A row is the median of its rounds' frames/s, with the spread ((max - min) / median) as
 * bench/harness.ts reports it; a row's ratio to its baseline is the median of the per-round
 * ratios, the rounds of both having run back to back. Compare ratios within a run, not absolute
 * numbers across runs: this machine has 2 vCPUs and swings 2-4x between runs.
 */

import os from 'node:os';
import { MessageChannel, Worker, type Transferable } from 'node:worker_threads';
import { Doorbell } from '../rings/doorbell.js';
import { closeRing, createRing, ringStats, type RingDescriptor } from '../rings/spsc-ring.js';
import { CREDIT_BYTES, CTL_BYTES, CTL_PHASE, Phase, type RoleData, type RoleMessage, type RoleReport } from './crosscore-roles.js';
import { median } from './harness.js';

const ENTRY = new URL('../workers/crosscore-bench.js', import.meta.url);

/** Slot size and headroom of every ring: the defaults of rings/spsc-ring.ts (and of a dataplane link). */
const SLOT_SIZE = 2048;
const HEADROOM = 64;
/** How long a worker may take to start, or to report after Stop, before the round fails. */
const WORKER_TIMEOUT_MS = 15_000;

export type Kind = 'ring' | 'postMessage' | 'chain';

/** How a chain spread over workers links them: byte rings, or zero-copy links (dataplane only). */
/**
 * How a chain row uses its workers: split stage by stage over byte rings ('ring') or zero-copy
 * links ('zero-copy'), or 'sharded': every worker runs the whole chain on its own flow and the
 * rates add up (a frame never leaves its core).
 */
export type ChainLinks = 'ring' | 'zero-copy' | 'sharded';

export interface Measurement {
  kind: Kind;
  label: string;
  /** Frame or packet size in bytes. */
  size: number;
  /** Frames per publish (ring), per credit check (postMessage), per generator burst (chain). */
  batch: number;
  /** Chain stages (null for ring and postMessage). */
  stages: number | null;
  /** Worker threads the measurement runs on. */
  threads: number;
  /** Chain rows on more than one worker: how the workers are linked (default byte rings). */
  links?: ChainLinks;
}

export interface CrossCoreOptions {
  /** Workers the chain may spread over (default os.availableParallelism()). */
  workers: number;
  /** Measured milliseconds per round. */
  durationMs: number;
  /** Warm-up milliseconds per round, before the measured window. */
  warmupMs: number;
  rounds: number;
  /** How long an idle consumer spins before parking, in microseconds. */
  spinUs: number;
  sizes: readonly number[];
  batches: readonly number[];
  /** Packet size for the chain. */
  chainSize: number;
  /** Generator burst (frames per publish) in the chain. */
  chainBatch: number;
  /** Slots per ring (default 1024, the link default); also the postMessage flow's frames in flight. */
  slots: number;
  /** Which measurements to run (default all). */
  kinds: readonly Kind[];
  /** What runs the chain: the dataplane (src/dataplane), or this file's own workers over raw rings. */
  chainOn: 'dataplane' | 'rings';
  /** Links of the spread chain rows, one row each (zero-copy on the dataplane only; default both). */
  chainLinks: readonly ChainLinks[];
  /** Called after every round. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/**
 * Spin before parking: about the cost of a wake-up here (30-60 us, DESIGN.md), the classic
 * spin-then-block bound: never more than twice the cost of the better choice in hindsight.
 */
export const DEFAULT_SPIN_US = 30;

export function defaultOptions(): CrossCoreOptions {
  return {
    workers: os.availableParallelism(),
    durationMs: 500,
    warmupMs: 250,
    rounds: 5,
    spinUs: DEFAULT_SPIN_US,
    sizes: [64, 1500],
    batches: [1, 16, 64],
    chainSize: 1500,
    chainBatch: 32,
    slots: 1024,
    kinds: ['ring', 'postMessage', 'chain'],
    chainOn: 'dataplane',
    chainLinks: ['ring', 'zero-copy', 'sharded'],
  };
}

/** `--quick`: a short smoke run (CI). */
export function quickOptions(): CrossCoreOptions {
  return { ...defaultOptions(), durationMs: 150, warmupMs: 100, rounds: 3 };
}

/** Stage counts for the chain: 2, and N as well when N > 2. */
export function chainStageCounts(workers: number): number[] {
  return workers > 2 ? [2, workers] : [2];
}

/** Every measurement of a run, in the order they run (ring and postMessage pairs side by side). */
export function planMeasurements(o: CrossCoreOptions): Measurement[] {
  const out: Measurement[] = [];
  for (const size of o.sizes) {
    for (const batch of o.batches) {
      if (o.kinds.includes('ring')) out.push({ kind: 'ring', label: `ring ${size} B, batch ${batch}`, size, batch, stages: null, threads: 2 });
      if (o.kinds.includes('postMessage')) {
        out.push({ kind: 'postMessage', label: `postMessage ${size} B, batch ${batch}`, size, batch, stages: null, threads: 2 });
      }
    }
  }
  for (const k of o.kinds.includes('chain') ? chainStageCounts(o.workers) : []) {
    for (let w = 1; w <= Math.min(k, o.workers); w++) {
      const base = { kind: 'chain', size: o.chainSize, batch: o.chainBatch, stages: k, threads: w } as const;
      if (w === 1) {
        out.push({ ...base, label: `chain ${k} stages ${o.chainSize} B, one thread` });
        continue;
      }
      for (const links of o.chainLinks) {
        if (links !== 'ring' && o.chainOn !== 'dataplane') continue;
        const how = links === 'zero-copy' ? ', zero-copy' : links === 'sharded' ? ', sharded (whole chain per worker)' : '';
        out.push({ ...base, label: `chain ${k} stages ${o.chainSize} B, ${w} workers${how}`, links });
      }
    }
  }
  return out;
}

/** Which worker runs stage i of k when the chain spreads over w workers (contiguous, balanced). */
export function chainLayout(k: number, w: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.floor((i * w) / k));
}

interface Plan {
  data: RoleData[];
  transfer: Transferable[][];
  bells: Doorbell[];
  rings: RingDescriptor[];
  /** Index of the worker that counts frames. */
  reporter: number;
}

function plan(m: Measurement, ctl: SharedArrayBuffer, o: CrossCoreOptions): Plan {
  if (m.kind === 'ring') {
    const ring = createRing({ slots: o.slots, slotSize: SLOT_SIZE, headroom: HEADROOM });
    const bell = new Doorbell();
    return {
      data: [
        { role: 'ring-producer', ctl, size: m.size, ring, bell: bell.sab, batch: m.batch },
        { role: 'ring-consumer', ctl, size: m.size, ring, bell: bell.sab, spinUs: o.spinUs },
      ],
      transfer: [[], []],
      bells: [bell],
      rings: [ring],
      reporter: 1,
    };
  }
  if (m.kind === 'postMessage') {
    const { port1, port2 } = new MessageChannel();
    const credits = new SharedArrayBuffer(CREDIT_BYTES);
    return {
      data: [
        { role: 'pm-producer', ctl, size: m.size, port: port1, credits, batch: m.batch, window: o.slots },
        { role: 'pm-consumer', ctl, size: m.size, port: port2, credits },
      ],
      transfer: [[port1], [port2]],
      bells: [],
      rings: [],
      reporter: 1,
    };
  }
  const k = m.stages ?? 2;
  const w = m.threads;
  const layout = chainLayout(k, w);
  const bells = Array.from({ length: w }, () => new Doorbell());
  const rings = Array.from({ length: w - 1 }, () => createRing({ slots: o.slots, slotSize: SLOT_SIZE, headroom: HEADROOM }));
  const data: RoleData[] = [];
  for (let j = 0; j < w; j++) {
    data.push({
      role: 'chain',
      ctl,
      size: m.size,
      generator: j === 0,
      stages: layout.filter((x) => x === j).length,
      sink: j === w - 1,
      inRing: j > 0 ? rings[j - 1]! : null,
      inBell: j > 0 ? bells[j]!.sab : null,
      outRing: j < w - 1 ? rings[j]! : null,
      outBell: j < w - 1 ? bells[j + 1]!.sab : null,
      spinUs: o.spinUs,
      batch: m.batch,
    });
  }
  return { data, transfer: data.map(() => []), bells: bells.slice(1), rings, reporter: w - 1 };
}

/** One round's figures. */
export interface RoundResult {
  framesPerSec: number;
  cpuNsPerFrame: number;
  /** CPU time over wall time in the window: 1.0 = one core busy. */
  coresBusy: number;
  errors: number;
  /** Doorbell wake-ups (a producer found its consumer parked) per second. */
  wakeupsPerSec: number;
  /** Times a producer found its ring full and waited for room, per second. */
  fullWaitsPerSec: number;
  /** Cores that other processes kept busy during the window (machine-wide CPU time minus ours). */
  otherCores: number;
}

/** Machine-wide busy CPU milliseconds so far, all cores (os.cpus(), tick resolution). */
export function machineBusyMs(): number {
  let ms = 0;
  for (const c of os.cpus()) ms += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return ms;
}

/** What other processes used: machine-wide busy cores over the window minus our own. */
export function otherCores(busyMs0: number, busyMs1: number, windowMs: number, ours: number): number {
  return Math.max(0, (busyMs1 - busyMs0) / windowMs - ours);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A measured window: what a shared counter gained, per second, and the CPU spent meanwhile. */
export interface CountedWindow {
  n: number;
  rate: number;
  /** This process's CPU time over the window (all its threads), ns. */
  cpuNs: number;
  coresBusy: number;
  otherLoad: number;
}

/** Counts what `cells[index]` (updated by worker threads) gains over `durationMs`, with this process's CPU and the machine's other load. */
export async function countWindow(cells: Int32Array, index: number, durationMs: number): Promise<CountedWindow> {
  const c0 = Atomics.load(cells, index);
  const cpu0 = process.cpuUsage();
  const m0 = machineBusyMs();
  const t0 = performance.now();
  await sleep(durationMs);
  const c1 = Atomics.load(cells, index);
  const cpu = process.cpuUsage(cpu0);
  const m1 = machineBusyMs();
  const t1 = performance.now();
  const n = c1 - c0;
  const wallS = (t1 - t0) / 1000;
  const cpuNs = (cpu.user + cpu.system) * 1000;
  const coresBusy = cpuNs / 1e9 / wallS;
  return { n, rate: n / wallS, cpuNs, coresBusy, otherLoad: otherCores(m0, m1, t1 - t0, coresBusy) };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`pktkit bench: ${what} (after ${ms} ms)`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A worker and the promises of its two messages. */
class Handle {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly result: Promise<RoleReport>;
  readonly exited: Promise<number>;

  constructor(data: RoleData, transfer: Transferable[]) {
    this.worker = new Worker(ENTRY, { workerData: data, transferList: transfer });
    let onReady!: () => void;
    let onResult!: (r: RoleReport) => void;
    let fail!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      onReady = res;
      fail = rej;
    });
    let failResult!: (e: Error) => void;
    this.result = new Promise<RoleReport>((res, rej) => {
      onResult = res;
      failResult = rej;
    });
    // Whoever awaits only one of them must not leave the other rejecting unhandled.
    this.ready.catch(() => {});
    this.result.catch(() => {});
    this.worker.on('message', (m: RoleMessage) => {
      if (m.type === 'ready') onReady();
      else onResult(m);
    });
    const onError = (e: Error): void => {
      fail(e);
      failResult(e);
    };
    this.worker.on('error', onError);
    this.exited = new Promise<number>((res) => {
      this.worker.on('exit', (code) => {
        onError(new Error(`bench worker (${data.role}) exited with code ${code} before reporting`));
        res(code);
      });
    });
  }
}

/** Runs one round of `m` in fresh workers. */
export async function runRound(m: Measurement, o: CrossCoreOptions): Promise<RoundResult> {
  const ctlSab = new SharedArrayBuffer(CTL_BYTES);
  const ctl = new Int32Array(ctlSab);
  const p = plan(m, ctlSab, o);
  const handles = p.data.map((d, i) => new Handle(d, p.transfer[i] ?? []));
  const wakeups = () => p.bells.reduce((s, b) => s + b.wakeups, 0);
  const fullWaits = () => p.rings.reduce((s, r) => s + ringStats(r).Waits, 0);
  const stop = () => {
    Atomics.store(ctl, CTL_PHASE, Phase.Stop);
    for (const b of p.bells) b.wake();
    for (const r of p.rings) closeRing(r);
    for (const h of handles) h.worker.postMessage('stop');
  };
  try {
    await withTimeout(Promise.all(handles.map((h) => h.ready)), WORKER_TIMEOUT_MS, `${m.label}: workers did not start`);
    Atomics.store(ctl, CTL_PHASE, Phase.Warm);
    Atomics.notify(ctl, CTL_PHASE);
    await sleep(o.warmupMs);

    const w0 = wakeups();
    const f0 = fullWaits();
    const m0 = machineBusyMs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    Atomics.store(ctl, CTL_PHASE, Phase.Measure);
    for (const b of p.bells) b.wake();
    await sleep(o.durationMs);
    const cpu = process.cpuUsage(c0);
    const t1 = performance.now();
    const m1 = machineBusyMs();
    const w1 = wakeups();
    const f1 = fullWaits();
    stop();

    const reports = await withTimeout(Promise.all(handles.map((h) => h.result)), WORKER_TIMEOUT_MS, `${m.label}: workers did not report`);
    const rep = reports[p.reporter]!;
    if (!(rep.frames > 0 && rep.ms > 0)) throw new Error(`pktkit bench: ${m.label}: no frames in the measured window`);
    const framesPerSec = rep.frames / (rep.ms / 1000);
    const windowNs = (t1 - t0) * 1e6;
    const coresBusy = ((cpu.user + cpu.system) * 1000) / windowNs;
    return {
      framesPerSec,
      cpuNsPerFrame: (coresBusy * 1e9) / framesPerSec,
      coresBusy,
      errors: reports.reduce((s, r) => s + r.errors, 0),
      wakeupsPerSec: (w1 - w0) / ((t1 - t0) / 1000),
      fullWaitsPerSec: (f1 - f0) / ((t1 - t0) / 1000),
      otherCores: otherCores(m0, m1, t1 - t0, coresBusy),
    };
  } finally {
    if (Atomics.load(ctl, CTL_PHASE) !== Phase.Stop) stop();
    // Let workers end by themselves (so that --cpu-prof can write their profiles), then make sure.
    await withTimeout(Promise.all(handles.map((h) => h.exited)), 2000, 'workers did not exit').catch(() => {});
    await Promise.all(handles.map((h) => h.worker.terminate()));
  }
}

/** One row of the report: the median round and the spread. */
export interface ResultRow {
  kind: Kind;
  label: string;
  size: number;
  batch: number;
  stages: number | null;
  threads: number;
  /** Chain rows on several workers: byte rings or zero-copy links (null otherwise). */
  links: ChainLinks | null;
  /** Median of the rounds. */
  framesPerSec: number;
  /** (max - min) / median of the rounds' frames/s, in percent. */
  spreadPct: number;
  gbitPerSec: number;
  /** Wall-clock nanoseconds per frame at the median rate. */
  wallNsPerFrame: number;
  /** CPU nanoseconds per frame, all threads (median of the rounds). */
  cpuNsPerFrame: number;
  coresBusy: number;
  wakeupsPerSec: number;
  /** Times a producer found its ring full and waited, per second (median of the rounds). */
  fullWaitsPerSec: number;
  /** Cores other processes kept busy meanwhile (median of the rounds): above ~0.1, read with care. */
  otherCores: number;
  /** Summed over the rounds: 0 in a sound run. */
  errors: number;
  roundsFramesPerSec: number[];
  /** The row this one is compared with (ring: postMessage of the same size and batch; chain: one thread). */
  baseline: string | null;
  /** This row's frames/s over the baseline's. */
  ratio: number | null;
}

export function summarize(m: Measurement, rounds: readonly RoundResult[]): ResultRow {
  const fps = rounds.map((r) => r.framesPerSec);
  const med = median(fps);
  return {
    kind: m.kind,
    label: m.label,
    size: m.size,
    batch: m.batch,
    stages: m.stages,
    threads: m.threads,
    links: m.kind === 'chain' && m.threads > 1 ? (m.links ?? 'ring') : null,
    framesPerSec: med,
    spreadPct: rounds.length > 1 ? ((Math.max(...fps) - Math.min(...fps)) / med) * 100 : 0,
    gbitPerSec: (med * m.size * 8) / 1e9,
    wallNsPerFrame: 1e9 / med,
    cpuNsPerFrame: median(rounds.map((r) => r.cpuNsPerFrame)),
    coresBusy: median(rounds.map((r) => r.coresBusy)),
    wakeupsPerSec: median(rounds.map((r) => r.wakeupsPerSec)),
    fullWaitsPerSec: median(rounds.map((r) => r.fullWaitsPerSec)),
    otherCores: median(rounds.map((r) => r.otherCores)),
    errors: rounds.reduce((s, r) => s + r.errors, 0),
    roundsFramesPerSec: fps,
    baseline: null,
    ratio: null,
  };
}

/**
 * Fills `baseline` and `ratio`: ring rows against postMessage of the same size and batch, chain
 * rows against the same chain on one thread. The ratio is the median of the rounds' ratios: the
 * two rows' rounds ran back to back (runCrossCore interleaves them), so each pair saw the same
 * machine, and a slow phase of this noisy VM moves both.
 */
export function applyBaselines(rows: ResultRow[]): void {
  for (const r of rows) {
    let base: ResultRow | undefined;
    if (r.kind === 'ring') base = rows.find((b) => b.kind === 'postMessage' && b.size === r.size && b.batch === r.batch);
    else if (r.kind === 'chain' && r.threads > 1) base = rows.find((b) => b.kind === 'chain' && b.stages === r.stages && b.size === r.size && b.threads === 1);
    if (base === undefined) continue;
    const n = Math.min(r.roundsFramesPerSec.length, base.roundsFramesPerSec.length);
    const ratios: number[] = [];
    for (let k = 0; k < n; k++) ratios.push(r.roundsFramesPerSec[k]! / base.roundsFramesPerSec[k]!);
    r.baseline = base.label;
    r.ratio = median(ratios);
  }
}

/** Runs one round of `m` on whatever runs its kind. */
async function runOne(m: Measurement, o: CrossCoreOptions): Promise<RoundResult> {
  if (m.kind === 'chain' && o.chainOn === 'dataplane') return (await import('./crosscore-dataplane.js')).runChainRoundOnDataplane(m, o);
  return runRound(m, o);
}

/**
 * Runs every measurement `rounds` times and returns the rows (in plan order). Rounds are
 * interleaved: round 1 of every measurement, then round 2, and so on, so that a row and its
 * baseline (neighbours in the plan) always run back to back.
 */
export async function runCrossCore(o: CrossCoreOptions): Promise<ResultRow[]> {
  const plan = planMeasurements(o);
  const total = plan.length * o.rounds;
  let done = 0;
  const results: RoundResult[][] = plan.map(() => []);
  for (let k = 0; k < o.rounds; k++) {
    for (let i = 0; i < plan.length; i++) {
      const m = plan[i]!;
      results[i]!.push(await runOne(m, o));
      o.onProgress?.(++done, total, `round ${k + 1}/${o.rounds}: ${m.label}`);
    }
  }
  const rows = plan.map((m, i) => summarize(m, results[i]!));
  applyBaselines(rows);
  return rows;
}
