/**
 * Catching quadratic parsers (noble's `slow-dos` idea): time a parse on an input and on one 16
 * times larger; a linear parser takes about 16x as long, a quadratic one about 256x. The bound
 * the tests use is generous (a few times linear) so that a noisy machine does not fail them,
 * while a quadratic walk still does. Best of several rounds, after a warm-up, so that JIT tiers
 * and GC pauses do not count.
 */

/** Best time in nanoseconds, over `rounds` rounds, of calling `fn` `reps` times. */
export function bestTimeNs(fn: () => unknown, reps: number, rounds = 7): number {
  for (let i = 0; i < reps; i++) fn();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns < best) best = ns;
  }
  return best;
}

/**
 * Time per call of `large` over time per call of `small` (best of rounds each), the lowest of
 * `tries` measurements: a busy machine can only make a ratio look worse, never better.
 */
export function scalingRatio(small: () => unknown, large: () => unknown, reps: number, tries = 3): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < tries; i++) {
    const a = bestTimeNs(small, reps);
    const b = bestTimeNs(large, reps);
    best = Math.min(best, b / Math.max(a, 1));
  }
  return best;
}
