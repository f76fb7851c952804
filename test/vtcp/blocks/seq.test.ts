import test from 'ava';
import fc from 'fast-check';
import { seqAdd, seqDiff, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin } from '../../../src/vtcp/seq.js';

const MAX = 0xffff_ffff;

const compareCase = test.macro({
  exec(t, a: number, b: number, lt: boolean, eq: boolean) {
    t.is(seqLt(a, b), lt, 'seqLt');
    t.is(seqLe(a, b), lt || eq, 'seqLe');
    t.is(seqGt(a, b), !lt && !eq, 'seqGt');
    t.is(seqGe(a, b), !lt, 'seqGe');
    t.is(seqMax(a, b), lt ? b : a, 'seqMax');
    t.is(seqMin(a, b), lt ? a : b, 'seqMin');
  },
  title: (what = '', a: number, b: number, lt: boolean, eq: boolean) =>
    `compare(${a.toString(16)}, ${b.toString(16)}): ${eq ? '==' : lt ? '<' : '>'} ${what}`.trim(),
});

test('(small)', compareCase, 1, 2, true, false);
test('(equal)', compareCase, 5, 5, false, true);
test('(greater)', compareCase, 1000, 10, false, false);
test('(wrap: max is before 0)', compareCase, MAX, 0, true, false);
test('(wrap: 0 is after max)', compareCase, 0, MAX, false, false);
test('(wrap: 2^32 - 100 before 100)', compareCase, MAX - 99, 100, true, false);
test('(2^31 - 1 apart: before)', compareCase, 0, 0x7fff_ffff, true, false);
test('(2^31 + 1 apart: after)', compareCase, 0, 0x8000_0001, false, false);
test('(equal at max)', compareCase, MAX, MAX, false, true);

const addCase = test.macro({
  exec(t, a: number, n: number, want: number) {
    t.is(seqAdd(a, n), want);
  },
  title: (what = '', a: number, n: number, want: number) => `seqAdd(${a}, ${n}) = ${want} ${what}`.trim(),
});
test(addCase, 1, 2, 3);
test('(wraps)', addCase, MAX, 1, 0);
test('(wraps far)', addCase, MAX - 10, 1460, 1449);
test('(negative)', addCase, 0, -1, MAX);
test('(negative, no wrap)', addCase, 100, -40, 60);

const diffCase = test.macro({
  exec(t, a: number, b: number, want: number) {
    t.is(seqDiff(a, b), want);
  },
  title: (what = '', a: number, b: number, want: number) => `seqDiff(${a}, ${b}) = ${want} ${what}`.trim(),
});
test(diffCase, 10, 3, 7);
test(diffCase, 3, 10, -7);
test('(across the wrap)', diffCase, 5, MAX - 4, 10);
test('(across the wrap, negative)', diffCase, MAX - 4, 5, -10);

const rangeCase = test.macro({
  exec(t, x: number, lo: number, hi: number, want: boolean) {
    t.is(seqInRange(x, lo, hi), want);
  },
  title: (what = '', x: number, lo: number, hi: number, want: boolean) => `seqInRange(${x}, ${lo}, ${hi}) = ${want} ${what}`.trim(),
});
test('(lo is in)', rangeCase, 10, 10, 20, true);
test('(hi is out)', rangeCase, 20, 10, 20, false);
test('(below)', rangeCase, 9, 10, 20, false);
test('(empty range)', rangeCase, 10, 10, 10, false);
test('(wrapping range, high side)', rangeCase, MAX, MAX - 5, 5, true);
test('(wrapping range, low side)', rangeCase, 4, MAX - 5, 5, true);
test('(wrapping range, past hi)', rangeCase, 5, MAX - 5, 5, false);
test('(wrapping range, before lo)', rangeCase, MAX - 6, MAX - 5, 5, false);

test('properties: ordering is antisymmetric and consistent with seqAdd (|n| < 2^31)', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAX }), fc.integer({ min: 1, max: 0x7fff_ffff }), (a, n) => {
      const b = seqAdd(a, n);
      return seqLt(a, b) && seqGt(b, a) && !seqLt(b, a) && seqDiff(b, a) === n && seqDiff(a, b) === -n && seqInRange(a, a, b) && !seqInRange(b, a, b);
    }),
  );
  t.pass();
});
