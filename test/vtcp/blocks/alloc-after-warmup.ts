/**
 * Allocation check that leaves out the warm-up: a fresh `node --expose-gc` runs `setup` (an ES
 * module body that defines `function step(n)` running n iterations of the hot path), warms it up
 * until V8 has optimised it, collects garbage, and only then counts minor GCs (scavenges) while
 * running `iterations` more. test/helpers/alloc.ts counts the whole process: code that handles
 * uint32 sequence numbers above 2^31 allocates heap numbers while it still runs in the
 * interpreter, and how long that lasts depends on concurrent compilation timing (2 vCPUs here),
 * which made whole-process counts flaky (3 to 110 for the same loop).
 */

import { execFileSync } from 'node:child_process';

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
