/**
 * Allocation checks for hot paths: run a loop in a fresh `node --trace-gc` and count scavenges
 * (young-generation collections). A loop that allocates even one small object per iteration
 * triggers dozens of them over a million iterations; one that allocates nothing triggers none
 * beyond the start-up one. A child process keeps the count free of the test runner's own garbage.
 */

import { execFileSync } from 'node:child_process';

/**
 * Runs `body`, an ES module body (it may `import` by absolute URL), in a new Node process with
 * `--trace-gc` and returns the number of scavenges it printed. Put the hot loop inside a
 * function: a top-level `let` lives in the module context, where V8 boxes doubles.
 */
export function countScavenges(body: string): number {
  const out = execFileSync(process.execPath, ['--trace-gc', '--input-type=module', '-e', body], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return out.split('\n').filter((l) => l.includes('Scavenge')).length;
}

/**
 * As `countScavenges`, but counting only the scavenges after `body` prints a line starting with
 * `--- loop`: a set-up that collects by itself (a real handshake, module loading) stays out.
 */
export function scavengesAfterMarker(body: string): number {
  const out = execFileSync(process.execPath, ['--trace-gc', '--input-type=module', '-e', body], { encoding: 'utf8', timeout: 120_000 });
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.startsWith('--- loop'));
  if (start === -1) throw new Error('no loop marker');
  return lines.slice(start).filter((l) => l.includes('Scavenge')).length;
}

/**
 * Allocation check that leaves out the warm-up: a fresh `node --expose-gc` runs `setup` (an ES
 * module body that defines `function step(n)` running n iterations of the hot path), warms it up
 * until V8 has optimised it, collects garbage, and only then counts minor GCs (scavenges) while
 * running `iterations` more. `countScavenges` counts the whole process: code that handles
 * uint32 sequence numbers above 2^31 allocates heap numbers while it still runs in the
 * interpreter, and how long that lasts depends on concurrent compilation timing (2 vCPUs here),
 * which made whole-process counts flaky (3 to 110 for the same loop).
 */
export function scavengesAfterWarmup(setup: string, iterations = 1_000_000, warmup = 200_000): number {
  const body = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    ${setup}
    for (let i = 0; i < ${warmup}; i += 1000) step(1000);
    await new Promise((r) => setTimeout(r, 50)); // let concurrent compiles land
    for (let i = 0; i < ${warmup}; i += 1000) step(1000);
    globalThis.gc();
    let scavenges = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
    });
    obs.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < ${iterations}; i += 1000) step(1000);
    await new Promise((r) => setTimeout(r, 150));
    obs.disconnect();
    process.stdout.write('SCAVENGES ' + scavenges + '\\n');
  `;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', body], { encoding: 'utf8', timeout: 60_000 });
  const m = /SCAVENGES (\d+)/.exec(out);
  if (m === null) throw new Error(`no count in child output: ${out}`);
  return Number(m[1]);
}
