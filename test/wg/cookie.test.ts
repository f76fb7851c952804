import test from 'ava';
import { CookieChecker, CookieGenerator, HandshakeRateLimiter, LoadDetector } from '../../src/wg/cookie.js';
import { fromHex, toHex } from '../../src/wire/bytes.js';
import * as V from '../vectors/wg-noise.js';
import { vectorPair } from './helpers.js';

const SRC = fromHex(V.cookie.src);

function fixedRandom(bytes: Uint8Array): (b: Uint8Array) => void {
  return (b) => b.set(bytes.subarray(0, b.length));
}

test('cookie reply vector (notes §7.2): bytes, cookie, and mac2 of the initiation', (t) => {
  const p = vectorPair();
  const init = fromHex(V.initiation);
  const checker = new CookieChecker(p.res, fixedRandom(fromHex(V.cookie.nonce)));
  checker.setSecretForTest(fromHex(V.cookie.secret), 0);
  const reply = new Uint8Array(66).fill(0xa5);
  checker.createReply(init, 0, 148, SRC, 0, SRC.length, 1000, reply, 1);
  t.is(toHex(reply, 1, 64), V.cookie.reply);
  t.is(reply[0], 0xa5);
  t.is(reply[65], 0xa5);
  // The initiator consumes it (its last mac1 is the initiation's) and writes mac2.
  const gen = new CookieGenerator(p.iHs.remoteMac1Key, p.iHs.remoteCookieKey);
  const again = Uint8Array.from(init);
  gen.addMacs(again, 0, 148, 1000);
  t.deepEqual(again, init, 'mac1 as in the vector, mac2 zero without a cookie');
  t.true(gen.consumeReply(reply, 1, 64, 1000));
  gen.addMacs(again, 0, 148, 2000);
  t.is(toHex(again, 132, 16), V.cookie.mac2);
  t.true(checker.checkMac2(again, 0, 148, SRC, 0, SRC.length, 2000));
});

test('mac2: fails until a reply is consumed, fails from another source, and after 120 s', (t) => {
  const p = vectorPair();
  let n = 0;
  const checker = new CookieChecker(p.res, (b) => b.fill(++n));
  const gen = new CookieGenerator(p.iHs.remoteMac1Key, p.iHs.remoteCookieKey);
  const msg = fromHex(V.initiation);
  const src = Uint8Array.of(10, 0, 0, 1, 0x12, 0x34);
  t.false(checker.checkMac2(msg, 0, 148, src, 0, 6, 0), 'no secret yet');
  const reply = new Uint8Array(64);
  t.false(gen.consumeReply(reply, 0, 64, 0), 'no mac1 sent yet');
  gen.addMacs(msg, 0, 148, 0);
  checker.createReply(msg, 0, 148, src, 0, 6, 0, reply, 0);
  t.is(toHex(reply, 4, 4), '44332211', 'receiver = the sender index of the answered message');
  const bad = Uint8Array.from(reply);
  bad[40]! ^= 1;
  t.false(gen.consumeReply(bad, 0, 64, 0));
  t.false(gen.consumeReply(reply, 0, 63, 0));
  t.true(gen.consumeReply(reply, 0, 64, 0));
  gen.addMacs(msg, 0, 148, 10);
  t.true(checker.checkMac1(msg, 0, 148));
  t.true(checker.checkMac2(msg, 0, 148, src, 0, 6, 10));
  t.false(checker.checkMac2(msg, 0, 148, Uint8Array.of(10, 0, 0, 2, 0x12, 0x34), 0, 6, 10), 'other source');
  const flipped = Uint8Array.from(msg);
  flipped[5]! ^= 0x20;
  t.false(checker.checkMac1(flipped, 0, 148));
  t.false(checker.checkMac2(flipped, 0, 148, src, 0, 6, 10));
  t.false(checker.checkMac2(msg, 0, 148, src, 0, 6, 120_001), 'secret older than 120 s');
  // The generator stops writing mac2 after 120 s.
  t.true(gen.hasCookie(120_000));
  t.false(gen.hasCookie(120_001));
  gen.addMacs(msg, 0, 148, 120_001);
  t.is(toHex(msg, 132, 16), '00'.repeat(16));
});

test('the secret rotates: a reply after 120 s uses a new secret, so old cookies stop verifying', (t) => {
  const p = vectorPair();
  let n = 0;
  const checker = new CookieChecker(p.res, (b) => b.fill(++n));
  const gen = new CookieGenerator(p.iHs.remoteMac1Key, p.iHs.remoteCookieKey);
  const msg = fromHex(V.initiation);
  const src = Uint8Array.of(1, 2, 3, 4, 0, 1);
  const reply = new Uint8Array(64);
  gen.addMacs(msg, 0, 148, 0);
  checker.createReply(msg, 0, 148, src, 0, 6, 0, reply, 0);
  gen.consumeReply(reply, 0, 64, 0);
  gen.addMacs(msg, 0, 148, 1);
  const oldMac2 = toHex(msg, 132, 16);
  checker.createReply(msg, 0, 148, src, 0, 6, 130_000, reply, 0); // renews the secret
  t.false(checker.checkMac2(msg, 0, 148, src, 0, 6, 130_000));
  gen.consumeReply(reply, 0, 64, 130_000);
  gen.addMacs(msg, 0, 148, 130_000);
  t.not(toHex(msg, 132, 16), oldMac2);
  t.true(checker.checkMac2(msg, 0, 148, src, 0, 6, 130_000));
});

test('per-source handshake rate limit: burst 5, then 20 per second, per source', (t) => {
  const rl = new HandshakeRateLimiter(16, 1);
  const a = Uint8Array.of(10, 0, 0, 1, 0, 1);
  const b = Uint8Array.of(10, 0, 0, 2, 0, 1);
  const burst = Array.from({ length: 7 }, () => rl.allow(a, 6, 0));
  t.deepEqual(burst, [true, true, true, true, true, false, false]);
  t.true(rl.allow(b, 6, 0), 'another source has its own bucket');
  t.false(rl.allow(a, 6, 40), 'less than one token after 40 ms');
  t.true(rl.allow(a, 6, 50), 'one token per 50 ms');
  t.false(rl.allow(a, 6, 50));
});

test('load detector: more than the threshold of handshakes in a second, sticky for 1 s', (t) => {
  const ld = new LoadDetector(3);
  t.deepEqual([0, 10, 20, 30].map((ms) => ld.handshake(ms)), [false, false, false, true]);
  t.true(ld.handshake(900), 'overloaded again: sticky until 1900');
  t.true(ld.handshake(1899), 'a new window, quiet, but within 1 s of the last overload');
  t.false(ld.handshake(1901));
});
