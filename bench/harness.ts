/**
 * The benchmark harness: tinybench for timing, plus an allocation check per row.
 *
 * Timing: each row's function performs `inner` operations per call (tinybench times every call,
 * and a call costs more than a sub-nanosecond accessor); ns/op is the median call time divided by
 * `inner`. Rows name a `baseline` row measured in the same run, and the table shows the ratio,
 * because this machine is noisy (2 vCPUs, 2-4x swings between runs): compare ratios, not
 * absolute numbers across runs.
 *
 * Isolation: by default every row runs in its own worker thread, that is its own V8 isolate,
 * so that what V8 learned running one row (type feedback, inlining decisions) cannot change
 * another row's code. Within one isolate it does: a Packet view that has also seen IPv6 packets
 * inlines the IPv6 check into IPv4 code and runs out of inlining budget sooner. Rows that want to
 * measure such mixes say so themselves (the dual-stack row). Go's benchmarks are isolated by
 * construction: compiled code does not depend on what ran before.
 *
 * Allocation check: after a warm-up, gc(), then 1e6 operations with a PerformanceObserver
 * counting minor GCs (scavenges): a path allocating 16 bytes per operation (one boxed double)
 * fills the young generation and scavenges. Heap growth over the loop divided by 1e6 gives
 * bytes/op. Row functions keep their running sums in locals and store them once per call: a
 * `sink +=` on a captured variable per operation would itself box a double each time.
 * Needs `node --expose-gc` (npm run bench passes it).
 */

import { PerformanceObserver, constants } from 'node:perf_hooks';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';

export interface Row {
  name: string;
  /** Runs the operation `inner` times; returns something so the work is not optimised away. */
  fn: () => unknown;
  /** Operations per call of `fn` (default 1). */
  inner?: number;
  /** Bytes processed per operation, for the throughput column. */
  bytes?: number;
  /** Name of the row this one is compared with. */
  baseline?: string;
  /** The Go pktkit README figure for the same row (i9-14900K), in ns/op. */
  goNs?: number;
  /** Skip the allocation check (rows that allocate by design, e.g. a naive baseline). */
  allocates?: boolean;
}

export interface RowResult {
  name: string;
  nsPerOp: number;
  /** Relative spread of the rounds' medians ((max - min) / median, percent); tinybench's rme with one round. */
  rme: number;
  opsPerSec: number;
  /** Bytes per second, when the row declares `bytes`. */
  bytesPerSec: number | null;
  baseline: string | null;
  ratio: number | null;
  goNs: number | null;
  bytesPerOp: number | null;
  scavenges: number | null;
}

declare const gc: (() => void) | undefined;

function gcNow(): void {
  if (typeof gc === 'function') gc();
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Heap growth per operation and minor GCs over `ops` operations of `row`. */
export async function allocationCheck(row: Row, ops = 1_000_000): Promise<{ bytesPerOp: number; scavenges: number } | null> {
  if (typeof gc !== 'function') return null;
  const inner = row.inner ?? 1;
  const calls = Math.ceil(ops / inner);
  for (let i = 0; i < Math.min(calls, 10_000); i++) row.fn(); // warm up: JIT code and feedback allocate
  gcNow();
  await tick();
  let scavenges = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const detail = (e as unknown as { detail?: { kind?: number } }).detail;
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < calls; i++) row.fn();
  const after = process.memoryUsage().heapUsed;
  // GC performance entries are delivered late (buffered, not on the next tick).
  await new Promise((r) => setTimeout(r, 150));
  obs.disconnect();
  return { bytesPerOp: Math.max(0, after - before) / (calls * inner), scavenges };
}

export interface SuiteOptions {
  /** Milliseconds of sampling per row and round (default 500). */
  timeMs?: number;
  /** Isolated rounds per row (default 3): ns/op is the median of the rounds' medians. */
  rounds?: number;
}

/** What one row measured (its timing and allocation), before baselines are applied. */
export interface RowMeasure {
  nsPerOp: number;
  rme: number;
  bytesPerOp: number | null;
  scavenges: number | null;
}

/** Times one row with tinybench, then (unless `checkAlloc` is false) checks its allocations. */
export async function measureRow(row: Row, timeMs: number, checkAlloc = true): Promise<RowMeasure> {
  const bench = new Bench({ time: timeMs, warmupTime: 100 });
  bench.add(row.name, row.fn);
  await bench.run();
  const res = bench.getTask(row.name)?.result as { latency?: { p50: number; rme: number } } | undefined;
  if (res?.latency === undefined) throw new Error(`bench: no result for ${row.name}`);
  const nsPerOp = (res.latency.p50 * 1e6) / (row.inner ?? 1);
  const a = row.allocates || !checkAlloc ? null : await allocationCheck(row);
  return { nsPerOp, rme: res.latency.rme, bytesPerOp: a?.bytesPerOp ?? null, scavenges: a?.scavenges ?? null };
}

function toResults(rows: Row[], measures: RowMeasure[]): RowResult[] {
  const results = rows.map((r, i): RowResult => {
    const m = measures[i]!;
    return {
      name: r.name,
      nsPerOp: m.nsPerOp,
      rme: m.rme,
      opsPerSec: 1e9 / m.nsPerOp,
      bytesPerSec: r.bytes === undefined ? null : (r.bytes * 1e9) / m.nsPerOp,
      baseline: r.baseline ?? null,
      ratio: null,
      goNs: r.goNs ?? null,
      bytesPerOp: m.bytesPerOp,
      scavenges: m.scavenges,
    };
  });
  for (const res of results) {
    const base = results.find((b) => b.name === res.baseline);
    if (base !== undefined) res.ratio = base.nsPerOp / res.nsPerOp;
  }
  return results;
}

/** Times every row in this isolate (one after another), then checks allocations. */
export async function runSuite(rows: Row[], opts: SuiteOptions = {}): Promise<RowResult[]> {
  const measures: RowMeasure[] = [];
  for (const r of rows) measures.push(await measureRow(r, opts.timeMs ?? 500));
  return toResults(rows, measures);
}

async function measureInWorker(moduleUrl: string, exportName: string, row: Row, timeMs: number, checkAlloc: boolean): Promise<RowMeasure> {
  const worker = new Worker(new URL('./row-worker.js', import.meta.url), {
    workerData: { moduleUrl, exportName, rowName: row.name, timeMs, checkAlloc },
  });
  try {
    return await new Promise<RowMeasure>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`bench worker for ${row.name} exited with ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}

/**
 * Runs each row of the suite exported as `exportName` from `moduleUrl` in fresh worker threads
 * (each its own V8 isolate), one at a time, `rounds` times; `rows` is the suite as built here,
 * for names and metadata. The allocation check runs in the first round.
 */
export async function runSuiteIsolated(moduleUrl: string, exportName: string, rows: Row[], opts: SuiteOptions = {}): Promise<RowResult[]> {
  const rounds = Math.max(1, opts.rounds ?? 3);
  const measures: RowMeasure[] = [];
  for (const r of rows) {
    const runs: RowMeasure[] = [];
    for (let k = 0; k < rounds; k++) runs.push(await measureInWorker(moduleUrl, exportName, r, opts.timeMs ?? 500, k === 0));
    const ns = runs.map((m) => m.nsPerOp).sort((a, b) => a - b);
    const median = ns[Math.floor(ns.length / 2)]!;
    measures.push({
      nsPerOp: median,
      rme: rounds === 1 ? runs[0]!.rme : ((ns[ns.length - 1]! - ns[0]!) / median) * 100,
      bytesPerOp: runs[0]!.bytesPerOp,
      scavenges: runs[0]!.scavenges,
    });
  }
  return toResults(rows, measures);
}

/** The median of a sample (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs every row once per round, in order, logging each result to stderr as
 * `round r/n: <describe>`; returns each row's results in round order.
 */
export async function runRounds<R, T>(rows: readonly R[], rounds: number, run: (row: R) => Promise<T>, describe: (row: R, res: T) => string): Promise<T[][]> {
  const results: T[][] = rows.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < rows.length; i++) {
      const res = await run(rows[i]!);
      results[i]!.push(res);
      console.error(`round ${r + 1}/${rounds} ${describe(rows[i]!, res)}`);
    }
  }
  return results;
}

/** A human unit for bytes per second. */
export function formatRate(bps: number): string {
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s', 'TB/s'];
  let v = bps;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

function formatNs(ns: number): string {
  return ns >= 100 ? ns.toFixed(0) : ns >= 10 ? ns.toFixed(1) : ns.toFixed(2);
}

/** The results as a Markdown table. */
export function markdownTable(results: RowResult[]): string {
  const lines = [
    '| Path | ns/op (± spread) | Throughput | vs baseline | Go (i9-14900K) ns/op | Alloc B/op (scavenges per 1e6 ops) |',
    '| --- | ---: | ---: | --- | ---: | --- |',
  ];
  for (const r of results) {
    const thr = r.bytesPerSec === null ? `${(r.opsPerSec / 1e6).toFixed(1)} M/s` : formatRate(r.bytesPerSec);
    const ratio =
      r.ratio === null ? '' : r.ratio >= 1 ? `${r.ratio.toFixed(2)}x faster than ${r.baseline}` : `${(1 / r.ratio).toFixed(2)}x the cost of ${r.baseline}`;
    const alloc = r.bytesPerOp === null ? 'n/a' : `${r.bytesPerOp.toFixed(2)} (${r.scavenges})`;
    lines.push(`| ${r.name} | ${formatNs(r.nsPerOp)} ±${r.rme.toFixed(0)}% | ${thr} | ${ratio} | ${r.goNs ?? ''} | ${alloc} |`);
  }
  return lines.join('\n');
}

/** One line describing the machine and runtime, for results files. */
export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} vCPU, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version} (V8 ${process.versions.v8}), ${new Date().toISOString().slice(0, 10)}`;
}

/**
 * Rewrites the section of docs/BENCHMARKS.md between `<!-- bench:NAME:begin -->` and
 * `<!-- bench:NAME:end -->` with `body` (the markers stay; the prose around them is the
 * document's). Throws when the markers are missing: add them with the section's intro first.
 */
export async function writeDocsSection(name: string, body: string): Promise<void> {
  const { readFile, writeFile } = await import('node:fs/promises');
  const path = new URL('../../docs/BENCHMARKS.md', import.meta.url);
  const doc = await readFile(path, 'utf8');
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i === -1 || j === -1 || j < i) throw new Error(`docs/BENCHMARKS.md has no ${begin} … ${end} section`);
  await writeFile(path, `${doc.slice(0, i)}${begin}\n${body}\n${end}${doc.slice(j + end.length)}`);
  console.error(`wrote the ${name} section of docs/BENCHMARKS.md`);
}
