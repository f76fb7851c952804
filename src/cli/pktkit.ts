#!/usr/bin/env node
/**
 * `pktkit`: the command-line tool.
 *
 *   pktkit bench [options]   the cross-core benchmark: SPSC ring against postMessage between two
 *                            workers, and a CPU-bound engine chain spread over workers
 *                            (bench/crosscore.ts); a table at the end, or --json
 *   pktkit demo [options]    the in-process demo (src/cli/demo.ts)
 *
 * Exit codes: 0 done, 1 failed (or, under `bench --check`, a target missed), 2 bad usage.
 * The bench modules are loaded only by `bench`, so `demo` and `--help` stay light.
 */

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `usage: pktkit <command> [options]

commands:
  bench    cross-core benchmark: ring vs postMessage, CPU-bound engine chain over workers
  demo     the in-process demo: an L2 switch and an L3 hub, recorded to pcapng

Run 'pktkit <command> --help' for a command's options.`;

const BENCH_USAGE = `usage: pktkit bench [options]

Measures, each in fresh worker threads: (a) a SharedArrayBuffer ring between two workers
(64 B and 1500 B frames, 1/16/64 frames per publish), (b) the same flow with one postMessage
per frame, (c) a chain of CPU-bound router stages spread over 1..N workers against one thread,
and (d) CPU time per frame for each. Prints a table and whether the targets were met.

options:
  --json            one JSON document on stdout (no progress bar, no table)
  --quick           short smoke run: 3 rounds of 150 ms per measurement
  --workers N       workers the chain may spread over (default: os.availableParallelism())
  --duration MS     measured milliseconds per round (default 500)
  --warmup MS       warm-up milliseconds per round (default 250)
  --rounds N        rounds per measurement, reported as median and spread (default 5)
  --spin-us US      how long an idle consumer spins before it parks (default 30)
  --slots N         slots per ring, a power of two (default 1024 of 2048 B, the link default)
  --only KINDS      run only some measurements: ring, postMessage, chain (comma-separated)
  --chain-on WHAT   run the chain on the 'dataplane' (default) or on raw 'rings' (own workers)
  --chain-links L   chain rows over 2+ workers: ring, zero-copy, sharded (comma-separated; default all)
  --check           exit with 1 when a target is missed (otherwise misses are only reported)
  --write-docs      also rewrite the cross-core section of docs/BENCHMARKS.md
  -h, --help        this help`;

/** A command-line mistake: reported with its message and exit code 2. */
class UsageError extends Error {}

function positiveInt(name: string, v: string | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer of at least ${min}, got '${v}'`);
  return n;
}

function powerOfTwo(name: string, v: string | undefined, dflt: number): number {
  const n = positiveInt(name, v, dflt, 2);
  if ((n & (n - 1)) !== 0 || n > 1 << 20) throw new UsageError(`--${name} must be a power of two from 2 to 2^20, got '${v}'`);
  return n;
}

const KINDS = ['ring', 'postMessage', 'chain'] as const;

function parseKinds(v: string): (typeof KINDS)[number][] {
  const out: (typeof KINDS)[number][] = [];
  for (const k of v.split(',')) {
    const kind = KINDS.find((x) => x.toLowerCase() === k.trim().toLowerCase());
    if (kind === undefined) throw new UsageError(`--only takes ${KINDS.join(', ')}; got '${k}'`);
    out.push(kind);
  }
  return out;
}

const CHAIN_LINKS = ['ring', 'zero-copy', 'sharded'] as const;

function parseChainLinks(v: string | undefined, dflt: readonly (typeof CHAIN_LINKS)[number][]): (typeof CHAIN_LINKS)[number][] {
  if (v === undefined) return [...dflt];
  return v.split(',').map((k) => {
    const links = CHAIN_LINKS.find((x) => x === k.trim());
    if (links === undefined) throw new UsageError(`--chain-links takes ${CHAIN_LINKS.join(', ')}; got '${k}'`);
    return links;
  });
}

function parseChainOn(v: string | undefined, dflt: 'dataplane' | 'rings'): 'dataplane' | 'rings' {
  if (v === undefined) return dflt;
  if (v === 'dataplane' || v === 'rings') return v;
  throw new UsageError(`--chain-on takes dataplane or rings; got '${v}'`);
}

async function bench(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        workers: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        rounds: { type: 'string' },
        'spin-us': { type: 'string' },
        slots: { type: 'string' },
        only: { type: 'string' },
        'chain-on': { type: 'string' },
        'chain-links': { type: 'string' },
        check: { type: 'boolean', default: false },
        'write-docs': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) {
    console.log(BENCH_USAGE);
    return 0;
  }
  const { defaultOptions, quickOptions, runCrossCore } = await import('../../bench/crosscore.js');
  const { buildReport, markdownTables, writeDocs } = await import('../../bench/crosscore-report.js');
  const base = values.quick ? quickOptions() : defaultOptions();
  const opts = {
    ...base,
    workers: positiveInt('workers', values.workers, base.workers),
    durationMs: positiveInt('duration', values.duration, base.durationMs, 10),
    warmupMs: positiveInt('warmup', values.warmup, base.warmupMs, 0),
    rounds: positiveInt('rounds', values.rounds, base.rounds),
    spinUs: positiveInt('spin-us', values['spin-us'], base.spinUs, 0),
    slots: powerOfTwo('slots', values.slots, base.slots),
    kinds: values.only === undefined ? base.kinds : parseKinds(values.only),
    chainOn: parseChainOn(values['chain-on'], base.chainOn),
    chainLinks: parseChainLinks(values['chain-links'], base.chainLinks),
  };

  const bar = values.json ? null : await progressBar();
  opts.onProgress = (done, total, label) => {
    if (bar === null) return;
    if (done === 1) bar.start(total, 0, { label });
    bar.update(done, { label });
  };
  let rows;
  try {
    rows = await runCrossCore(opts);
  } finally {
    bar?.stop();
  }
  const report = buildReport(rows, opts, values.quick);

  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    console.log(`\npktkit bench: cross-core\n\n${report.machine}\n\n${markdownTables(report)}\n`);
    const missed = report.targets.filter((t) => t.met === false);
    const unmeasured = report.targets.filter((t) => t.met === null);
    console.log(
      missed.length === 0 && unmeasured.length === 0
        ? 'All targets met in this run.'
        : `Targets: ${report.targets.length - missed.length - unmeasured.length} of ${report.targets.length} met` +
            (missed.length > 0 ? `; missed: ${missed.map((t) => t.id).join(', ')}` : '') +
            (unmeasured.length > 0 ? `; not measured: ${unmeasured.map((t) => t.id).join(', ')}` : '') +
            '.',
    );
    if (rows.some((r) => r.errors > 0)) console.log('Some rows counted errors (frames lost or out of sequence): see the table.');
    const other = Math.max(...rows.map((r) => r.otherCores));
    if (other > 0.1) console.log(`Other processes kept up to ${other.toFixed(2)} cores busy during some rows (Other load): those figures are disturbed.`);
  }
  if (values['write-docs']) {
    const cmd = ['pktkit bench', ...argv.filter((a) => a !== '--write-docs' && a !== '--json')].join(' ') + ' --write-docs';
    await writeDocs(new URL('../../../docs/BENCHMARKS.md', import.meta.url), report, cmd);
    console.error('wrote the cross-core section of docs/BENCHMARKS.md');
  }
  // --check: a missed target fails the command (one this run could not measure does not).
  return values.check && report.targets.some((t) => t.met === false) ? 1 : 0;
}

/**
 * The progress bar, on stderr. cli-progress draws in place on a terminal; elsewhere (CI logs,
 * a file) it prints a plain line every 10 s, not a line per update.
 */
async function progressBar() {
  const { SingleBar } = await import('cli-progress');
  return new SingleBar({
    stream: process.stderr,
    format: 'pktkit bench [{bar}] {value}/{total} rounds | {label}',
    barsize: 30,
    fps: 5,
    hideCursor: true,
    clearOnComplete: true,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
  });
}

/** Runs `pktkit` with `argv` (the arguments after the program name); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
        console.error(USAGE);
        return 2;
      case '-h':
      case '--help':
      case 'help':
        console.log(USAGE);
        return 0;
      case 'bench':
        return await bench(rest);
      case 'demo': {
        const demo = await import('./demo.js');
        await demo.main(rest);
        return typeof process.exitCode === 'number' ? process.exitCode : 0;
      }
      default:
        throw new UsageError(`unknown command '${cmd}' (commands: bench, demo; see pktkit --help)`);
    }
  } catch (e) {
    // Bad options of a subcommand (parseArgs's errors, e.g. from the demo) are usage errors too.
    const code = (e as { code?: unknown }).code;
    if (e instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      console.error(`pktkit: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
