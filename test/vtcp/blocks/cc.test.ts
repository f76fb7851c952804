import test from 'ava';
import { NewReno, initialWindow } from '../../../src/vtcp/cc/newreno.js';
import { CUBIC_ALPHA, CUBIC_BETA, CUBIC_C, Cubic, cubicK, cubicWindow } from '../../../src/vtcp/cc/cubic.js';
import { createCongestionControl } from '../../../src/vtcp/cc/index.js';
import type { CongestionControlName } from '../../../src/vtcp/contract.js';
import { PktRangeError } from '../../../src/errors.js';

const MSS = 1460;

const iwCase = test.macro({
  exec(t, mss: number, want: number) {
    t.is(initialWindow(mss), want);
    t.is(new NewReno(mss).cwnd, want);
    t.is(new Cubic(mss).cwnd, want);
  },
  title: (what = '', mss: number, want: number) => `RFC 6928 initial window for MSS ${mss} is ${want} ${what}`.trim(),
});
test('(10 MSS)', iwCase, 1460, 14600);
test('(10 MSS, small)', iwCase, 536, 5360);
test('(14600 bytes)', iwCase, 1800, 14600);
test('(2 MSS, jumbo)', iwCase, 9000, 18000);

test('NewReno slow start: +min(N, 2 SMSS) per ACK (RFC 3465 L = 2)', (t) => {
  const cc = new NewReno(MSS);
  t.is(cc.ssthresh, Infinity);
  cc.onAck(MSS, 0, -1, 0);
  t.is(cc.cwnd, 14600 + 1460);
  cc.onAck(2 * MSS, 0, -1, 0);
  t.is(cc.cwnd, 14600 + 3 * 1460);
  cc.onAck(10 * MSS, 0, -1, 0);
  t.is(cc.cwnd, 14600 + 5 * 1460, 'a stretch ACK counts at most 2 SMSS');
  cc.onAck(0, 0, -1, 0);
  t.is(cc.cwnd, 14600 + 5 * 1460, 'no new data, no growth');
});

test('NewReno loss: ssthresh = max(FlightSize/2, 2 SMSS), cwnd = ssthresh (RFC 5681 eq. 4)', (t) => {
  const cc = new NewReno(MSS);
  cc.onLoss(40_000, 0);
  t.is(cc.ssthresh, 20_000);
  t.is(cc.cwnd, 20_000);
  cc.onLoss(1000, 0);
  t.is(cc.ssthresh, 2 * MSS, 'never below 2 SMSS');
  cc.onRecoveryEnd(0);
  t.is(cc.cwnd, 2 * MSS);
});

test('NewReno congestion avoidance: +1 SMSS per cwnd of bytes acknowledged (RFC 5681 §3.1 byte counting)', (t) => {
  const cc = new NewReno(MSS);
  cc.onLoss(20 * MSS * 2, 0); // cwnd = ssthresh = 20 MSS
  t.is(cc.cwnd, 20 * MSS);
  for (let i = 0; i < 19; i++) cc.onAck(MSS, 0, -1, 0);
  t.is(cc.cwnd, 20 * MSS, '19 segments: not yet');
  cc.onAck(MSS, 0, -1, 0);
  t.is(cc.cwnd, 21 * MSS, 'a full window: +1 SMSS');
  for (let i = 0; i < 21; i++) cc.onAck(MSS, 0, -1, 0);
  t.is(cc.cwnd, 22 * MSS);
});

test('NewReno RTO: ssthresh from the flight, cwnd = 1 SMSS, then slow start again', (t) => {
  const cc = new NewReno(MSS);
  for (let i = 0; i < 20; i++) cc.onAck(2 * MSS, 0, -1, 0);
  cc.onRto(30_000, 0);
  t.is(cc.ssthresh, 15_000);
  t.is(cc.cwnd, MSS);
  cc.onAck(MSS, 0, -1, 0);
  t.is(cc.cwnd, 2 * MSS, 'slow start below ssthresh');
  cc.restartAfterIdle();
  t.is(cc.cwnd, 2 * MSS, 'restart never grows the window');
  cc.init(MSS, 0);
  t.is(cc.cwnd, 14600);
  t.is(cc.ssthresh, Infinity);
});

// RFC 9438 figures: W_max = 100 segments, beta 0.7: cwnd_epoch 70, K = cbrt(30 / 0.4) = cbrt(75).
const kCase = test.macro({
  exec(t, wMax: number, epoch: number, want: number) {
    t.true(Math.abs(cubicK(wMax, epoch) - want) < 1e-9, `${cubicK(wMax, epoch)} vs ${want}`);
  },
  title: (what = '', wMax: number, epoch: number, want: number) => `CUBIC K(${wMax}, ${epoch}) = ${want.toFixed(4)} s ${what}`.trim(),
});
test('(beta reduction of 100)', kCase, 100, 70, Math.cbrt(75));
test('(beta reduction of 1000)', kCase, 1000, 700, Math.cbrt(750));
test('(no W_max above: 0)', kCase, 50, 60, 0);

const wCase = test.macro({
  exec(t, tSec: number, want: number) {
    const k = Math.cbrt(75);
    t.true(Math.abs(cubicWindow(tSec, k, 100) - want) < 1e-9);
  },
  title: (what = '', tSec: number, want: number) => `CUBIC W(${tSec}) = ${want.toFixed(3)} for W_max 100 ${what}`.trim(),
});
test('(t = 0: cwnd_epoch)', wCase, 0, 70);
test('(t = K: the plateau)', wCase, Math.cbrt(75), 100);
test('(t = 2K: convex, mirror of t = 0)', wCase, 2 * Math.cbrt(75), 130);
test('(t = 1 s)', wCase, 1, CUBIC_C * (1 - Math.cbrt(75)) ** 3 + 100);
test('(t = 6 s)', wCase, 6, CUBIC_C * (6 - Math.cbrt(75)) ** 3 + 100);

test('CUBIC constants (RFC 9438 §5): C = 0.4, beta = 0.7, alpha = 3(1-beta)/(1+beta)', (t) => {
  t.is(CUBIC_C, 0.4);
  t.is(CUBIC_BETA, 0.7);
  t.true(Math.abs(CUBIC_ALPHA - 0.9 / 1.7) < 1e-12);
});

/** A CUBIC sender at 100 segments that lost once: cwnd 70 segments, W_max 100. */
function cubicAfterLoss(opts = {}): Cubic {
  const cc = new Cubic(MSS, 0, opts);
  while (cc.cwnd < 100 * MSS) cc.onAck(2 * MSS, 0, -1, 0);
  // Exactly 100 segments: slow start may overshoot by < 2 MSS, so set up by a loss at 100.
  cc.onLoss(100 * MSS, 0);
  return cc;
}

test('CUBIC loss: W_max = cwnd, ssthresh = cwnd = 0.7 flight (RFC 9438 §4.6)', (t) => {
  const cc = cubicAfterLoss();
  t.is(cc.ssthresh, Math.floor(0.7 * 100 * MSS));
  t.is(cc.cwnd, Math.floor(0.7 * 100 * MSS));
  t.true(cc.wMax >= 100 * MSS && cc.wMax < 102 * MSS, 'W_max is the cwnd before the reduction');
});

test('CUBIC follows W(t) through the concave and convex regions (ACK clock, RTT 100 ms)', (t) => {
  // Grow to exactly 100 segments, then lose: W_max 100, cwnd_epoch 70.
  const c2 = new Cubic(MSS, 0, { fastConvergence: false });
  while (c2.cwnd < 100 * MSS) c2.onAck(MSS, 0, -1, 0);
  t.true(c2.cwnd === 100 * MSS);
  c2.onLoss(100 * MSS, 0);
  c2.onRecoveryEnd(0);
  const rttMs = 100;
  let now = 1000;
  const wMaxSeg = c2.wMax / MSS;
  let k = -1;
  // W_est grows by alpha (0.53) segments per RTT from 70, then 1 from 100 (cwnd_prior): it
  // passes W_cubic near t = 5.8 s, and the Reno-friendly region takes over (checked after).
  const checks = [1, 2, 3, 4, 5];
  for (let rtt = 0; rtt < 75; rtt++) {
    // One RTT: a window's worth of ACKs, one per segment, spread over the RTT.
    const segs = Math.floor(c2.cwnd / MSS);
    for (let i = 0; i < segs; i++) c2.onAck(MSS, c2.cwnd, rttMs, now + (i * rttMs) / segs);
    if (k < 0) k = c2.k;
    now += rttMs;
    const tSec = (now - 1000) / 1000;
    if (checks.includes(Math.round(tSec * 10) / 10)) {
      const want = cubicWindow(tSec, k, wMaxSeg);
      const got = c2.cwnd / MSS;
      t.true(Math.abs(got - want) / want < 0.03, `t=${tSec}: cwnd ${got.toFixed(2)} segments, W(t) ${want.toFixed(2)}`);
    }
  }
  t.true(Math.abs(k - Math.cbrt((100 - 70) / 0.4)) < 0.01, `K ${k}`);
  t.is(c2.cwndEpoch, 70 * MSS);
  const tEnd = (now - 1000) / 1000;
  t.true(cubicWindow(tEnd, k, wMaxSeg) * MSS < c2.wEst, 'at 7.5 s W_est is above W_cubic');
  t.true(Math.abs(c2.cwnd - c2.wEst) < MSS, 'and cwnd follows W_est');
});

test('CUBIC Reno-friendly region (§4.3): with time standing still, cwnd grows as W_est', (t) => {
  const cc = cubicAfterLoss();
  cc.onRecoveryEnd(0);
  const start = cc.cwnd;
  // A whole window acknowledged at t = 0 with no RTT known: W_cubic(0) = cwnd_epoch, so only
  // W_est can move the window: by alpha_cubic segments per window.
  const segs = Math.round(start / MSS);
  for (let i = 0; i < segs; i++) cc.onAck(MSS, start, -1, 5000);
  const grown = (cc.cwnd - start) / MSS;
  t.true(grown > 0.5 && grown < 0.56, `grew ${grown} segments, alpha is ${CUBIC_ALPHA}`);
  t.true(Math.abs(cc.wEst - cc.cwnd) < 1);
  // Once W_est reaches cwnd_prior, alpha becomes 1: about one segment per window.
  while (cc.wEst < cc.cwndPrior) for (let i = 0; i < 100; i++) cc.onAck(MSS, 0, -1, 5000);
  const before = cc.wEst;
  const w = Math.round(cc.cwnd / MSS);
  for (let i = 0; i < w; i++) cc.onAck(MSS, 0, -1, 5000);
  const perWindow = (cc.wEst - before) / MSS;
  t.true(perWindow > 0.95 && perWindow < 1.01, `${perWindow} segments per window with alpha 1`);
});

test('CUBIC fast convergence (§4.7): a loss below W_max sets W_max = cwnd (1 + beta) / 2', (t) => {
  for (const fast of [true, false]) {
    const cc = cubicAfterLoss({ fastConvergence: fast });
    cc.onRecoveryEnd(0);
    const cwnd = cc.cwnd;
    t.true(cwnd < cc.wMax);
    cc.onLoss(cwnd, 1000);
    t.is(cc.wMax, fast ? (cwnd * 1.7) / 2 : cwnd, fast ? 'fast convergence' : 'without');
    t.is(cc.cwndPrior, cwnd);
    t.is(cc.ssthresh, Math.floor(cwnd * 0.7));
  }
});

test('CUBIC timeout (§4.8): cwnd 1 SMSS, then the next epoch starts with K = 0 and W_max = cwnd', (t) => {
  const cc = cubicAfterLoss();
  cc.onRto(50 * MSS, 100);
  t.is(cc.cwnd, MSS);
  t.is(cc.ssthresh, Math.floor(0.7 * 50 * MSS));
  while (cc.cwnd < cc.ssthresh) cc.onAck(2 * MSS, 0, -1, 200);
  const atCa = cc.cwnd;
  cc.onAck(MSS, 0, 100, 300);
  t.is(cc.epochStart, 300);
  t.is(cc.k, 0);
  t.is(cc.wMax, atCa);
});

test('createCongestionControl makes each kind; an unknown name throws', (t) => {
  for (const name of ['newreno', 'cubic'] as const) {
    const cc = createCongestionControl(name);
    t.is(cc.name, name);
    cc.init(1000, 0);
    t.is(cc.cwnd, 10_000);
    t.is(cc.ssthresh, Infinity);
  }
  t.throws(() => createCongestionControl('bbr' as CongestionControlName), { instanceOf: PktRangeError });
});
