import test from 'ava';
import fc from 'fast-check';
import { REPLAY_WINDOW, ReplayFilter } from '../../src/wg/replay.js';
import { replaySequence, REPLAY_WINDOW as W } from '../vectors/wg-noise.js';

const lo = (c: bigint): number => Number(c & 0xffff_ffffn);
const hi = (c: bigint): number => Number(c >> 32n);
const v = (f: ReplayFilter, c: bigint): boolean => f.validate(lo(c), hi(c));

test('window is 8128 as wireguard-go', (t) => {
  t.is(BigInt(REPLAY_WINDOW), W);
});

test('wireguard-go replay_test.go sequence (notes §5)', (t) => {
  const f = new ReplayFilter();
  replaySequence().forEach(([c, want], i) => {
    const pre = f.wouldAccept(lo(c), hi(c));
    const got = v(f, c);
    t.is(got, want, `step ${i}: counter ${c}`);
    if (!pre) t.false(got, `pre-check said no at step ${i}`);
  });
});

const bulk: [string, (f: ReplayFilter, t: import('ava').ExecutionContext) => void][] = [
  ['1..W, then 0 once', (f, t) => {
    for (let c = 1n; c <= W; c++) t.true(v(f, c));
    t.true(v(f, 0n));
    t.false(v(f, 0n));
  }],
  ['2..W+1, then 1, not 0', (f, t) => {
    for (let c = 2n; c <= W + 1n; c++) t.true(v(f, c));
    t.true(v(f, 1n));
    t.false(v(f, 0n));
  }],
  ['W+1 down to 1', (f, t) => {
    for (let c = W + 1n; c >= 1n; c--) t.true(v(f, c));
  }],
  ['W+2 down to 2, not 0', (f, t) => {
    for (let c = W + 2n; c >= 2n; c--) t.true(v(f, c));
    t.false(v(f, 0n));
  }],
  ['W down to 1, W+1, not 0', (f, t) => {
    for (let c = W; c >= 1n; c--) t.true(v(f, c));
    t.true(v(f, W + 1n));
    t.false(v(f, 0n));
  }],
  ['W down to 1, 0, W+1', (f, t) => {
    for (let c = W; c >= 1n; c--) t.true(v(f, c));
    t.true(v(f, 0n));
    t.true(v(f, W + 1n));
  }],
];
for (const [name, run] of bulk) {
  test(`bulk (replay_test.go): ${name}`, (t) => {
    const f = new ReplayFilter();
    run(f, t);
  });
}

test('moving across a 2^38 block-number boundary keeps the window (no spurious reset)', (t) => {
  const f = new ReplayFilter();
  const base = 2n ** 38n - 64n;
  t.true(v(f, base));
  t.true(v(f, 2n ** 38n));
  t.false(v(f, base), 'still remembered');
  t.true(v(f, base + 1n));
});

test('differential against a Set-based reference model (fast-check)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 20000n }), fc.bigInt({ min: 2n ** 32n - 9000n, max: 2n ** 32n + 9000n })), { maxLength: 300 }), (cs) => {
      const f = new ReplayFilter();
      const seen = new Set<bigint>();
      let last = 0n;
      for (const c of cs) {
        const want = !seen.has(c) && (c > last || last - c <= W);
        if (v(f, c) !== want) return false;
        if (want) {
          seen.add(c);
          if (c > last) last = c;
        }
      }
      return true;
    }),
  );
  t.pass();
});
