import test from 'ava';
import { RtoEstimator } from '../../../src/vtcp/rto.js';
import { PktRangeError } from '../../../src/errors.js';

test('before any sample: RTO = initial 1 s (RFC 6298 §2.1), srtt -1', (t) => {
  const r = new RtoEstimator();
  t.is(r.rto, 1000);
  t.is(r.srtt, -1);
  t.is(r.rttvar, 0);
  t.false(r.hasSample);
});

// Figures computed by hand from RFC 6298 §2.2-2.3 (alpha 1/8, beta 1/4, K 4, G 1 ms), min 200 ms.
const sequenceCase = test.macro({
  exec(t, samples: number[], want: Array<[srtt: number, rttvar: number, rto: number]>) {
    const r = new RtoEstimator({ minMs: 200 });
    samples.forEach((s, i) => {
      r.sample(s);
      const [srtt, rttvar, rto] = want[i]!;
      t.is(r.srtt, srtt, `srtt after sample ${i}`);
      t.is(r.rttvar, rttvar, `rttvar after sample ${i}`);
      t.is(r.rto, rto, `rto after sample ${i}`);
    });
  },
  title: (what = '', samples: number[]) => `RFC 6298 figures for samples ${samples.join(', ')} ${what}`.trim(),
});

test('(first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR)', sequenceCase, [100], [[100, 50, 300]]);
test('(steady RTT: RTTVAR decays by 3/4)', sequenceCase, [100, 100, 100], [
  [100, 50, 300],
  [100, 37.5, 250],
  [100, 28.125, 212.5],
]);
test('(RTTVAR uses the old SRTT, then SRTT moves)', sequenceCase, [100, 200], [
  [100, 50, 300],
  // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
  [112.5, 62.5, 362.5],
]);
test('(below the minimum: clamped to 200 ms)', sequenceCase, [10, 10], [
  [10, 5, 200],
  [10, 3.75, 200],
]);
test('(huge sample: clamped to 60 s)', sequenceCase, [50_000], [[50_000, 25_000, 60_000]]);

test('granularity G bounds the variance term (RTO = SRTT + max(G, K RTTVAR))', (t) => {
  const r = new RtoEstimator({ minMs: 1, granularityMs: 100 });
  r.sample(10); // K * RTTVAR = 20 < G
  t.is(r.rto, 110);
});

test('default minimum is RFC 6298 §2.4 1 s', (t) => {
  const r = new RtoEstimator();
  r.sample(100);
  t.is(r.rto, 1000);
});

test('backoff doubles, caps at max, and a sample clears it (RFC 6298 §5.5, §5.7)', (t) => {
  const r = new RtoEstimator({ minMs: 200, maxMs: 60_000 });
  r.sample(100); // 300
  const want = [600, 1200, 2400, 4800, 9600, 19200, 38400, 60000, 60000];
  for (const w of want) {
    r.backoff();
    t.is(r.rto, w);
  }
  t.is(r.backoffs, want.length);
  r.sample(100);
  t.is(r.backoffs, 0);
  t.is(r.rto, 250);
});

test('backoff before any sample starts from the initial RTO', (t) => {
  const r = new RtoEstimator({ initialMs: 1000, maxMs: 3000 });
  r.backoff();
  t.is(r.rto, 2000);
  r.backoff();
  t.is(r.rto, 3000);
});

test('reset returns to the initial state', (t) => {
  const r = new RtoEstimator({ minMs: 200 });
  r.sample(100);
  r.backoff();
  r.reset();
  t.is(r.rto, 1000);
  t.is(r.srtt, -1);
  t.is(r.backoffs, 0);
});

test('bad samples are ignored', (t) => {
  const r = new RtoEstimator({ minMs: 200 });
  r.sample(-5);
  r.sample(Number.NaN);
  r.sample(Infinity);
  t.is(r.srtt, -1);
  t.is(r.rto, 1000);
});

test('zero sample is accepted', (t) => {
  const r = new RtoEstimator({ minMs: 200 });
  r.sample(0);
  t.is(r.srtt, 0);
  t.is(r.rto, 200);
});

test('bad bounds throw', (t) => {
  t.throws(() => new RtoEstimator({ minMs: 0 }), { instanceOf: PktRangeError });
  t.throws(() => new RtoEstimator({ minMs: 500, maxMs: 100 }), { instanceOf: PktRangeError });
  t.throws(() => new RtoEstimator({ initialMs: -1 }), { instanceOf: PktRangeError });
});
