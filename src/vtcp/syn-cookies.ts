/**
 * SYN cookies (RFC 4987 §3.6): a listener under a SYN flood answers with a SYN-ACK whose ISS
 * encodes what it must remember, and keeps no state until the final ACK brings it back.
 *
 *    31                                      8 7     5 4       0
 *   +------------------------------------------+-------+---------+
 *   |  24-bit keyed hash of the connection     |  MSS  | counter |
 *   +------------------------------------------+-------+---------+
 *
 * counter: the 64-second period (epoch) the cookie was made in, mod 32. MSS: an index into
 * `SYN_COOKIE_MSS_TABLE` (the largest entry not above the peer's MSS). Hash: the first 24 bits of
 * SHA-256(K_epoch || local address || remote address || ports || the peer's ISN || the epoch ||
 * the MSS index), over a fixed-length message. As Linux does and the Go original does not, the
 * IP addresses are hashed (a cookie is bound to both ends, not only to the ports), and so is the
 * MSS index (Go accepts a cookie with its MSS bits changed).
 *
 * Keys rotate every epoch: K_epoch = HMAC-SHA256(secret, "pktkit-syncookie" || epoch), derived
 * when the epoch begins; the current and previous keys are held. A cookie is accepted during
 * the period it was made in and the next one (so 64 to 128 s), never after: `validate` only
 * tries the current and the previous epoch, with their keys, and the 5-bit counter picks which.
 *
 * The hash: node:crypto's one-shot `crypto.hash('sha256', key || message)` costs about 0.7 µs
 * here against 2 µs for `createHmac` (which builds two objects per call); @noble/hashes is not a
 * dependency. Prefix-keyed SHA-256 is a sound MAC for fixed-length messages (length extension
 * only forges longer messages, which `validate` never hashes), and the key changes every epoch.
 * One Buffer is allocated per hash (the digest); cookies are a flood path, not a data path.
 *
 * What a cookie cannot carry is lost: window scaling, SACK-permitted and timestamps are not
 * negotiated on a connection completed from a cookie (as in the Go original and Linux without
 * timestamps). `validate` does not check the peer's ACK flag or ports range: the caller has
 * parsed the segment.
 */

import { createHmac, hash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { PktRangeError } from '../errors.js';

/** The MSS values a cookie can encode (the Go original's table): IPv4 and IPv6 over common MTUs. */
export const SYN_COOKIE_MSS_TABLE: readonly number[] = [536, 1200, 1360, 1440, 1452, 1460, 4312, 8960];
/** The counter's period: 64 s, as in Linux and the Go original. */
export const SYN_COOKIE_PERIOD_MS = 64_000;
const COUNTER_BITS = 5;
const COUNTER_MASK = (1 << COUNTER_BITS) - 1;
const MSS_SHIFT = COUNTER_BITS;
const MSS_MASK = 0x7;
const HASH_SHIFT = 8;
const SECRET_LEN = 32;
const KEY_LABEL = 'pktkit-syncookie';

// Layout of the hashed block: key, then the message (fixed length whatever the address family).
const KEY_OFF = 0;
const KEY_LEN = 32;
const LOCAL_LEN_OFF = KEY_OFF + KEY_LEN; // address length (4 or 16), so families never collide
const LOCAL_OFF = LOCAL_LEN_OFF + 1;
const ADDR_MAX = 16;
const REMOTE_LEN_OFF = LOCAL_OFF + ADDR_MAX;
const REMOTE_OFF = REMOTE_LEN_OFF + 1;
const LOCAL_PORT_OFF = REMOTE_OFF + ADDR_MAX;
const REMOTE_PORT_OFF = LOCAL_PORT_OFF + 2;
const ISN_OFF = REMOTE_PORT_OFF + 2;
const EPOCH_OFF = ISN_OFF + 4;
const MSS_IDX_OFF = EPOCH_OFF + 4;
/** Total bytes hashed. */
export const KEYED_BLOCK_LEN = MSS_IDX_OFF + 1;

/**
 * Fills the connection part of a keyed block (addresses, ports) in `block`; the key goes at 0.
 * Addresses are 4 or 16 bytes.
 * @throws PktRangeError for another address length.
 */
export function fillTuple(block: Buffer, local: Uint8Array, remote: Uint8Array, localPort: number, remotePort: number): void {
  const ll = local.length;
  const rl = remote.length;
  if ((ll !== 4 && ll !== ADDR_MAX) || (rl !== 4 && rl !== ADDR_MAX)) {
    throw new PktRangeError(`vtcp: addresses must be 4 or 16 bytes, got ${ll} and ${rl}`);
  }
  block.fill(0, LOCAL_LEN_OFF, ISN_OFF);
  block[LOCAL_LEN_OFF] = ll;
  block.set(local, LOCAL_OFF);
  block[REMOTE_LEN_OFF] = rl;
  block.set(remote, REMOTE_OFF);
  block.writeUInt16BE(localPort & 0xffff, LOCAL_PORT_OFF);
  block.writeUInt16BE(remotePort & 0xffff, REMOTE_PORT_OFF);
}

/** SHA-256 of the whole block (key first), first 4 bytes as a uint32. */
export function hashBlock32(block: Buffer): number {
  return hash('sha256', block, 'buffer').readUInt32BE(0);
}

/** The index of the largest table MSS not above `mss` (0 when `mss` is below them all). */
export function mssIndex(mss: number): number {
  let best = 0;
  for (let i = 0; i < SYN_COOKIE_MSS_TABLE.length; i++) if (SYN_COOKIE_MSS_TABLE[i]! <= mss) best = i;
  return best;
}

export interface SynCookiesOptions {
  clock: Clock;
  /** Master secret (at least 16 bytes); 32 random bytes by default. */
  secret?: Uint8Array;
}

/** SYN cookie generator and checker for one listener (or a stack). Not reentrant. */
export class SynCookies {
  private readonly clock: Clock;
  private readonly secret: Buffer;
  /** key || message, reused. */
  private readonly block: Buffer;
  private keyEpoch: number = 0;
  private readonly keyCur: Buffer;
  private readonly keyPrev: Buffer;

  /** @throws PktRangeError when the secret is shorter than 16 bytes. */
  constructor(opts: SynCookiesOptions) {
    if (opts.secret !== undefined && opts.secret.length < 16) {
      throw new PktRangeError(`syn-cookies: secret must be at least 16 bytes, got ${opts.secret.length}`);
    }
    this.clock = opts.clock;
    this.secret = opts.secret === undefined ? randomBytes(SECRET_LEN) : Buffer.from(opts.secret);
    this.block = Buffer.alloc(KEYED_BLOCK_LEN);
    this.keyEpoch = Number.NaN;
    this.keyCur = Buffer.alloc(KEY_LEN);
    this.keyPrev = Buffer.alloc(KEY_LEN);
  }

  /** The epoch (64 s period number) at `now` ms. */
  static epochAt(nowMs: number): number {
    return Math.floor(nowMs / SYN_COOKIE_PERIOD_MS);
  }

  private deriveKey(epoch: number, out: Buffer): void {
    const label = Buffer.alloc(KEY_LABEL.length + 4);
    label.write(KEY_LABEL, 0, 'latin1');
    label.writeUInt32BE(epoch >>> 0, KEY_LABEL.length);
    createHmac('sha256', this.secret).update(label).digest().copy(out, 0, 0, KEY_LEN);
  }

  /** Brings keyCur (epoch) and keyPrev (epoch - 1) up to date: the rotation. */
  private rotate(epoch: number): void {
    if (epoch === this.keyEpoch) return;
    if (epoch === this.keyEpoch + 1) this.keyCur.copy(this.keyPrev);
    else this.deriveKey(epoch - 1, this.keyPrev);
    this.deriveKey(epoch, this.keyCur);
    this.keyEpoch = epoch;
  }

  private compute(key: Buffer, epoch: number, peerIsn: number, mssIdx: number): number {
    const b = this.block;
    key.copy(b, KEY_OFF);
    b.writeUInt32BE(peerIsn >>> 0, ISN_OFF);
    b.writeUInt32BE(epoch >>> 0, EPOCH_OFF);
    b[MSS_IDX_OFF] = mssIdx;
    const h24 = hashBlock32(b) >>> HASH_SHIFT;
    return ((h24 << HASH_SHIFT) | (mssIdx << MSS_SHIFT) | (epoch & COUNTER_MASK)) >>> 0;
  }

  /**
   * The ISS for our SYN-ACK to a SYN from `remote`:`remotePort` to `local`:`localPort` with
   * sequence number `peerIsn`, announcing MSS `mss` (encoded as the largest table entry <= mss).
   * @throws PktRangeError for addresses that are not 4 or 16 bytes.
   */
  generate(local: Uint8Array, remote: Uint8Array, localPort: number, remotePort: number, peerIsn: number, mss: number): number {
    const epoch = SynCookies.epochAt(this.clock.now());
    this.rotate(epoch);
    fillTuple(this.block, local, remote, localPort, remotePort);
    return this.compute(this.keyCur, epoch, peerIsn, mssIndex(mss));
  }

  /**
   * Checks the final ACK of a handshake answered with a cookie: `peerIsnPlus1` is its sequence
   * number (the peer's ISN + 1), `ack` its acknowledgment number (our cookie + 1). Returns the
   * MSS the cookie encodes if it was made for this connection in this period or the previous
   * one, else 0.
   * @throws PktRangeError for addresses that are not 4 or 16 bytes.
   */
  validate(local: Uint8Array, remote: Uint8Array, localPort: number, remotePort: number, peerIsnPlus1: number, ack: number): number {
    const cookie = (ack - 1) >>> 0;
    const counter = cookie & COUNTER_MASK;
    const mssIdx = (cookie >>> MSS_SHIFT) & MSS_MASK;
    const epoch = SynCookies.epochAt(this.clock.now());
    let made: number;
    if ((epoch & COUNTER_MASK) === counter) made = epoch;
    else if (((epoch - 1) & COUNTER_MASK) === counter) made = epoch - 1;
    else return 0;
    this.rotate(epoch);
    const key = made === epoch ? this.keyCur : this.keyPrev;
    fillTuple(this.block, local, remote, localPort, remotePort);
    const want = this.compute(key, made, (peerIsnPlus1 - 1) >>> 0, mssIdx);
    return want === cookie ? SYN_COOKIE_MSS_TABLE[mssIdx]! : 0;
  }
}
