import test from 'ava';
import { CookieChecker, CookieGenerator } from '../../src/wg/cookie.js';
import { keyPairFromPrivate } from '../../src/wg/crypto.js';
import {
  HandshakeState, beginSession, consumeInitiation, consumeResponse, createInitiation, createResponse, type Handshake,
} from '../../src/wg/noise.js';
import { WgDrop } from '../../src/wg/stats.js';
import { fromHex, toHex } from '../../src/wire/bytes.js';
import * as V from '../vectors/wg-noise.js';
import { vectorPair, seededRandom, type Pair } from './helpers.js';

const TS = fromHex(V.inputs.timestamp);

function traced(p: Pair): { ini: Map<string, string>; res: Map<string, string> } {
  const ini = new Map<string, string>();
  const res = new Map<string, string>();
  p.ini.trace = (l, v) => ini.set(l, toHex(v));
  p.res.trace = (l, v) => res.set(l, toHex(v));
  return { ini, res };
}

/** Runs the §7.2 handshake; returns the messages (with mac1/mac2 as sent) and both sessions. */
function runVector(p: Pair) {
  const init = new Uint8Array(148).fill(0xa5);
  t0(createInitiation(p.ini, p.iHs, p.ei, V.inputs.initiatorIndex, TS, init, 0));
  new CookieGenerator(p.iHs.remoteMac1Key, p.iHs.remoteCookieKey).addMacs(init, 0, 148, 0);
  const got = consumeInitiation(p.res, init, 0, 148, 1000, (k) => (toHex(k) === toHex(p.ini.publicKey) ? p.rHs : null));
  const resp = new Uint8Array(92).fill(0xa5);
  t0(got === p.rHs && createResponse(p.res, p.rHs, p.er, V.inputs.responderIndex, resp, 0));
  new CookieGenerator(p.rHs.remoteMac1Key, p.rHs.remoteCookieKey).addMacs(resp, 0, 92, 0);
  const rc = consumeResponse(p.ini, p.iHs, resp, 0, 92);
  const iKeys = beginSession(p.ini, p.iHs);
  const rKeys = beginSession(p.res, p.rHs);
  return { init, resp, rc, iKeys: iKeys!, rKeys: rKeys! };
}
function t0(ok: boolean): void {
  if (!ok) throw new Error('handshake step failed');
}

test('fixed-key vectors (notes §7.2, no PSK): every intermediate value, both messages, transport keys', (t) => {
  const p = vectorPair();
  const tr = traced(p);
  const { init, resp, rc, iKeys, rKeys } = runVector(p);
  for (const [label, hex] of V.msg1Trace) t.is(tr.ini.get(label), hex, label);
  t.is(toHex(init), V.initiation);
  for (const [label, hex] of V.msg2Trace) t.is(tr.res.get(label), hex, label);
  t.is(toHex(resp), V.response);
  t.is(rc, 0);
  t.is(tr.ini.get('T1'), V.T1);
  t.is(tr.ini.get('T2'), V.T2);
  t.is(toHex(iKeys.sendKey), V.T1);
  t.is(toHex(iKeys.recvKey), V.T2);
  t.is(toHex(rKeys.sendKey), V.T2);
  t.is(toHex(rKeys.recvKey), V.T1);
  t.true(iKeys.isInitiator);
  t.false(rKeys.isInitiator);
  t.is(iKeys.localIndex, V.inputs.initiatorIndex);
  t.is(iKeys.remoteIndex, V.inputs.responderIndex);
  t.is(rKeys.localIndex, V.inputs.responderIndex);
  t.is(rKeys.remoteIndex, V.inputs.initiatorIndex);
  // Cleared after derivation.
  t.is(p.iHs.state, HandshakeState.Zeroed);
  t.is(p.rHs.state, HandshakeState.Zeroed);
  t.is(p.iHs.ephemeral, null);
});

test('fixed-key vectors with PSK 99 x 32: message 1 identical, message 2 and keys as listed', (t) => {
  const p = vectorPair(fromHex(V.inputs.psk));
  const tr = traced(p);
  const { init, resp, iKeys, rKeys } = runVector(p);
  t.is(toHex(init), V.initiation);
  t.is(tr.res.get('C (after psk)'), V.withPsk.cAfterPsk);
  t.is(tr.res.get('tau'), V.withPsk.tau);
  t.is(toHex(resp), V.withPsk.response);
  t.is(toHex(iKeys.sendKey), V.withPsk.T1);
  t.is(toHex(rKeys.sendKey), V.withPsk.T2);
});

test('both sides hold the same chaining key and hash after each message (random keys)', (t) => {
  const rnd = seededRandom(99);
  const p = vectorPair();
  const rb = (): Uint8Array => { const b = new Uint8Array(32); rnd(b); return b; };
  const init = new Uint8Array(148);
  t.true(createInitiation(p.ini, p.iHs, keyPairFromPrivate(rb()), 7, TS, init, 0));
  t.is(consumeInitiation(p.res, init, 0, 148, 0, () => p.rHs), p.rHs);
  t.deepEqual(p.iHs.chainKey, p.rHs.chainKey);
  t.deepEqual(p.iHs.hash, p.rHs.hash);
  const resp = new Uint8Array(92);
  t.true(createResponse(p.res, p.rHs, keyPairFromPrivate(rb()), 9, resp, 0));
  t.is(consumeResponse(p.ini, p.iHs, resp, 0, 92), 0);
  t.deepEqual(p.iHs.chainKey, p.rHs.chainKey);
  t.deepEqual(p.iHs.hash, p.rHs.hash);
});

function snapshot(hs: Handshake): string {
  return [hs.state, toHex(hs.chainKey), toHex(hs.hash), hs.localIndex, hs.remoteIndex, toHex(hs.lastTimestamp), hs.lastInitiationConsumedMs, toHex(hs.remoteEphemeral)].join('|');
}

test('tampered initiations are rejected with no state change', (t) => {
  const p = vectorPair();
  const init = new Uint8Array(148);
  createInitiation(p.ini, p.iHs, p.ei, V.inputs.initiatorIndex, TS, init, 0);
  const lookup = (): Handshake => p.rHs;
  const before = snapshot(p.rHs);
  const cases: [string, (m: Uint8Array) => Uint8Array, WgDrop][] = [
    ['147 bytes', (m) => m.subarray(0, 147), WgDrop.BadLength],
    ['non-zero reserved byte', (m) => { m[2] = 1; return m; }, WgDrop.BadType],
    ['flipped static', (m) => { m[50]! ^= 1; return m; }, WgDrop.AuthFailed],
    ['flipped timestamp', (m) => { m[100]! ^= 1; return m; }, WgDrop.AuthFailed],
    ['flipped ephemeral', (m) => { m[9]! ^= 1; return m; }, WgDrop.AuthFailed],
    ['all-zero ephemeral', (m) => { m.fill(0, 8, 40); return m; }, WgDrop.BadKey],
  ];
  for (const [name, mut, want] of cases) {
    const m = mut(Uint8Array.from(init));
    t.is(consumeInitiation(p.res, m, 0, m.length, 0, lookup), want, name);
    t.is(snapshot(p.rHs), before, name);
  }
  t.is(consumeInitiation(p.res, init, 0, 148, 0, () => null), WgDrop.UnknownPeer);
  t.is(snapshot(p.rHs), before);
});

test('TAI64N rule: a timestamp not after the last is a replay; two within 20 ms are a flood', (t) => {
  const p = vectorPair();
  const msg = (ts: Uint8Array): Uint8Array => {
    const m = new Uint8Array(148);
    createInitiation(p.ini, p.iHs, p.ei, 1, ts, m, 0);
    return m;
  };
  const ts = (nanos: number): Uint8Array => { const b = Uint8Array.from(TS); b[11] = nanos; return b; };
  const first = msg(ts(5));
  t.is(consumeInitiation(p.res, first, 0, 148, 1000, () => p.rHs), p.rHs);
  const s = snapshot(p.rHs);
  t.is(consumeInitiation(p.res, first, 0, 148, 5000, () => p.rHs), WgDrop.HandshakeReplay, 'same message replayed');
  t.is(consumeInitiation(p.res, msg(ts(4)), 0, 148, 5000, () => p.rHs), WgDrop.HandshakeReplay, 'older timestamp');
  t.is(snapshot(p.rHs), s);
  t.is(consumeInitiation(p.res, msg(ts(6)), 0, 148, 1019, () => p.rHs), WgDrop.HandshakeFlood, '19 ms later');
  t.is(snapshot(p.rHs), s);
  t.is(consumeInitiation(p.res, msg(ts(6)), 0, 148, 1020, () => p.rHs), p.rHs, '20 ms later');
});

test('responses: tampered, wrong receiver, or to a superseded initiation are rejected with no state change', (t) => {
  const p = vectorPair();
  const init = new Uint8Array(148);
  createInitiation(p.ini, p.iHs, p.ei, 0x11223344, TS, init, 0);
  consumeInitiation(p.res, init, 0, 148, 0, () => p.rHs);
  const resp = new Uint8Array(92);
  createResponse(p.res, p.rHs, p.er, 0xaabbccdd, resp, 0);
  const before = snapshot(p.iHs);
  for (const [name, i] of [['ephemeral', 20], ['empty tag', 50]] as const) {
    const m = Uint8Array.from(resp);
    m[i]! ^= 0x40;
    t.is(consumeResponse(p.ini, p.iHs, m, 0, 92), WgDrop.AuthFailed, name);
    t.is(snapshot(p.iHs), before);
  }
  const wrongRecv = Uint8Array.from(resp);
  wrongRecv[8]! ^= 1;
  t.is(consumeResponse(p.ini, p.iHs, wrongRecv, 0, 92), WgDrop.UnknownIndex);
  t.is(consumeResponse(p.ini, p.iHs, resp, 0, 91), WgDrop.BadLength);
  t.is(snapshot(p.iHs), before);
  // A new initiation supersedes the first: the old response no longer matches.
  createInitiation(p.ini, p.iHs, p.ei, 0x55667788, TS, new Uint8Array(148), 0);
  t.is(consumeResponse(p.ini, p.iHs, resp, 0, 92), WgDrop.UnknownIndex);
  t.is(beginSession(p.ini, p.iHs), null, 'no keys from an incomplete handshake');
});

test('mac1 of the vector messages verifies with the receivers checker; a flipped bit breaks it', (t) => {
  const p = vectorPair();
  const { init, resp } = runVector(p);
  const rnd = seededRandom();
  t.true(new CookieChecker(p.res, rnd).checkMac1(init, 0, 148));
  t.true(new CookieChecker(p.ini, rnd).checkMac1(resp, 0, 92));
  t.false(new CookieChecker(p.ini, rnd).checkMac1(init, 0, 148), 'wrong receiver key');
  init[5]! ^= 0x20;
  t.false(new CookieChecker(p.res, rnd).checkMac1(init, 0, 148));
});
