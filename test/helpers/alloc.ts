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
