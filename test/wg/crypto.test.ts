import test from 'ava';
import { createCipheriv } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { blake2s } from '@noble/hashes/blake2.js';
import fc from 'fast-check';
import {
  OPENSSL_BLAKE2S, aeadOpen, aeadSeal, compareTai64n, dh, genkey, genpsk, hash, hmac, hmacNoble, kdf1, kdf2, kdf3, keyFromBase64, keyFromHex, keyPairFromPrivate,
  keyToBase64, keyToHex, macInto, pubkey, tai64n, toKey, xaeadOpen, xaeadSeal,
} from '../../src/wg/crypto.js';
import { INITIAL_CHAIN_KEY, INITIAL_HASH } from '../../src/wg/noise.js';
import { fromHex, toHex } from '../../src/wire/bytes.js';
import * as V from '../vectors/wg-noise.js';

test('HASH and HMAC-BLAKE2s: node:crypto (OpenSSL) and @noble/hashes agree (fast-check)', (t) => {
  t.true(OPENSSL_BLAKE2S, 'Node 20 built with OpenSSL 3 has blake2s256');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 130 }), fc.uint8Array({ maxLength: 200 }), (k, d) => {
      return toHex(hmac(k, d)) === toHex(hmacNoble(k, d)) && toHex(hash(k, d)) === toHex(blake2s(new Uint8Array([...k, ...d])));
    }),
  );
  t.pass();
});

test('C0 and H0 are the notes constants', (t) => {
  t.is(toHex(INITIAL_CHAIN_KEY), V.C0);
  t.is(toHex(INITIAL_HASH), V.H0);
});

for (const [key, input, t1, t2, t3] of V.kdfVectors) {
  test(`KDF1/2/3 known answers (wireguard-go kdf_test.go) key=${key || 'empty'}`, (t) => {
    const k = fromHex(key);
    const i = fromHex(input);
    t.is(toHex(kdf1(k, i)), t1);
    const [a, b] = kdf2(k, i);
    t.deepEqual([toHex(a), toHex(b)], [t1, t2]);
    t.deepEqual(kdf3(k, i).map((x) => toHex(x)), [t1, t2, t3]);
  });
}

test('X25519 through node:crypto: public keys and the static-static secret of the vectors', (t) => {
  const i = keyPairFromPrivate(fromHex(V.inputs.si));
  const r = keyPairFromPrivate(fromHex(V.inputs.sr));
  t.is(toHex(i.publicKey), V.derived.Si);
  t.is(toHex(r.publicKey), V.derived.Sr);
  t.is(toHex(keyPairFromPrivate(fromHex(V.inputs.ei)).publicKey), V.derived.Ei);
  t.is(toHex(keyPairFromPrivate(fromHex(V.inputs.er)).publicKey), V.derived.Er);
  const a = new Uint8Array(32);
  const b = new Uint8Array(32);
  t.true(dh(i.keyObject, r.publicKey, a));
  t.true(dh(r.keyObject, i.publicKey, b));
  t.is(toHex(a), V.derived.ss);
  t.deepEqual(a, b);
});

test('X25519: a low-order public key (all-zero result) is refused, output untouched', (t) => {
  const i = keyPairFromPrivate(fromHex(V.inputs.si));
  const out = new Uint8Array(32).fill(0xa5);
  t.false(dh(i.keyObject, new Uint8Array(32), out));
  t.false(dh(i.keyObject, Uint8Array.of(1, ...new Uint8Array(31)), out));
  t.true(out.every((x) => x === 0xa5));
});

test('private keys are clamped', (t) => {
  const kp = keyPairFromPrivate(new Uint8Array(32).fill(0xff));
  t.is(kp.privateKey[0], 0xf8);
  t.is(kp.privateKey[31], 0x7f);
});

test('mac1 key and cookie key of S_r', (t) => {
  const enc = new TextEncoder();
  t.is(toHex(hash(enc.encode('mac1----'), fromHex(V.derived.Sr))), V.derived.mac1keySr);
  t.is(toHex(hash(enc.encode('cookie--'), fromHex(V.derived.Sr))), V.derived.cookiekeySr);
});

test('keyed BLAKE2s-128 MAC: the cookie of the vector', (t) => {
  const out = new Uint8Array(20).fill(0xa5);
  const src = fromHex(V.cookie.src);
  macInto(fromHex(V.cookie.secret), src, 0, src.length, out, 2);
  t.is(toHex(out, 2, 16), V.cookie.cookie);
  t.is(out[0], 0xa5);
  t.is(out[18], 0xa5);
});

test('ChaCha20-Poly1305 (node:crypto): empty seal tag of the notes, round trip, tamper', (t) => {
  const key = fromHex(V.emptySealTag.key);
  const out = new Uint8Array(16);
  aeadSeal(key, new Uint8Array(0), new Uint8Array(0), out, 0);
  t.is(toHex(out), V.emptySealTag.tag);
  const box = new Uint8Array(4 + 32 + 16);
  const pt = fromHex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
  aeadSeal(key, pt, Uint8Array.of(7), box, 4);
  t.deepEqual(aeadOpen(key, box, 4, 48, Uint8Array.of(7)), pt);
  t.is(aeadOpen(key, box, 4, 48, Uint8Array.of(8)), null, 'wrong AD');
  box[10]! ^= 1;
  t.is(aeadOpen(key, box, 4, 48, Uint8Array.of(7)), null, 'flipped byte');
  t.is(aeadOpen(key, box, 4, 15, Uint8Array.of(7)), null, 'shorter than a tag');
  // Differential: node:crypto directly.
  const c = createCipheriv('chacha20-poly1305', key, new Uint8Array(12), { authTagLength: 16 });
  c.setAAD(Uint8Array.of(7), { plaintextLength: 32 });
  const ct = c.update(pt);
  c.final();
  aeadSeal(key, pt, Uint8Array.of(7), box, 4);
  t.deepEqual(box.subarray(4, 36), new Uint8Array(ct));
});

test('HChaCha20 vector and XChaCha20-Poly1305 round trip', (t) => {
  const k = fromHex(V.hchacha.key);
  const n = fromHex(V.hchacha.nonce);
  const out = new Uint32Array(8);
  const sigma = new Uint32Array(new TextEncoder().encode('expand 32-byte k').buffer);
  hchacha(sigma, new Uint32Array(k.buffer), new Uint32Array(n.buffer), out);
  t.is(toHex(new Uint8Array(out.buffer)), V.hchacha.out);
  const key = new Uint8Array(32).fill(3);
  const nonce = new Uint8Array(24).fill(4);
  const box = new Uint8Array(32);
  xaeadSeal(key, nonce, new Uint8Array(16).fill(9), Uint8Array.of(1, 2), box, 0);
  t.deepEqual(xaeadOpen(key, nonce, box, Uint8Array.of(1, 2)), new Uint8Array(16).fill(9));
  t.is(xaeadOpen(key, nonce, box, Uint8Array.of(1, 3)), null);
});

test('TAI64N: the vector timestamp, ordering as byte strings', (t) => {
  const a = new Uint8Array(14).fill(0xa5);
  tai64n(V.inputs.unixSec, 0, a, 1);
  t.is(toHex(a, 1, 12), V.inputs.timestamp);
  t.is(a[0], 0xa5);
  t.is(a[13], 0xa5);
  const b = new Uint8Array(12);
  tai64n(V.inputs.unixSec, 1, b, 0);
  t.true(compareTai64n(b, 0, a, 1) > 0);
  t.true(compareTai64n(a, 1, b, 0) < 0);
  t.is(compareTai64n(a, 1, a, 1), 0);
  tai64n(2 ** 32 + 5, 7, b, 0);
  t.is(toHex(b), '40000001' + '0000000f' + '00000007');
});

test('wg genkey / pubkey / genpsk / base64 and hex forms', (t) => {
  const sk = genkey();
  t.regex(sk, /^[A-Za-z0-9+/]{43}=$/);
  const raw = keyFromBase64(sk);
  t.is(raw[0]! & 7, 0);
  t.is(raw[31]! & 0xc0, 0x40);
  t.is(pubkey(sk), keyToBase64(keyPairFromPrivate(raw).publicKey));
  t.is(pubkey(keyToBase64(fromHex(V.inputs.si))), keyToBase64(fromHex(V.derived.Si)));
  t.regex(genpsk(), /^[A-Za-z0-9+/]{43}=$/);
  t.is(keyToHex(keyFromHex(V.derived.Si)), V.derived.Si);
  t.deepEqual(toKey('k', V.derived.Si), fromHex(V.derived.Si));
  t.deepEqual(toKey('k', keyToBase64(fromHex(V.derived.Si))), fromHex(V.derived.Si));
  for (const bad of ['', 'abc', `${'A'.repeat(43)}`, `${'A'.repeat(42)}B=`, `${'A'.repeat(44)}=`]) {
    t.throws(() => keyFromBase64(bad), { code: 'ERR_PKT_INVALID_ARG' });
  }
  t.throws(() => keyFromHex('zz'), { code: 'ERR_PKT_INVALID_ARG' });
  t.throws(() => keyPairFromPrivate(new Uint8Array(31)), { code: 'ERR_PKT_INVALID_ARG' });
});
