/**
 * WireGuard's primitives, each from a vetted implementation (DESIGN.md "Crypto"):
 *
 * - X25519 (RFC 7748) through node:crypto, keys imported as JWK (a private key imports from its
 *   `d` alone: OpenSSL derives the public half, so the `x` we pass is a placeholder; DER import is
 *   10x slower here). An all-zero shared secret (a low-order point) is refused: node:crypto throws
 *   ERR_OSSL_FAILED_DURING_DERIVATION, reported here as `false`.
 * - BLAKE2s (RFC 7693) as HASH and HMAC-BLAKE2s for the KDF1/2/3 of the Noise spec (HKDF with the
 *   chaining key as salt): through node:crypto's OpenSSL `blake2s256` where Node has it, with
 *   @noble/hashes as the fallback (and the differential reference in the tests). Measured here:
 *   HMAC 2.4 us (OpenSSL) against 8.3 us (noble), HASH 1.5 us against 2.3 us; a handshake does
 *   about 42 HMACs and 16 hashes, so noble alone put the full handshake at 940 us against the
 *   578 us target. Keyed BLAKE2s-128 (mac1, mac2, cookies) is not in Node's API: noble.
 * - ChaCha20-Poly1305 (RFC 8439) for the handshake's sealed fields, through node:crypto. The
 *   transport's AEAD is elsewhere (transport.ts, the addon's batches).
 * - XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) for cookie replies, from @noble/ciphers.
 * - TAI64N timestamps (§2.7 of the notes) and the key helpers of wg(8): genkey, pubkey, genpsk,
 *   base64 (44 characters) and hex (UAPI) forms.
 *
 * Everything here is the handshake's cold path: it allocates freely. Nothing throws on input
 * from the network: a failed open or derivation returns false/null.
 */

import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, getHashes, randomFillSync, type KeyObject } from 'node:crypto';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { PktTypeError } from '../errors.js';
import { KEY_LEN, MAC_LEN, TAG_LEN, TAI64N_LEN } from './constants.js';

// ---------------------------------------------------------------------------------------------
// Hashes, MACs, KDF

/** True when node:crypto has BLAKE2s-256 (OpenSSL builds of Node do). */
export const OPENSSL_BLAKE2S = getHashes().includes('blake2s256');

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** HASH(a ‖ b ‖ ...): BLAKE2s-256, unkeyed. */
export function hash(...parts: Uint8Array[]): Uint8Array {
  if (OPENSSL_BLAKE2S) {
    const h = createHash('blake2s256');
    for (const p of parts) h.update(p);
    return u8(h.digest());
  }
  const h = blake2s.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** MIX_HASH: HASH(h ‖ data), a new array. */
export function mixHash(h: Uint8Array, data: Uint8Array): Uint8Array {
  if (OPENSSL_BLAKE2S) return u8(createHash('blake2s256').update(h).update(data).digest());
  return blake2s.create().update(h).update(data).digest();
}

/** HMAC-BLAKE2s (64-byte block, 32-byte output). */
export function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (OPENSSL_BLAKE2S) return u8(createHmac('blake2s256', key).update(data).digest());
  return nobleHmac(blake2s, key, data);
}

/** HMAC-BLAKE2s by @noble/hashes alone (the tests' differential reference). */
export function hmacNoble(key: Uint8Array, data: Uint8Array): Uint8Array {
  return nobleHmac(blake2s, key, data);
}

const ONE = Uint8Array.of(1);

/** KDF1(ck, input) = T1. */
export function kdf1(ck: Uint8Array, input: Uint8Array): Uint8Array {
  return hmac(hmac(ck, input), ONE);
}

/** KDF2(ck, input) = (T1, T2). */
export function kdf2(ck: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array] {
  const prk = hmac(ck, input);
  const t1 = hmac(prk, ONE);
  return [t1, hmac(prk, concat(t1, 2))];
}

/** KDF3(ck, input) = (T1, T2, T3). */
export function kdf3(ck: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const prk = hmac(ck, input);
  const t1 = hmac(prk, ONE);
  const t2 = hmac(prk, concat(t1, 2));
  return [t1, t2, hmac(prk, concat(t2, 3))];
}

function concat(t: Uint8Array, b: number): Uint8Array {
  const out = new Uint8Array(t.length + 1);
  out.set(t);
  out[t.length] = b;
  return out;
}

/** MAC(key, data[off, off + len)): keyed BLAKE2s with a 16-byte output, written to out[outOff]. */
export function macInto(key: Uint8Array, data: Uint8Array, off: number, len: number, out: Uint8Array, outOff: number): void {
  out.set(blake2s(data.subarray(off, off + len), { key, dkLen: MAC_LEN }), outOff);
}

/** Constant-time comparison of `len` bytes (MACs, keys). */
export function equalCt(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): boolean {
  let d = 0;
  for (let i = 0; i < len; i++) d |= a[aOff + i]! ^ b[bOff + i]!;
  return d === 0;
}

// ---------------------------------------------------------------------------------------------
// X25519 through node:crypto

/** A static or ephemeral X25519 key: its clamped raw bytes, its public key and the KeyObject. */
export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly keyObject: KeyObject;
}

/** Clamps a private key in place (RFC 7748 §5; X25519 clamps anyway, wg stores it clamped). */
export function clamp(sk: Uint8Array): Uint8Array {
  sk[0]! &= 248;
  sk[31] = (sk[31]! & 127) | 64;
  return sk;
}

const PLACEHOLDER_X = Buffer.alloc(KEY_LEN).toString('base64url');

/**
 * The key pair of the 32-byte private key `raw` (copied and clamped).
 * @throws {PktTypeError} when `raw` is not 32 bytes.
 */
export function keyPairFromPrivate(raw: Uint8Array): KeyPair {
  checkKey('private key', raw);
  const sk = clamp(Uint8Array.from(raw));
  const keyObject = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64url(sk), x: PLACEHOLDER_X }, format: 'jwk' });
  const x = createPublicKey(keyObject).export({ format: 'jwk' }).x!;
  return { privateKey: sk, publicKey: new Uint8Array(Buffer.from(x, 'base64url')), keyObject };
}

/** A new random key pair (`random` fills its argument; crypto random by default). */
export function generateKeyPair(random: (b: Uint8Array) => void = randomBytesInto): KeyPair {
  const sk = new Uint8Array(KEY_LEN);
  random(sk);
  const kp = keyPairFromPrivate(sk);
  sk.fill(0);
  return kp;
}

/** A public key as a KeyObject for `dh`. Any 32 bytes import (low-order points fail in `dh`). */
export function publicKeyObject(pub: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(pub) }, format: 'jwk' });
}

/** `publicKeyObject` for bytes from the network: null instead of an exception. */
export function tryPublicKeyObject(pub: Uint8Array): KeyObject | null {
  try {
    return publicKeyObject(pub);
  } catch {
    return null;
  }
}

/**
 * X25519(priv, pub) into `out` (32 bytes at `outOff`). Returns false, with `out` untouched, when
 * the result would be all zeros (a low-order public key) or the key does not import.
 */
export function dh(priv: KeyObject, pub: KeyObject | Uint8Array, out: Uint8Array, outOff = 0): boolean {
  try {
    const publicKey = pub instanceof Uint8Array ? publicKeyObject(pub) : pub;
    const s = diffieHellman({ privateKey: priv, publicKey });
    let nz = 0;
    for (let i = 0; i < KEY_LEN; i++) nz |= s[i]!;
    if (nz === 0 || s.length !== KEY_LEN) return false;
    out.set(s, outOff);
    s.fill(0);
    return true;
  } catch {
    return false; // ERR_OSSL_FAILED_DURING_DERIVATION: an all-zero result; a fixed message, no attacker bytes.
  }
}

// ---------------------------------------------------------------------------------------------
// ChaCha20-Poly1305 for the handshake (nonce 0 under a fresh key every time)

const ZERO_NONCE = new Uint8Array(12);

/** AEAD(key, 0, plaintext, ad) into out[outOff]: ciphertext then the 16-byte tag. */
export function aeadSeal(key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array, out: Uint8Array, outOff: number): void {
  const c = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_LEN });
  c.setAAD(ad, { plaintextLength: plaintext.length });
  const ct = c.update(plaintext);
  c.final();
  out.set(ct, outOff);
  out.set(c.getAuthTag(), outOff + plaintext.length);
}

/**
 * Opens `len` sealed bytes (ciphertext and tag) at `off`; returns the plaintext, or null when
 * the tag does not verify.
 */
export function aeadOpen(key: Uint8Array, data: Uint8Array, off: number, len: number, ad: Uint8Array): Uint8Array | null {
  if (len < TAG_LEN) return null;
  const d = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_LEN });
  d.setAuthTag(data.subarray(off + len - TAG_LEN, off + len));
  d.setAAD(ad, { plaintextLength: len - TAG_LEN });
  const pt = d.update(data.subarray(off, off + len - TAG_LEN));
  try {
    d.final();
  } catch {
    pt.fill(0);
    return null; // "Unsupported state or unable to authenticate data": fixed text, no attacker bytes.
  }
  return new Uint8Array(pt.buffer, pt.byteOffset, pt.length);
}

// ---------------------------------------------------------------------------------------------
// XChaCha20-Poly1305 for cookie replies

/** XChaCha20-Poly1305 seal: `plaintext` (16 B cookie) -> ciphertext ‖ tag into out[outOff]. */
export function xaeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array, out: Uint8Array, outOff: number): void {
  out.set(xchacha20poly1305(key, nonce, ad).encrypt(plaintext), outOff);
}

/** XChaCha20-Poly1305 open; null when the tag does not verify. */
export function xaeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array | null {
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(sealed);
  } catch {
    return null; // noble's "invalid tag": fixed text.
  }
}

// ---------------------------------------------------------------------------------------------
// TAI64N (§2.7)

/** 2^62 + 10, the TAI64 label of the Unix epoch. Split so that it stays exact. */
const TAI64_HI = 0x4000_0000;
const TAI64_LO_OFFSET = 10;

/**
 * Writes the TAI64N label of `unixSec` seconds and `nanos` nanoseconds (12 bytes, big-endian)
 * at out[off]. Exact for any date before 2106 (seconds below 2^32).
 */
export function tai64n(unixSec: number, nanos: number, out: Uint8Array, off: number): void {
  const lo = unixSec + TAI64_LO_OFFSET;
  const hi = TAI64_HI + Math.floor(lo / 2 ** 32);
  const loU = lo >>> 0;
  writeBe32(out, off, hi);
  writeBe32(out, off + 4, loU);
  writeBe32(out, off + 8, nanos);
}

/** Byte-string comparison of two 12-byte timestamps: > 0 when a is after b. */
export function compareTai64n(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  for (let i = 0; i < TAI64N_LEN; i++) {
    const d = a[aOff + i]! - b[bOff + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function writeBe32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

// ---------------------------------------------------------------------------------------------
// Keys as wg(8) and the UAPI write them

/** Fills `b` with cryptographically random bytes. */
export function randomBytesInto(b: Uint8Array): void {
  randomFillSync(b);
}

/** `wg genkey`: a new clamped private key in base64. */
export function genkey(): string {
  const sk = new Uint8Array(KEY_LEN);
  randomBytesInto(sk);
  return keyToBase64(clamp(sk));
}

/** `wg genpsk`: 32 random bytes in base64. */
export function genpsk(): string {
  const k = new Uint8Array(KEY_LEN);
  randomBytesInto(k);
  return keyToBase64(k);
}

/**
 * `wg pubkey`: the public key of a base64 private key.
 * @throws {PktTypeError} code ERR_PKT_INVALID_ARG when `priv` is not a base64 32-byte key.
 */
export function pubkey(priv: string): string {
  return keyToBase64(keyPairFromPrivate(keyFromBase64(priv)).publicKey);
}

/** A 32-byte key as standard base64 (44 characters ending in `=`). */
export function keyToBase64(k: Uint8Array): string {
  checkKey('key', k);
  return Buffer.from(k.buffer, k.byteOffset, k.length).toString('base64');
}

/**
 * A key from its base64 form, strictly: 44 characters of standard base64 decoding to 32 bytes.
 * @throws {PktTypeError} otherwise.
 */
export function keyFromBase64(s: string): Uint8Array {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(s)) {
    throw new PktTypeError(`wg: expected a 44-character base64 key, got ${typeof s === 'string' ? `${s.length} characters` : typeof s}`);
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** A key as 64 lowercase hex digits (the UAPI form). */
export function keyToHex(k: Uint8Array): string {
  checkKey('key', k);
  return Buffer.from(k.buffer, k.byteOffset, k.length).toString('hex');
}

/** A key from 64 hex digits. @throws {PktTypeError} otherwise. */
export function keyFromHex(s: string): Uint8Array {
  if (typeof s !== 'string' || !/^[0-9a-fA-F]{64}$/.test(s)) throw new PktTypeError('wg: expected a key as 64 hex digits');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** Accepts a key as bytes, base64 or hex. @throws {PktTypeError} when it is none of them. */
export function toKey(name: string, k: Uint8Array | string): Uint8Array {
  if (typeof k === 'string') return k.length === 64 ? keyFromHex(k) : keyFromBase64(k);
  checkKey(name, k);
  return Uint8Array.from(k);
}

function checkKey(name: string, k: Uint8Array): void {
  if (!(k instanceof Uint8Array) || k.length !== KEY_LEN) {
    throw new PktTypeError(`wg: ${name} must be ${KEY_LEN} bytes, got ${k instanceof Uint8Array ? `${k.length} bytes` : typeof k}`);
  }
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
}
