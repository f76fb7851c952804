/**
 * The `pktkit` command: `bench --quick --json` runs every cross-core measurement briefly and
 * prints one JSON document of the expected shape, every figure a positive number and no frame
 * lost or out of order; `--help` and a wrong command or option say so with the right exit code.
 * Figures are not compared with targets here: this machine is too noisy for that in a test.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/pktkit.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function pktkit(args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') return reject(err);
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

const isPositive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

test('pktkit bench --quick --json: one document, every row measured', async (t) => {
  t.timeout(180_000);
  const run = await pktkit(['bench', '--quick', '--json', '--workers', '2'], 170_000);
  t.is(run.code, 0, run.stderr);
  t.is(run.stderr, '', 'no progress bar (or anything else) on stderr under --json');
  const doc = JSON.parse(run.stdout) as {
    version: number;
    machine: string;
    options: { workers: number; rounds: number; quick: boolean };
    rows: Record<string, unknown>[];
    targets: { id: string; measured: number | null; met: boolean | null; threshold: number }[];
    allTargetsMet: boolean;
  };
  t.is(doc.version, 1);
  t.true(doc.machine.length > 0);
  t.true(doc.options.quick);
  t.is(doc.options.rounds, 3);

  const kinds = (k: string) => doc.rows.filter((r) => r.kind === k);
  t.is(kinds('ring').length, 6, 'ring: 64 and 1500 B at batch 1, 16, 64');
  t.is(kinds('postMessage').length, 6);
  t.true(kinds('chain').length >= 2, 'chain: one thread and at least one spread');
  for (const r of doc.rows) {
    for (const f of ['size', 'batch', 'threads', 'framesPerSec', 'gbitPerSec', 'wallNsPerFrame', 'cpuNsPerFrame', 'coresBusy']) {
      t.true(isPositive(r[f]), `${String(r.label)}: ${f} = ${String(r[f])}`);
    }
    t.true(typeof r.spreadPct === 'number' && r.spreadPct >= 0, `${String(r.label)}: spread`);
    t.is(r.errors, 0, `${String(r.label)}: frames lost or out of sequence`);
    const rounds = r.roundsFramesPerSec as number[];
    t.is(rounds.length, 3);
    t.true(rounds.every(isPositive));
    const compared = r.kind === 'ring' || (r.kind === 'chain' && (r.threads as number) > 1);
    t.is(compared, isPositive(r.ratio), `${String(r.label)}: ratio ${String(r.ratio)}`);
    if (r.kind !== 'chain') t.is(r.threads, 2);
  }
  t.deepEqual(
    doc.targets.map((x) => x.id),
    ['ring-vs-postmessage', 'chain-scaling', 'ring-hop-1500'],
  );
  for (const x of doc.targets) {
    t.true(isPositive(x.threshold));
    t.true(isPositive(x.measured), `${x.id} measured`);
    t.is(typeof x.met, 'boolean');
  }
  t.is(doc.allTargetsMet, doc.targets.every((x) => x.met === true));
});

test('pktkit --help lists the commands', async (t) => {
  const run = await pktkit(['--help']);
  t.is(run.code, 0);
  t.regex(run.stdout, /usage: pktkit <command>/);
  t.regex(run.stdout, /\bbench\b/);
  t.regex(run.stdout, /\bdemo\b/);
});

test('pktkit bench --help lists its options', async (t) => {
  const run = await pktkit(['bench', '--help']);
  t.is(run.code, 0);
  for (const o of ['--json', '--quick', '--workers', '--duration', '--check', '--write-docs']) t.true(run.stdout.includes(o), o);
});

test('an unknown command exits with 2 and says so', async (t) => {
  const run = await pktkit(['frobnicate']);
  t.is(run.code, 2);
  t.regex(run.stderr, /unknown command 'frobnicate'/);
  t.is(run.stdout, '');
});

test('a bad bench option exits with 2 and says so', async (t) => {
  const unknown = await pktkit(['bench', '--frames', '10']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /--frames/);
  const bad = await pktkit(['bench', '--workers', 'zero']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--workers must be an integer/);
});
