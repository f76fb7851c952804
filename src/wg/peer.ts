/**
 * One peer's session state (whitepaper §6, notes §4, wireguard-go `device/peer.go`,
 * `keypair.go`, `timers.go`): the keypair slots, the five protocol timers, the staged queue and
 * the counters. The device (device.ts) feeds it events and does the I/O it asks for through
 * `PeerHost`.
 *
 * Keypairs (notes §4.4): `current` sends; `previous`, `current` and `next` all receive while
 * their index is in the table. The initiator's new keypair becomes `current` at once; the
 * responder's waits in `next` until the first authenticated transport message on it arrives
 * (key confirmation), so the responder never sends on keys the initiator may not have.
 *
 * Timers (notes §4.2), on one clock timer per peer: five deadlines in a Float64Array (-1 =
 * disarmed). Arming a deadline later than the armed timer costs nothing; cancelling only clears
 * the deadline; the timer, when it fires, runs what is due and re-arms at the earliest deadline
 * left. So per packet the timers allocate nothing; the clock is re-armed only when a deadline
 * moves earlier (about once per KEEPALIVE_TIMEOUT under steady traffic).
 *
 *   retransmit      5 s + jitter after an initiation; gives up after 20 initiations (~100 s)
 *   sendKeepalive   10 s after data arrived with nothing sent back
 *   newHandshake    15 s + jitter after data sent with nothing received
 *   zeroKeys        540 s after the last keypair was derived: forget everything
 *   persistent      the configured interval after any authenticated packet
 */

import type { Clock, TimerHandle } from '../core/clock.js';
import type { AllowedIps } from './allowed-ips.js';
import {
  KEEPALIVE_TIMEOUT_MS, MAX_TIMER_HANDSHAKES, REJECT_AFTER_TIME_MS, REKEY_AFTER_TIME_MS, REKEY_TIMEOUT_MS, STAGED_QUEUE_LEN,
  ZERO_KEYS_AFTER_MS,
} from './constants.js';
import { CookieGenerator } from './cookie.js';
import { tai64n } from './crypto.js';
import type { Handshake } from './noise.js';
import type { Keypair } from './transport.js';
import { WgDrop, type WgDropCounters } from './stats.js';

/** What a peer asks of its device. */
export interface PeerHost {
  readonly clock: Clock;
  /** The device's coarse time cell: ms on the clock's scale, at most a few tens of ms behind. */
  readonly time: Float64Array;
  /** Reads the clock into `time` and returns it. */
  syncTime(): number;
  readonly drops: WgDropCounters;
  /** REKEY_TIMEOUT jitter: uniform in [0, 334) ms. */
  jitterMs(): number;
  /** Creates and sends an initiation (rate-limited to one per REKEY_TIMEOUT by the device). */
  sendInitiation(peer: WgPeer, isRetry: boolean): void;
  /** Seals and sends the staged packets with `current`, or starts a handshake. */
  sendStaged(peer: WgPeer): void;
  /** Removes a receiver index from the device's table (a deleted keypair or handshake). */
  dropIndex(index: number): void;
}

const T_RETRANSMIT = 0;
const T_SEND_KEEPALIVE = 1;
const T_NEW_HANDSHAKE = 2;
const T_ZERO_KEYS = 3;
const T_PERSISTENT = 4;
const TIMERS = 5;

/**
 * Packets waiting for a keypair (bounded: STAGED_QUEUE_LEN; when full the oldest is dropped and
 * counted, as wireguard-go). Slots are allocated on first use and reused; a zero-length entry
 * is a keepalive.
 *
 *   slots: [ s0 | s1 | ... | s127 ]   head -> oldest, count entries follow (mod capacity)
 */
export class StagedQueue {
  readonly capacity: number;
  readonly #maxLen: number;
  readonly #slots: (Uint8Array | null)[];
  readonly #lens: Int32Array;
  #head = 0;
  count = 0;

  constructor(maxLen: number, capacity = STAGED_QUEUE_LEN) {
    this.capacity = capacity;
    this.#maxLen = maxLen;
    this.#slots = new Array<Uint8Array | null>(capacity).fill(null);
    this.#lens = new Int32Array(capacity);
  }

  /** Copies `len` bytes at pkt[off] in; returns false when it had to drop the oldest entry (or `len` is too large). */
  push(pkt: Uint8Array, off: number, len: number): boolean {
    if (len > this.#maxLen) return false;
    let dropped = false;
    if (this.count === this.capacity) {
      this.#head = (this.#head + 1) % this.capacity;
      this.count--;
      dropped = true;
    }
    const i = (this.#head + this.count) % this.capacity;
    let s = this.#slots[i]!;
    // Sized to what arrives (at least 2 KiB), so a peer's queue costs 256 KiB at MTU sizes,
    // not 128 x the largest packet allowed.
    if (s === null || s.length < len) s = this.#slots[i] = new Uint8Array(Math.min(this.#maxLen, Math.max(len, 2048)));
    // TypedArray#set is a memcpy (~30 ns for 1400 B; a byte loop is ~100x slower). The
    // subarray is made only for a part of a buffer: staging is the handshake path, not steady state.
    s.set(off === 0 && len === pkt.length ? pkt : pkt.subarray(off, off + len));
    this.#lens[i] = len;
    this.count++;
    return !dropped;
  }

  /** The oldest entry's bytes (valid until the next push) and length; call `shift` after. */
  peekBuf(): Uint8Array {
    return this.#slots[this.#head]!;
  }
  peekLen(): number {
    return this.#lens[this.#head]!;
  }
  shift(): void {
    this.#head = (this.#head + 1) % this.capacity;
    this.count--;
  }

  /** Drops everything; returns how many entries were dropped. */
  clear(): number {
    const n = this.count;
    this.count = 0;
    this.#head = 0;
    return n;
  }
}

/** Per-peer counters (wg show): bytes include handshake messages, as wireguard-go counts them. */
export const PeerStat = { RxBytes: 0, TxBytes: 1, RxPackets: 2, TxPackets: 3, Handshakes: 4 } as const;

export class WgPeer {
  readonly publicKey: Uint8Array;
  readonly handshake: Handshake;
  readonly cookies: CookieGenerator;
  /** The UDP endpoint as an 8-word record (src/udp/address.ts); family 0 = none known. */
  readonly endpoint = new Int32Array(8);
  persistentKeepaliveMs = 0;
  previous: Keypair | null = null;
  current: Keypair | null = null;
  next: Keypair | null = null;
  /** Receiver index of the handshake in progress (-1: none). */
  handshakeIndex = -1;
  lastSentHandshakeMs = -Infinity;
  /** Unix ms of the last completed handshake (0: never), as `latest handshake`. */
  lastHandshakeWallMs = 0;
  /** Last TAI64N we sent (monotonic guard): seconds and nanoseconds. */
  lastTaiSec = 0;
  lastTaiNanos = 0;
  readonly stats = new Float64Array(5);
  readonly staged: StagedQueue;
  /** Set by the device: the peer was removed. */
  removed = false;
  /**
   * Where this peer's decrypted packets go instead of the device's handler (a concentrator's
   * per-peer inner device), or null. Borrowed packets, as every handler's.
   */
  sink: ((packet: Uint8Array) => void) | null = null;
  /** This peer's own AllowedIPs table when the device isolates peers (else null: the device's). */
  allowed: AllowedIps<WgPeer> | null = null;

  #attempts = 0;
  #needAnotherKeepalive = false;
  #sentLastMinuteHandshake = false;
  readonly #deadlines = new Float64Array(TIMERS).fill(-1);
  #timer: TimerHandle | null = null;
  #armedAt = Infinity;
  readonly #host: PeerHost;
  readonly #onTimer: () => void;

  constructor(host: PeerHost, publicKey: Uint8Array, handshake: Handshake, maxPacket: number) {
    this.#host = host;
    this.publicKey = Uint8Array.from(publicKey);
    this.handshake = handshake;
    this.cookies = new CookieGenerator(handshake.remoteMac1Key, handshake.remoteCookieKey);
    this.staged = new StagedQueue(maxPacket);
    this.#onTimer = () => this.#fire();
  }

  /** Writes the TAI64N of `wallMs` (Unix ms) into out[0..12), kept strictly increasing for this peer. */
  timestamp(wallMs: number, out: Uint8Array): void {
    let sec = Math.floor(wallMs / 1000);
    let nanos = Math.floor((wallMs - sec * 1000) * 1e6);
    if (sec < this.lastTaiSec || (sec === this.lastTaiSec && nanos <= this.lastTaiNanos)) {
      sec = this.lastTaiSec;
      nanos = this.lastTaiNanos + 1;
      if (nanos >= 1e9) {
        sec++;
        nanos = 0;
      }
    }
    this.lastTaiSec = sec;
    this.lastTaiNanos = nanos;
    tai64n(sec, nanos, out, 0);
  }

  /** Handshake attempts since the last non-retry initiation. */
  get attempts(): number {
    return this.#attempts;
  }

  // -------------------------------------------------------------------------------------------
  // Keypairs

  /** `current` if it may still send at `nowMs` (under REJECT_AFTER_TIME and the message limit). */
  sendingKeypair(nowMs: number): Keypair | null {
    const kp = this.current;
    if (kp === null || kp.exhausted || nowMs - kp.createdMs >= REJECT_AFTER_TIME_MS) return null;
    return kp;
  }

  /** Installs a new keypair (notes §4.4): initiator -> current; responder -> next. */
  installKeypair(kp: Keypair): void {
    if (kp.isInitiator) {
      const prev = this.previous;
      if (this.next !== null) {
        this.previous = this.next;
        this.next = null;
        this.#drop(this.current);
      } else {
        this.previous = this.current;
      }
      this.#drop(prev);
      this.current = kp;
    } else {
      this.#drop(this.next);
      this.next = kp;
      this.#drop(this.previous);
      this.previous = null;
    }
  }

  /** Key confirmation: a packet authenticated on `next` rotates it to current. Returns whether it did. */
  receivedWith(kp: Keypair): boolean {
    if (this.next !== kp) return false;
    const old = this.previous;
    this.previous = this.current;
    this.#drop(old);
    this.current = kp;
    this.next = null;
    return true;
  }

  #drop(kp: Keypair | null): void {
    if (kp !== null) this.#host.dropIndex(kp.localIndex);
  }

  /** ZeroAndFlushAll: every keypair and the handshake forgotten, staged packets flushed. */
  zeroAll(): void {
    this.#drop(this.previous);
    this.#drop(this.current);
    this.#drop(this.next);
    this.previous = this.current = this.next = null;
    if (this.handshakeIndex !== -1) this.#host.dropIndex(this.handshakeIndex);
    this.handshakeIndex = -1;
    this.handshake.clear();
    this.flushStaged();
  }

  /**
   * Our static key changed (wireguard-go ExpireCurrentKeypairs): the handshake in progress is
   * forgotten, `current` and `next` may no longer send (they still receive until replaced), and
   * the next packet starts a new handshake at once.
   */
  expireCurrentKeypairs(): void {
    if (this.handshakeIndex !== -1) this.#host.dropIndex(this.handshakeIndex);
    this.handshakeIndex = -1;
    this.handshake.clear();
    this.lastSentHandshakeMs = -Infinity;
    this.current?.expire();
    this.next?.expire();
  }

  flushStaged(): void {
    const n = this.staged.clear();
    for (let i = 0; i < n; i++) this.#host.drops.add(WgDrop.StagedFlushed);
  }

  // -------------------------------------------------------------------------------------------
  // Timer events, named as wireguard-go's timers.go

  /** A non-keepalive transport message was sent. */
  dataSent(): void {
    if (this.#deadlines[T_NEW_HANDSHAKE]! < 0) this.#arm(T_NEW_HANDSHAKE, KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS + this.#host.jitterMs());
  }

  /** An authenticated non-empty transport message arrived. */
  dataReceived(): void {
    if (this.#deadlines[T_SEND_KEEPALIVE]! < 0) this.#arm(T_SEND_KEEPALIVE, KEEPALIVE_TIMEOUT_MS);
    else this.#needAnotherKeepalive = true;
  }

  /** Any authenticated packet (handshake or transport) was sent. */
  anyAuthenticatedSent(): void {
    this.#deadlines[T_SEND_KEEPALIVE] = -1;
  }

  /** Any authenticated packet (handshake or transport) arrived. */
  anyAuthenticatedReceived(): void {
    this.#deadlines[T_NEW_HANDSHAKE] = -1;
  }

  /** An initiation was sent. */
  handshakeInitiated(): void {
    this.#arm(T_RETRANSMIT, REKEY_TIMEOUT_MS + this.#host.jitterMs());
  }

  /** A handshake completed (response consumed, or key confirmation as responder). */
  handshakeComplete(wallMs: number): void {
    this.#deadlines[T_RETRANSMIT] = -1;
    this.#attempts = 0;
    this.#sentLastMinuteHandshake = false;
    this.lastHandshakeWallMs = wallMs;
    this.stats[PeerStat.Handshakes]!++;
  }

  /** A keypair was derived. */
  sessionDerived(): void {
    this.#arm(T_ZERO_KEYS, ZERO_KEYS_AFTER_MS);
  }

  /** Any authenticated packet went either way. */
  traversal(): void {
    if (this.persistentKeepaliveMs > 0) this.#arm(T_PERSISTENT, this.persistentKeepaliveMs);
  }

  /** A non-retry initiation resets the attempt counter. */
  resetAttempts(): void {
    this.#attempts = 0;
  }

  /** keepKeyFreshSending: rekey after 2^60 messages, or as initiator after 120 s. */
  keepKeyFreshSending(nowMs: number): void {
    const kp = this.current;
    if (kp === null) return;
    if (kp.needsRekeyByCount || (kp.isInitiator && nowMs - kp.createdMs > REKEY_AFTER_TIME_MS)) this.#host.sendInitiation(this, false);
  }

  /**
   * keepKeyFreshReceiving: as initiator, once, when the current keypair is older than 165 s
   * (`currentOld`, computed by the caller from its clock reading).
   */
  keepKeyFreshReceiving(currentOld: boolean): void {
    if (this.#sentLastMinuteHandshake || !currentOld) return;
    const kp = this.current;
    if (kp !== null && kp.isInitiator) {
      this.#sentLastMinuteHandshake = true;
      this.#host.sendInitiation(this, false);
    }
  }

  /** Turns persistent keepalive on or off; on sends one at once (wireguard-go's pkaOn). */
  setPersistentKeepalive(seconds: number): boolean {
    const was = this.persistentKeepaliveMs;
    this.persistentKeepaliveMs = seconds * 1000;
    if (seconds === 0) this.#deadlines[T_PERSISTENT] = -1;
    return was === 0 && seconds > 0;
  }

  /** Stops every timer (peer removed, device closed). */
  stopTimers(): void {
    this.#deadlines.fill(-1);
    if (this.#timer !== null) this.#host.clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#armedAt = Infinity;
  }

  /** Whether timer `name` is armed (tests). */
  timerPending(name: 'retransmit' | 'sendKeepalive' | 'newHandshake' | 'zeroKeys' | 'persistent'): boolean {
    const i = ['retransmit', 'sendKeepalive', 'newHandshake', 'zeroKeys', 'persistent'].indexOf(name);
    return this.#deadlines[i]! >= 0;
  }

  #arm(slot: number, delayMs: number): void {
    // The coarse cell, not the clock: events arm timers per packet in ping-pong traffic, and a
    // clock read allocates. Deadlines land at most one coarse tick early.
    const at = this.#host.time[0]! + delayMs;
    this.#deadlines[slot] = at;
    if (at < this.#armedAt) this.#schedule(at);
  }

  #schedule(at: number): void {
    const clock = this.#host.clock;
    if (this.#timer !== null) clock.clearTimer(this.#timer);
    this.#armedAt = at;
    this.#timer = clock.setTimer(this.#onTimer, at - this.#host.time[0]!);
  }

  #fire(): void {
    this.#timer = null;
    this.#armedAt = Infinity;
    const d = this.#deadlines;
    for (let guard = 0; guard < 4 * TIMERS && !this.removed; guard++) {
      const now = this.#host.syncTime();
      let due = -1;
      for (let i = 0; i < TIMERS; i++) if (d[i]! >= 0 && d[i]! <= now && (due === -1 || d[i]! < d[due]!)) due = i;
      if (due === -1) break;
      d[due] = -1;
      this.#expired(due);
    }
    if (this.removed) return;
    let min = Infinity;
    for (let i = 0; i < TIMERS; i++) if (d[i]! >= 0 && d[i]! < min) min = d[i]!;
    if (min !== Infinity && min < this.#armedAt) this.#schedule(min);
  }

  #expired(slot: number): void {
    const host = this.#host;
    switch (slot) {
      case T_RETRANSMIT:
        if (this.#attempts > MAX_TIMER_HANDSHAKES) {
          // Gave up after 1 + 19 initiations.
          this.#deadlines[T_SEND_KEEPALIVE] = -1;
          this.flushStaged();
          if (this.#deadlines[T_ZERO_KEYS]! < 0) this.#arm(T_ZERO_KEYS, ZERO_KEYS_AFTER_MS);
          return;
        }
        this.#attempts++;
        host.sendInitiation(this, true);
        return;
      case T_SEND_KEEPALIVE:
        this.sendKeepalive();
        if (this.#needAnotherKeepalive) {
          this.#needAnotherKeepalive = false;
          this.#arm(T_SEND_KEEPALIVE, KEEPALIVE_TIMEOUT_MS);
        }
        return;
      case T_NEW_HANDSHAKE:
        host.sendInitiation(this, false);
        return;
      case T_ZERO_KEYS:
        this.zeroAll();
        return;
      case T_PERSISTENT:
        if (this.persistentKeepaliveMs > 0) this.sendKeepalive();
        return;
    }
  }

  /** SendKeepalive: stage an empty packet unless something is staged, then send the staged. */
  sendKeepalive(): void {
    if (this.staged.count === 0) this.staged.push(EMPTY, 0, 0);
    this.#host.sendStaged(this);
  }
}

const EMPTY = new Uint8Array(0);
