/**
 * mac1, mac2 and cookie replies (whitepaper §5.4.7, notes §3, wireguard-go `device/cookie.go`).
 *
 * - `CookieChecker` (one per device, the responder side): checks mac1 of every handshake message
 *   with HASH("mac1----" ‖ our public key); under load checks mac2 against the cookie of the
 *   sender's address, and answers a message without a valid one with a cookie reply (type 3):
 *   XChaCha20-Poly1305 under HASH("cookie--" ‖ our public key), AAD = the message's mac1.
 *   The cookie is MAC(secret, source address bytes); the secret is 32 random bytes renewed when
 *   older than 120 s (lazily, when a reply is made), and a mac2 made under a secret older than
 *   that no longer verifies.
 * - `CookieGenerator` (one per peer, the initiator side): writes mac1 (HASH("mac1----" ‖ peer's
 *   key)) and, while a cookie received in the last 120 s is held, mac2 into the messages we send;
 *   consumes cookie replies, which open only with the last mac1 we sent that peer as AAD.
 *
 * The source-address encoding is local to the responder (it never crosses the wire): the device
 * uses the IP bytes then the port, big-endian, as the whitepaper does.
 */

import { equalCt, macInto, xaeadOpen, xaeadSeal } from './crypto.js';
import { COOKIE_NONCE_LEN, COOKIE_REFRESH_TIME_MS, COOKIE_REPLY_LEN, Cookie, INITIATION_LEN, KEY_LEN, MAC_LEN, MessageType, RESPONSE_LEN, TAG_LEN } from './constants.js';
import type { StaticIdentity } from './noise.js';
import { isType } from './noise.js';
import { endpointBytes } from './bind.js';
import { WgDrop, type WgDropCounters } from './stats.js';

/** Offset of mac1 in a handshake message of `len` bytes (148 or 92): 32 bytes from the end. */
function mac1Off(len: number): number {
  return len - 2 * MAC_LEN;
}

function isHandshakeLen(len: number): boolean {
  return len === INITIATION_LEN || len === RESPONSE_LEN;
}

/** The responder side: mac1/mac2 checks and cookie replies. Unsafe for concurrent use. */
export class CookieChecker {
  readonly #mac1Key: Uint8Array;
  readonly #cookieKey: Uint8Array;
  readonly #random: (b: Uint8Array) => void;
  readonly #secret = new Uint8Array(KEY_LEN);
  #secretSetMs = -Infinity;
  readonly #scratch = new Uint8Array(MAC_LEN);
  readonly #cookie = new Uint8Array(MAC_LEN);
  readonly #nonce = new Uint8Array(COOKIE_NONCE_LEN);

  constructor(id: StaticIdentity, random: (b: Uint8Array) => void) {
    this.#mac1Key = id.mac1Key;
    this.#cookieKey = id.cookieKey;
    this.#random = random;
  }

  /** True when the mac1 of the handshake message at msg[off..off+len) verifies. */
  checkMac1(msg: Uint8Array, off: number, len: number): boolean {
    if (!isHandshakeLen(len)) return false;
    const m = mac1Off(len);
    macInto(this.#mac1Key, msg, off, m, this.#scratch, 0);
    return equalCt(this.#scratch, 0, msg, off + m, MAC_LEN);
  }

  /**
   * True when mac2 verifies against the cookie of `src` (the bytes src[srcOff..+srcLen)) under
   * the current secret; false when no secret younger than 120 s exists.
   */
  checkMac2(msg: Uint8Array, off: number, len: number, src: Uint8Array, srcOff: number, srcLen: number, nowMs: number): boolean {
    if (!isHandshakeLen(len) || nowMs - this.#secretSetMs > COOKIE_REFRESH_TIME_MS) return false;
    macInto(this.#secret, src, srcOff, srcLen, this.#cookie, 0);
    const m2 = len - MAC_LEN;
    macInto(this.#cookie, msg, off, m2, this.#scratch, 0);
    return equalCt(this.#scratch, 0, msg, off + m2, MAC_LEN);
  }

  /**
   * Writes the cookie reply (64 bytes) to the handshake message at msg[off..off+len) from `src`
   * into out[outOff]. The receiver field is the message's sender index. Renews the secret when
   * it is older than 120 s.
   */
  createReply(msg: Uint8Array, off: number, len: number, src: Uint8Array, srcOff: number, srcLen: number, nowMs: number, out: Uint8Array, outOff: number): void {
    if (nowMs - this.#secretSetMs > COOKIE_REFRESH_TIME_MS) {
      this.#random(this.#secret);
      this.#secretSetMs = nowMs;
    }
    macInto(this.#secret, src, srcOff, srcLen, this.#cookie, 0);
    this.#random(this.#nonce);
    out[outOff] = MessageType.CookieReply;
    out[outOff + 1] = 0;
    out[outOff + 2] = 0;
    out[outOff + 3] = 0;
    // Both handshake messages carry their sender index at offset 4.
    for (let i = 0; i < 4; i++) out[outOff + Cookie.Receiver + i] = msg[off + 4 + i]!;
    out.set(this.#nonce, outOff + Cookie.Nonce);
    const m = mac1Off(len);
    xaeadSeal(this.#cookieKey, this.#nonce, this.#cookie, msg.subarray(off + m, off + m + MAC_LEN), out, outOff + Cookie.Encrypted);
  }

  /** Test hook: sets the secret and its time (the notes' cookie vector). */
  setSecretForTest(secret: Uint8Array, nowMs: number): void {
    this.#secret.set(secret);
    this.#secretSetMs = nowMs;
  }
}

/** The initiator side, per peer: mac1/mac2 on what we send, cookies from replies. */
export class CookieGenerator {
  readonly #mac1Key: Uint8Array;
  readonly #cookieKey: Uint8Array;
  readonly #cookie = new Uint8Array(MAC_LEN);
  #cookieSetMs = -Infinity;
  readonly #lastMac1 = new Uint8Array(MAC_LEN);
  #hasLastMac1 = false;

  /** `mac1Key` = HASH("mac1----" ‖ peer key), `cookieKey` = HASH("cookie--" ‖ peer key). */
  constructor(mac1Key: Uint8Array, cookieKey: Uint8Array) {
    this.#mac1Key = mac1Key;
    this.#cookieKey = cookieKey;
  }

  /** True while a cookie received in the last 120 s is held (mac2 is then written). */
  hasCookie(nowMs: number): boolean {
    return nowMs - this.#cookieSetMs <= COOKIE_REFRESH_TIME_MS;
  }

  /** Writes mac1 and mac2 (zeros without a fresh cookie) into the handshake message at msg[off..off+len). */
  addMacs(msg: Uint8Array, off: number, len: number, nowMs: number): void {
    const m1 = mac1Off(len);
    const m2 = len - MAC_LEN;
    macInto(this.#mac1Key, msg, off, m1, msg, off + m1);
    this.#lastMac1.set(msg.subarray(off + m1, off + m1 + MAC_LEN));
    this.#hasLastMac1 = true;
    if (this.hasCookie(nowMs)) macInto(this.#cookie, msg, off, m2, msg, off + m2);
    else msg.fill(0, off + m2, off + len);
  }

  /**
   * Consumes a cookie reply (64 bytes at msg[off], receiver index already matched to this peer).
   * Returns true when it opened (the cookie is stored), false otherwise (nothing changes).
   */
  consumeReply(msg: Uint8Array, off: number, len: number, nowMs: number): boolean {
    if (len !== COOKIE_REPLY_LEN || !isType(msg, off, MessageType.CookieReply) || !this.#hasLastMac1) return false;
    const cookie = xaeadOpen(
      this.#cookieKey,
      msg.subarray(off + Cookie.Nonce, off + Cookie.Encrypted),
      msg.subarray(off + Cookie.Encrypted, off + Cookie.Encrypted + MAC_LEN + TAG_LEN),
      this.#lastMac1,
    );
    if (cookie === null) return false;
    this.#cookie.set(cookie);
    this.#cookieSetMs = nowMs;
    return true;
  }
}

/**
 * The per-source handshake rate limit applied under load (wireguard-go `ratelimiter/`): a token
 * bucket per source address, 20 per second with a burst of 5. Keyed by a 32-bit hash of the
 * address bytes with a random seed, in a bounded table (cleared when full: under a flood from
 * many sources that only loosens the limit for a moment, never blocks the table).
 */
export class HandshakeRateLimiter {
  readonly #maxEntries: number;
  readonly #tokens = new Map<number, number>();
  readonly #lastMs = new Map<number, number>();
  readonly #seed: number;
  static readonly PER_SECOND = 20;
  static readonly BURST = 5;

  constructor(maxEntries = 4096, seed = (Math.random() * 2 ** 32) | 0) {
    this.#maxEntries = maxEntries;
    this.#seed = seed;
  }

  /** True when a handshake message from the `len` address bytes at src[0] may be processed now. */
  allow(src: Uint8Array, len: number, nowMs: number): boolean {
    let h = this.#seed;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
    const key = h | 0;
    let tokens = this.#tokens.get(key);
    if (tokens === undefined) {
      if (this.#tokens.size >= this.#maxEntries) {
        this.#tokens.clear();
        this.#lastMs.clear();
      }
      tokens = HandshakeRateLimiter.BURST;
    } else {
      const elapsed = nowMs - this.#lastMs.get(key)!;
      tokens = Math.min(HandshakeRateLimiter.BURST, tokens + (elapsed * HandshakeRateLimiter.PER_SECOND) / 1000);
    }
    this.#lastMs.set(key, nowMs);
    if (tokens < 1) {
      this.#tokens.set(key, tokens);
      return false;
    }
    this.#tokens.set(key, tokens - 1);
    return true;
  }
}

/**
 * "Under load" for the handshake path: more than `threshold` handshake messages (with a valid
 * mac1) within a 1 s window; the state lasts 1 s after it was last seen (wireguard-go: 128
 * queued handshakes, `UnderLoadAfterTime` 1 s). One call per handshake message.
 */
export class LoadDetector {
  readonly threshold: number;
  #count = 0;
  #windowStart = -Infinity;
  #until = -Infinity;

  constructor(threshold = 128) {
    this.threshold = threshold;
  }

  /** Counts one handshake message at `nowMs`; returns whether handshakes are under load. */
  handshake(nowMs: number): boolean {
    if (nowMs - this.#windowStart >= 1000) {
      this.#windowStart = nowMs;
      this.#count = 0;
    }
    if (++this.#count > this.threshold) this.#until = nowMs + 1000;
    return nowMs < this.#until;
  }
}

/**
 * The responder's gate for handshake messages (notes §3.2), in order: mac1 (invalid: dropped
 * silently); then, only under load, mac2 against the cookie of the sender's address (invalid:
 * a cookie reply is written to `reply` and sent, the message dropped) and the per-source rate
 * limit. `underLoad` overrides the LoadDetector (tests, or a dataplane's own measure).
 */
export class HandshakeGate {
  readonly checker: CookieChecker;
  readonly #limiter = new HandshakeRateLimiter();
  readonly #load = new LoadDetector();
  readonly #underLoad: ((nowMs: number) => boolean) | null;
  readonly #src = new Uint8Array(18);
  readonly #reply = new Uint8Array(COOKIE_REPLY_LEN);
  readonly #drops: WgDropCounters;
  /** Whether the last message `admit` looked at (with a valid mac1) found handshakes under load. */
  underLoad = false;

  constructor(id: StaticIdentity, random: (b: Uint8Array) => void, drops: WgDropCounters, underLoad: ((nowMs: number) => boolean) | null) {
    this.checker = new CookieChecker(id, random);
    this.#drops = drops;
    this.#underLoad = underLoad;
  }

  /**
   * True when the handshake message d[0..len) from the record at from[fromOff] may be processed;
   * otherwise it was counted (and answered with a cookie reply through `send` when that is the
   * reason).
   */
  admit(d: Uint8Array, len: number, from: Int32Array, fromOff: number, nowMs: number, send: (reply: Uint8Array, to: Int32Array, toOff: number) => void): boolean {
    if (!this.checker.checkMac1(d, 0, len)) {
      this.#drops.add(WgDrop.BadMac1);
      return false;
    }
    const loaded = this.#underLoad !== null ? this.#underLoad(nowMs) : this.#load.handshake(nowMs);
    this.underLoad = loaded;
    if (!loaded) return true;
    const srcLen = endpointBytes(from, fromOff, this.#src);
    if (!this.checker.checkMac2(d, 0, len, this.#src, 0, srcLen, nowMs)) {
      this.checker.createReply(d, 0, len, this.#src, 0, srcLen, nowMs, this.#reply, 0);
      send(this.#reply, from, fromOff);
      this.#drops.add(WgDrop.CookieSent);
      return false;
    }
    if (!this.#limiter.allow(this.#src, srcLen, nowMs)) {
      this.#drops.add(WgDrop.RateLimited);
      return false;
    }
    return true;
  }
}
