/**
 * Transport data messages (type 4; notes §1.4, §2.8, §5, §6.1): sealing and opening in place
 * with a keypair's ChaCha20-Poly1305 keys through `createAead` (the addon's batches when built,
 * node:crypto otherwise; never @noble here).
 *
 *   off                  off+16                                  off+16+padded   +16
 *   | type 4 | receiver | counter (u64 LE) | plaintext ... | zero padding | tag |
 *
 * The caller writes the plaintext (an IP packet, or nothing for a keepalive) at `off + 16`, in a
 * buffer with room for the padding and the tag after it; `sealTransport` writes the header, pads
 * to a multiple of 16 (capped at the MTU), encrypts in place and returns the wire length.
 * `openTransport` authenticates and decrypts in place, *then* checks and updates the replay
 * window (the Go original updates it first: a forged packet with a huge counter then blocks all
 * genuine traffic), and returns the plaintext length at `off + 16`.
 *
 * `TransportBatch` does the same for many packets of one keypair with one sealBatch/openBatch
 * call over one buffer (a SharedArrayBuffer region of UDP or ring slots).
 *
 * Per packet: no allocation (one module-level nonce scratch; counters in a Uint32Array as lo/hi
 * words), no throw: failures are negative WgDrop codes.
 */

import { createAead, setCounterNonce, type Aead, type CreateAeadOptions } from '../native/aead.js';
import { PktRangeError } from '../errors.js';
import {
  Data, MessageType, REJECT_AFTER_MESSAGES_HI, REJECT_AFTER_MESSAGES_LO, REKEY_AFTER_MESSAGES_HI, TAG_LEN, TRANSPORT_HEADER_LEN, TRANSPORT_MAX_LEN,
  TRANSPORT_MIN_LEN,
} from './constants.js';
import type { SessionKeys } from './noise.js';
import { ReplayFilter } from './replay.js';
import { WgDrop } from './stats.js';

/**
 * One session's keys and counters. `send` seals with the key we send under, `recv` opens;
 * `sendCounter` is [lo, hi] of the next counter to use.
 */
export class Keypair {
  readonly send: Aead;
  readonly recv: Aead;
  readonly isInitiator: boolean;
  /** Monotonic ms when the keys were derived (ages: rekey at 120 s, reject at 180 s). */
  readonly createdMs: number;
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly sendCounter = new Uint32Array(2);
  readonly replay = new ReplayFilter();
  /** The owner (a peer) for the device's index table; set once. */
  owner: object | null = null;

  constructor(keys: SessionKeys, createdMs: number, aeadOptions: CreateAeadOptions = {}) {
    this.send = createAead('chacha20-poly1305', keys.sendKey, aeadOptions);
    this.recv = createAead('chacha20-poly1305', keys.recvKey, aeadOptions);
    keys.sendKey.fill(0);
    keys.recvKey.fill(0);
    this.isInitiator = keys.isInitiator;
    this.createdMs = createdMs;
    this.localIndex = keys.localIndex >>> 0;
    this.remoteIndex = keys.remoteIndex >>> 0;
  }

  /** True once the send counter passed REKEY_AFTER_MESSAGES (2^60). */
  get needsRekeyByCount(): boolean {
    return this.sendCounter[1]! >= REKEY_AFTER_MESSAGES_HI;
  }

  /** Forbids sending on this keypair from now on (it still receives): wireguard-go's ExpireCurrentKeypairs. */
  expire(): void {
    this.sendCounter[1] = REJECT_AFTER_MESSAGES_HI;
    this.sendCounter[0] = REJECT_AFTER_MESSAGES_LO;
  }

  /** True once the send counter reached REJECT_AFTER_MESSAGES: nothing more may be sent. */
  get exhausted(): boolean {
    return this.sendCounter[1] === REJECT_AFTER_MESSAGES_HI && this.sendCounter[0]! >= REJECT_AFTER_MESSAGES_LO;
  }
}

/**
 * Bytes of zero padding for a `len`-byte plaintext with tunnel MTU `mtu` (wireguard-go
 * `calculatePaddingSize`): up to a multiple of 16, never past the MTU.
 */
export function paddingSize(len: number, mtu: number): number {
  let last = len;
  if (last > mtu) last %= mtu;
  let padded = (last + 15) & ~15;
  if (padded > mtu) padded = mtu;
  return padded - last;
}

/** Wire length of a transport message carrying a `len`-byte plaintext (padding included). */
export function sealedLength(len: number, mtu: number): number {
  return TRANSPORT_HEADER_LEN + len + paddingSize(len, mtu) + TAG_LEN;
}

const NONCE = new Uint8Array(12);

function writeHeader(buf: Uint8Array, off: number, receiver: number, lo: number, hi: number): void {
  buf[off] = MessageType.Transport;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  let o = off + Data.Receiver;
  buf[o] = receiver;
  buf[o + 1] = receiver >>> 8;
  buf[o + 2] = receiver >>> 16;
  buf[o + 3] = receiver >>> 24;
  o = off + Data.Counter;
  buf[o] = lo;
  buf[o + 1] = lo >>> 8;
  buf[o + 2] = lo >>> 16;
  buf[o + 3] = lo >>> 24;
  buf[o + 4] = hi;
  buf[o + 5] = hi >>> 8;
  buf[o + 6] = hi >>> 16;
  buf[o + 7] = hi >>> 24;
}

/** Takes the next send counter of `kp` into out[0..1]; false when the keypair is exhausted. */
function takeCounter(kp: Keypair, out: Uint32Array, outOff: number): boolean {
  const c = kp.sendCounter;
  const lo = c[0]!;
  const hi = c[1]!;
  if (hi === REJECT_AFTER_MESSAGES_HI && lo >= REJECT_AFTER_MESSAGES_LO) return false;
  out[outOff] = lo;
  out[outOff + 1] = hi;
  c[0] = lo + 1;
  if (lo === 0xffff_ffff) c[1] = hi + 1;
  return true;
}

const CTR = new Uint32Array(2);

/**
 * Seals the `len`-byte plaintext at buf[off + 16] into a transport message at `off` (in place):
 * header, zero padding, encryption, tag. Returns the wire length, or -WgDrop.TooBig when the
 * buffer has no room for padding and tag, or -WgDrop.KeypairExpired when the counter reached
 * REJECT_AFTER_MESSAGES.
 */
export function sealTransport(kp: Keypair, buf: Uint8Array, off: number, len: number, mtu: number): number {
  const padded = len + paddingSize(len, mtu);
  const total = TRANSPORT_HEADER_LEN + padded + TAG_LEN;
  if (off + total > buf.length || total > TRANSPORT_MAX_LEN) return -WgDrop.TooBig;
  if (!takeCounter(kp, CTR, 0)) return -WgDrop.KeypairExpired;
  const lo = CTR[0]!;
  const hi = CTR[1]!;
  writeHeader(buf, off, kp.remoteIndex, lo, hi);
  const p = off + TRANSPORT_HEADER_LEN;
  buf.fill(0, p + len, p + padded);
  setCounterNonce(NONCE, 0, lo, hi);
  kp.send.seal(buf, p, padded, NONCE);
  return total;
}

/** The receiver index of a transport message (u32). */
export function transportReceiver(buf: Uint8Array, off: number): number {
  const o = off + Data.Receiver;
  return (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
}

function counterLo(buf: Uint8Array, off: number): number {
  const o = off + Data.Counter;
  return (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
}

function counterHi(buf: Uint8Array, off: number): number {
  const o = off + Data.Counter + 4;
  return (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
}

/** True when the `len` bytes at `off` have the size and type of a transport message. */
export function isTransport(buf: Uint8Array, off: number, len: number): boolean {
  return len >= TRANSPORT_MIN_LEN && len <= TRANSPORT_MAX_LEN && buf[off] === MessageType.Transport && buf[off + 1] === 0 && buf[off + 2] === 0 && buf[off + 3] === 0;
}

/**
 * Opens the transport message at buf[off..off+len) with `kp` (found by its receiver index) in
 * place. Authenticates first, then checks and updates the replay window. Returns the plaintext
 * length (padding included; 0 = keepalive) at `off + 16`, or -WgDrop.{BadLength, Replay,
 * AuthFailed}. A forged packet changes nothing.
 */
export function openTransport(kp: Keypair, buf: Uint8Array, off: number, len: number): number {
  if (!isTransport(buf, off, len)) return -WgDrop.BadLength;
  const lo = counterLo(buf, off);
  const hi = counterHi(buf, off);
  if (!kp.replay.wouldAccept(lo, hi)) return -WgDrop.Replay; // read-only pre-check
  setCounterNonce(NONCE, 0, lo, hi);
  const n = kp.recv.open(buf, off + TRANSPORT_HEADER_LEN, len - TRANSPORT_HEADER_LEN, NONCE);
  if (n < 0) return -WgDrop.AuthFailed;
  if (!kp.replay.validate(lo, hi)) return -WgDrop.Replay; // only now, after authentication
  return n;
}

/**
 * The length of the IP packet at the start of a decrypted plaintext (padding removed), or -1
 * when it is neither a well-formed IPv4 nor IPv6 packet fitting in `len` (notes §6.1).
 */
export function innerPacketLength(buf: Uint8Array, off: number, len: number): number {
  if (len < 1) return -1;
  const version = buf[off]! >>> 4;
  if (version === 4) {
    if (len < 20) return -1;
    const total = (buf[off + 2]! << 8) | buf[off + 3]!;
    return total >= 20 && total <= len ? total : -1;
  }
  if (version === 6) {
    if (len < 40) return -1;
    const total = 40 + ((buf[off + 4]! << 8) | buf[off + 5]!);
    return total <= len ? total : -1;
  }
  return -1;
}

/**
 * Many packets of one keypair through one AEAD call. Slots are message starts in one buffer;
 * the same rules as the one-packet functions apply to each slot.
 *
 *   seal: add(off, len) per packet (header, padding, nonce prepared), then seal(kp, buf)
 *   open: add(off, len) per packet (size checked, replay pre-checked), then open(kp, buf):
 *         one openBatch, then the replay window in slot order for the slots that authenticated
 *   result(i): wire length after seal / plaintext length after open, or -WgDrop
 *
 * Reused across batches: `clear()` before filling. Allocates nothing after construction.
 */
export class TransportBatch {
  readonly capacity: number;
  count = 0;
  readonly #msgOffs: Int32Array;
  readonly #offs: Int32Array;
  readonly #lens: Int32Array;
  readonly #result: Int32Array;
  readonly #slot: Int32Array;
  readonly #nonces: Uint8Array;
  readonly #status: Uint8Array;
  readonly #ctr: Uint32Array;
  #aeadCount = 0;

  /** @throws {PktRangeError} when `capacity` is not in [1, 4096]. */
  constructor(capacity = 64) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 4096) throw new PktRangeError(`TransportBatch: capacity must be an integer in [1, 4096], got ${String(capacity)}`);
    this.capacity = capacity;
    this.#msgOffs = new Int32Array(capacity);
    this.#offs = new Int32Array(capacity);
    this.#lens = new Int32Array(capacity);
    this.#result = new Int32Array(capacity);
    this.#slot = new Int32Array(capacity);
    this.#nonces = new Uint8Array(capacity * 12);
    this.#status = new Uint8Array(capacity);
    this.#ctr = new Uint32Array(capacity * 2);
  }

  clear(): void {
    this.count = 0;
    this.#aeadCount = 0;
  }

  /** The wire length (seal) or plaintext length (open) of slot `i`, or -WgDrop. */
  result(i: number): number {
    return this.#result[i]!;
  }

  /**
   * Queues the `len`-byte plaintext at buf[off + 16] for sealing with `kp`: takes its counter
   * and writes header and padding now. Returns the slot, or -1 when the batch is full.
   */
  addSeal(kp: Keypair, buf: Uint8Array, off: number, len: number, mtu: number): number {
    const i = this.count;
    if (i >= this.capacity) return -1;
    this.count = i + 1;
    this.#msgOffs[i] = off;
    const padded = len + paddingSize(len, mtu);
    const total = TRANSPORT_HEADER_LEN + padded + TAG_LEN;
    if (off + total > buf.length || total > TRANSPORT_MAX_LEN) {
      this.#result[i] = -WgDrop.TooBig;
      return i;
    }
    if (!takeCounter(kp, this.#ctr, 0)) {
      this.#result[i] = -WgDrop.KeypairExpired;
      return i;
    }
    const lo = this.#ctr[0]!;
    const hi = this.#ctr[1]!;
    writeHeader(buf, off, kp.remoteIndex, lo, hi);
    const p = off + TRANSPORT_HEADER_LEN;
    buf.fill(0, p + len, p + padded);
    const a = this.#aeadCount++;
    this.#offs[a] = p;
    this.#lens[a] = padded;
    this.#slot[a] = i;
    setCounterNonce(this.#nonces, a, lo, hi);
    this.#result[i] = total;
    return i;
  }

  /** Seals every queued slot of `kp` with one sealBatch over `buf`. */
  seal(kp: Keypair, buf: Uint8Array): void {
    if (this.#aeadCount > 0) kp.send.sealBatch(buf, this.#offs, this.#lens, this.#aeadCount, this.#nonces);
  }

  /** Queues the transport message at buf[off..off+len) for opening with `kp`. Returns the slot or -1 (full). */
  addOpen(kp: Keypair, buf: Uint8Array, off: number, len: number): number {
    const i = this.count;
    if (i >= this.capacity) return -1;
    this.count = i + 1;
    this.#msgOffs[i] = off;
    if (!isTransport(buf, off, len)) {
      this.#result[i] = -WgDrop.BadLength;
      return i;
    }
    const lo = counterLo(buf, off);
    const hi = counterHi(buf, off);
    if (!kp.replay.wouldAccept(lo, hi)) {
      this.#result[i] = -WgDrop.Replay;
      return i;
    }
    const a = this.#aeadCount++;
    this.#offs[a] = off + TRANSPORT_HEADER_LEN;
    this.#lens[a] = len - TRANSPORT_HEADER_LEN;
    this.#slot[a] = i;
    this.#ctr[2 * i] = lo;
    this.#ctr[2 * i + 1] = hi;
    setCounterNonce(this.#nonces, a, lo, hi);
    this.#result[i] = 0;
    return i;
  }

  /**
   * Opens every queued slot with one openBatch, then, in slot order and only for slots whose
   * tag verified, checks and updates `kp`'s replay window.
   */
  open(kp: Keypair, buf: Uint8Array): void {
    const n = this.#aeadCount;
    if (n === 0) return;
    kp.recv.openBatch(buf, this.#offs, this.#lens, n, this.#nonces, this.#status);
    for (let a = 0; a < n; a++) {
      const i = this.#slot[a]!;
      if (this.#status[a] !== 0) this.#result[i] = -WgDrop.AuthFailed;
      else if (!kp.replay.validate(this.#ctr[2 * i]!, this.#ctr[2 * i + 1]!)) this.#result[i] = -WgDrop.Replay;
      else this.#result[i] = this.#lens[a]! - TAG_LEN;
    }
  }

  /** Offset of slot `i`'s message in the buffer (its plaintext is at +16). */
  messageOffset(i: number): number {
    return this.#msgOffs[i]!;
  }
}
