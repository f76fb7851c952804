/**
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (whitepaper §5.4; the notes'
 * §2, checked against wireguard-go `device/noise-protocol.go`): the initiation (type 1) and the
 * response (type 2), created and consumed, and the transport keys that come out of them.
 *
 *   initiator                                   responder
 *   createInitiation  -- 148 B, type 1 -->      consumeInitiation (peer found by its static key,
 *                                                  TAI64N replay and 20 ms flood checks)
 *                                               createResponse, beginSession (keys: next)
 *   consumeResponse   <-- 92 B, type 2 --       
 *   beginSession (keys: current)
 *
 * Sans-I/O: ephemeral keys, indices and timestamps are arguments, so the fixed-key vectors of
 * the notes (§7.2) reproduce exactly. mac1/mac2 are cookie.ts's, applied after creation and
 * checked before consumption. Every consume works on copies of the chaining key and hash and
 * commits only after everything authenticated (a forged message never changes state) and returns
 * a numeric drop reason on failure, never throws.
 *
 * Not here: the index table and the per-peer rate limit of *sending* initiations (peer.ts).
 */

import type { KeyObject } from 'node:crypto';
import { aeadOpen, aeadSeal, compareTai64n, dh, hash, kdf1, kdf2, kdf3, keyPairFromPrivate, mixHash, publicKeyObject, tryPublicKeyObject, type KeyPair } from './crypto.js';
import { HANDSHAKE_INITIATION_RATE_MS, INITIATION_LEN, Init, KEY_LEN, MessageType, RESPONSE_LEN, Resp, TAG_LEN, TAI64N_LEN } from './constants.js';
import { WgDrop } from './stats.js';

const enc = new TextEncoder();
const CONSTRUCTION = enc.encode('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
const IDENTIFIER = enc.encode('WireGuard v1 zx2c4 Jason@zx2c4.com');
export const LABEL_MAC1 = enc.encode('mac1----');
export const LABEL_COOKIE = enc.encode('cookie--');
/** C0 = HASH(Construction); H0 = HASH(C0 ‖ Identifier). */
export const INITIAL_CHAIN_KEY = hash(CONSTRUCTION);
export const INITIAL_HASH = hash(INITIAL_CHAIN_KEY, IDENTIFIER);
const EMPTY = new Uint8Array(0);
const ZERO_KEY = new Uint8Array(KEY_LEN);

/** Where a handshake is (wireguard-go's handshakeState). */
export const HandshakeState = {
  Zeroed: 0,
  InitiationCreated: 1,
  InitiationConsumed: 2,
  ResponseCreated: 3,
  ResponseConsumed: 4,
} as const;
export type HandshakeState = (typeof HandshakeState)[keyof typeof HandshakeState];

/** Receives every intermediate value (tests: the §7.2 vectors). Labels follow the notes. */
export type NoiseTrace = (label: string, value: Uint8Array) => void;

/** Our side: the static key pair and the keys derived from its public half. */
export class StaticIdentity {
  /** Replaced by `setKeyPair` (a private key set at run time); read it at use, never cache it. */
  keyPair: KeyPair;
  /** HASH("mac1----" ‖ our public key): checks mac1 of what we receive. Rewritten in place by `setKeyPair`. */
  readonly mac1Key: Uint8Array;
  /** HASH("cookie--" ‖ our public key): seals the cookie replies we send. Rewritten in place by `setKeyPair`. */
  readonly cookieKey: Uint8Array;
  /** Test hook: every intermediate C, H and key (null: off). */
  trace: NoiseTrace | null = null;

  /** @throws {PktTypeError} when `privateKey` is not 32 bytes. */
  constructor(privateKey: Uint8Array) {
    this.keyPair = keyPairFromPrivate(privateKey);
    this.mac1Key = hash(LABEL_MAC1, this.keyPair.publicKey);
    this.cookieKey = hash(LABEL_COOKIE, this.keyPair.publicKey);
  }

  get publicKey(): Uint8Array {
    return this.keyPair.publicKey;
  }

  /**
   * A new static key (wireguard-go `SetPrivateKey`). The mac1 and cookie keys are rewritten in
   * place, so a CookieChecker holding them follows; the old private key bytes are zeroed.
   * Peers' handshakes must then `rederive` (the device's private key setter does both).
   */
  setKeyPair(kp: KeyPair): void {
    const old = this.keyPair;
    this.keyPair = kp;
    this.mac1Key.set(hash(LABEL_MAC1, kp.publicKey));
    this.cookieKey.set(hash(LABEL_COOKIE, kp.publicKey));
    if (old !== kp) old.privateKey.fill(0);
  }
}

/**
 * The handshake state of one peer (one slot, as wireguard-go: a new initiation replaces the
 * one in progress). Also holds what survives handshakes: the peer's static key and what is
 * precomputed from it, the PSK, and the last accepted TAI64N with its arrival time.
 */
export class Handshake {
  readonly remoteStatic: Uint8Array;
  readonly remoteStaticObj: KeyObject;
  /** HASH("mac1----" ‖ peer's key) and HASH("cookie--" ‖ peer's key): for messages we send it. */
  readonly remoteMac1Key: Uint8Array;
  readonly remoteCookieKey: Uint8Array;
  /** DH(s_local, S_remote), or null when the peer's key is a low-order point (never usable). Recomputed by `rederive`. */
  precomputedSS: Uint8Array | null;
  psk: Uint8Array = ZERO_KEY;
  state: HandshakeState = HandshakeState.Zeroed;
  chainKey: Uint8Array = ZERO_KEY;
  hash: Uint8Array = ZERO_KEY;
  ephemeral: KeyPair | null = null;
  remoteEphemeral: Uint8Array = ZERO_KEY;
  /** The remote ephemeral imported once (each import costs about 6 us). */
  remoteEphemeralObj: KeyObject | null = null;
  localIndex = 0;
  remoteIndex = 0;
  /** Last accepted initiation timestamp from this peer (zeros: none yet). */
  readonly lastTimestamp = new Uint8Array(TAI64N_LEN);
  /** Monotonic time of the last accepted initiation (flood rule). */
  lastInitiationConsumedMs = -Infinity;

  constructor(local: StaticIdentity, remoteStatic: Uint8Array, psk: Uint8Array | null = null) {
    this.remoteStatic = Uint8Array.from(remoteStatic);
    this.remoteStaticObj = publicKeyObject(this.remoteStatic);
    this.remoteMac1Key = hash(LABEL_MAC1, this.remoteStatic);
    this.remoteCookieKey = hash(LABEL_COOKIE, this.remoteStatic);
    const ss = new Uint8Array(KEY_LEN);
    this.precomputedSS = dh(local.keyPair.keyObject, this.remoteStaticObj, ss) ? ss : null;
    if (psk !== null) this.psk = Uint8Array.from(psk);
  }

  /** Our static key changed: recomputes DH(s_local, S_remote) and forgets the handshake in progress. */
  rederive(local: StaticIdentity): void {
    this.precomputedSS?.fill(0);
    const ss = new Uint8Array(KEY_LEN);
    this.precomputedSS = dh(local.keyPair.keyObject, this.remoteStaticObj, ss) ? ss : null;
    this.clear();
  }

  /** Forgets the handshake in progress (keeps the static key, PSK and timestamp record). */
  clear(): void {
    this.state = HandshakeState.Zeroed;
    this.chainKey.fill(0);
    this.hash.fill(0);
    this.chainKey = ZERO_KEY;
    this.hash = ZERO_KEY;
    this.ephemeral?.privateKey.fill(0);
    this.ephemeral = null;
    this.remoteEphemeral = ZERO_KEY;
    this.remoteEphemeralObj = null;
    this.localIndex = 0;
    this.remoteIndex = 0;
  }
}

/** The transport keys of a completed handshake (transport.ts turns them into a Keypair). */
export interface SessionKeys {
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  isInitiator: boolean;
  localIndex: number;
  remoteIndex: number;
}

function trace(id: StaticIdentity, label: string, v: Uint8Array): void {
  if (id.trace !== null) id.trace(label, v);
}

function writeHeader(out: Uint8Array, off: number, type: number): void {
  out[off] = type;
  out[off + 1] = 0;
  out[off + 2] = 0;
  out[off + 3] = 0;
}

function setLe32(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
  b[off + 1] = v >>> 8;
  b[off + 2] = v >>> 16;
  b[off + 3] = v >>> 24;
}

function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

/** True when the 4-byte type field at `off` is `type` followed by three zero bytes. */
export function isType(msg: Uint8Array, off: number, type: number): boolean {
  return msg[off] === type && msg[off + 1] === 0 && msg[off + 2] === 0 && msg[off + 3] === 0;
}

/**
 * Writes an initiation (bytes 0..115; mac1 and mac2 are left zero for cookie.ts) to `hs`'s peer
 * into out[off..off+148), with ephemeral `e`, sender index `localIndex` and the 12-byte TAI64N
 * `timestamp`. Returns false (nothing committed) when the peer's key is unusable.
 * Notes §2.3.
 */
export function createInitiation(id: StaticIdentity, hs: Handshake, e: KeyPair, localIndex: number, timestamp: Uint8Array, out: Uint8Array, off: number): boolean {
  if (hs.precomputedSS === null) return false;
  let h = mixHash(INITIAL_HASH, hs.remoteStatic);
  trace(id, 'H=MIX_HASH(H0,S_r)', h);
  let c = kdf1(INITIAL_CHAIN_KEY, e.publicKey);
  trace(id, 'C=KDF1(C0,E_i)', c);
  h = mixHash(h, e.publicKey);
  trace(id, 'H=MIX_HASH(H,E_i)', h);
  const shared = new Uint8Array(KEY_LEN);
  if (!dh(e.keyObject, hs.remoteStaticObj, shared)) return false;
  let k: Uint8Array;
  [c, k] = kdf2(c, shared);
  trace(id, 'C (after es)', c);
  trace(id, 'k (static)', k);
  writeHeader(out, off, MessageType.Initiation);
  setLe32(out, off + Init.Sender, localIndex);
  out.set(e.publicKey, off + Init.Ephemeral);
  aeadSeal(k, id.publicKey, h, out, off + Init.Static);
  h = mixHash(h, out.subarray(off + Init.Static, off + Init.Timestamp));
  trace(id, 'H (after static)', h);
  [c, k] = kdf2(c, hs.precomputedSS);
  trace(id, 'C (after ss)', c);
  trace(id, 'k (timestamp)', k);
  aeadSeal(k, timestamp.subarray(0, TAI64N_LEN), h, out, off + Init.Timestamp);
  h = mixHash(h, out.subarray(off + Init.Timestamp, off + Init.Mac1));
  trace(id, 'H (after timestamp)', h);
  out.fill(0, off + Init.Mac1, off + INITIATION_LEN);
  hs.clear();
  hs.chainKey = c;
  hs.hash = h;
  hs.ephemeral = e;
  hs.localIndex = localIndex;
  hs.state = HandshakeState.InitiationCreated;
  return true;
}

/**
 * Consumes an initiation (148 bytes at msg[off], mac1 already checked). `lookup` finds the
 * handshake of the peer with the decrypted static key (null: unknown, dropped silently).
 * Returns the peer's handshake, committed to InitiationConsumed, or a WgDrop reason with no
 * state changed. Notes §2.4 and §2.7.
 */
export function consumeInitiation(
  id: StaticIdentity,
  msg: Uint8Array,
  off: number,
  len: number,
  nowMs: number,
  lookup: (staticKey: Uint8Array) => Handshake | null,
): Handshake | WgDrop {
  if (len !== INITIATION_LEN) return WgDrop.BadLength;
  if (!isType(msg, off, MessageType.Initiation)) return WgDrop.BadType;
  const ei = msg.slice(off + Init.Ephemeral, off + Init.Static);
  const eiObj = tryPublicKeyObject(ei);
  if (eiObj === null) return WgDrop.BadKey;
  let h = mixHash(INITIAL_HASH, id.publicKey);
  let c = kdf1(INITIAL_CHAIN_KEY, ei);
  h = mixHash(h, ei);
  const shared = new Uint8Array(KEY_LEN);
  if (!dh(id.keyPair.keyObject, eiObj, shared)) return WgDrop.BadKey;
  let k: Uint8Array;
  [c, k] = kdf2(c, shared);
  const si = aeadOpen(k, msg, off + Init.Static, KEY_LEN + TAG_LEN, h);
  if (si === null) return WgDrop.AuthFailed;
  h = mixHash(h, msg.subarray(off + Init.Static, off + Init.Timestamp));
  const hs = lookup(si);
  if (hs === null) return WgDrop.UnknownPeer;
  if (hs.precomputedSS === null) return WgDrop.BadKey;
  [c, k] = kdf2(c, hs.precomputedSS);
  const ts = aeadOpen(k, msg, off + Init.Timestamp, TAI64N_LEN + TAG_LEN, h);
  if (ts === null) return WgDrop.AuthFailed;
  h = mixHash(h, msg.subarray(off + Init.Timestamp, off + Init.Mac1));
  const rule = initiationRules(hs, ts, nowMs);
  if (rule !== 0) return rule as WgDrop;
  commitInitiation(hs, c, h, ei, eiObj, le32(msg, off + Init.Sender), ts, nowMs);
  return hs;
}

/**
 * §2.7 for an authenticated initiation with timestamp `ts` at `nowMs`: 0, or HandshakeReplay
 * (not strictly later than the last accepted timestamp) or HandshakeFlood (within 20 ms of it).
 */
export function initiationRules(hs: Handshake, ts: Uint8Array, nowMs: number): number {
  if (compareTai64n(ts, 0, hs.lastTimestamp, 0) <= 0) return WgDrop.HandshakeReplay;
  if (nowMs - hs.lastInitiationConsumedMs < HANDSHAKE_INITIATION_RATE_MS) return WgDrop.HandshakeFlood;
  return 0;
}

/** Commits a consumed initiation to `hs` (InitiationConsumed); the rules have passed. */
export function commitInitiation(hs: Handshake, c: Uint8Array, h: Uint8Array, ei: Uint8Array, eiObj: KeyObject | null, sender: number, ts: Uint8Array, nowMs: number): void {
  hs.clear();
  hs.chainKey = c;
  hs.hash = h;
  hs.remoteEphemeral = ei;
  hs.remoteEphemeralObj = eiObj;
  hs.remoteIndex = sender >>> 0;
  hs.lastTimestamp.set(ts);
  hs.lastInitiationConsumedMs = nowMs;
  hs.state = HandshakeState.InitiationConsumed;
}

/**
 * Writes the response to the initiation `hs` consumed (bytes 0..59, macs left zero) into
 * out[off..off+92) with ephemeral `e` and sender index `localIndex`, and commits
 * ResponseCreated. Returns false when `hs` is not in InitiationConsumed or a DH fails.
 * Notes §2.5.
 */
export function createResponse(id: StaticIdentity, hs: Handshake, e: KeyPair, localIndex: number, out: Uint8Array, off: number): boolean {
  if (hs.state !== HandshakeState.InitiationConsumed) return false;
  let c = hs.chainKey;
  let h = hs.hash;
  h = mixHash(h, e.publicKey);
  trace(id, 'H=MIX_HASH(H,E_r)', h);
  c = kdf1(c, e.publicKey);
  trace(id, 'C=KDF1(C,E_r)', c);
  const shared = new Uint8Array(KEY_LEN);
  if (!dh(e.keyObject, hs.remoteEphemeralObj ?? hs.remoteEphemeral, shared)) return false;
  c = kdf1(c, shared);
  trace(id, 'C (after ee)', c);
  if (!dh(e.keyObject, hs.remoteStaticObj, shared)) return false;
  c = kdf1(c, shared);
  trace(id, 'C (after se)', c);
  const [c2, tau, k] = kdf3(c, hs.psk);
  c = c2;
  trace(id, 'C (after psk)', c);
  trace(id, 'tau', tau);
  trace(id, 'k (empty)', k);
  h = mixHash(h, tau);
  trace(id, 'H (after tau)', h);
  writeHeader(out, off, MessageType.Response);
  setLe32(out, off + Resp.Sender, localIndex);
  setLe32(out, off + Resp.Receiver, hs.remoteIndex);
  out.set(e.publicKey, off + Resp.Ephemeral);
  aeadSeal(k, EMPTY, h, out, off + Resp.Empty);
  h = mixHash(h, out.subarray(off + Resp.Empty, off + Resp.Mac1));
  trace(id, 'H final', h);
  out.fill(0, off + Resp.Mac1, off + RESPONSE_LEN);
  hs.chainKey = c;
  hs.hash = h;
  hs.ephemeral = e;
  hs.localIndex = localIndex;
  hs.state = HandshakeState.ResponseCreated;
  return true;
}

/** The receiver index of a response (to find its handshake before consuming it). */
export function responseReceiver(msg: Uint8Array, off: number): number {
  return le32(msg, off + Resp.Receiver);
}

/**
 * Consumes a response (92 bytes at msg[off], mac1 already checked) to the initiation of `hs`
 * (found by the receiver index). Commits ResponseConsumed and returns 0, or a WgDrop reason
 * with no state changed. Notes §2.6.
 */
export function consumeResponse(id: StaticIdentity, hs: Handshake, msg: Uint8Array, off: number, len: number): number {
  if (len !== RESPONSE_LEN) return WgDrop.BadLength;
  if (!isType(msg, off, MessageType.Response)) return WgDrop.BadType;
  if (hs.state !== HandshakeState.InitiationCreated || hs.ephemeral === null) return WgDrop.UnknownIndex;
  if (le32(msg, off + Resp.Receiver) !== hs.localIndex) return WgDrop.UnknownIndex;
  const er = msg.slice(off + Resp.Ephemeral, off + Resp.Empty);
  const erObj = tryPublicKeyObject(er);
  if (erObj === null) return WgDrop.BadKey;
  let h = mixHash(hs.hash, er);
  let c = kdf1(hs.chainKey, er);
  const shared = new Uint8Array(KEY_LEN);
  if (!dh(hs.ephemeral.keyObject, erObj, shared)) return WgDrop.BadKey;
  c = kdf1(c, shared);
  if (!dh(id.keyPair.keyObject, erObj, shared)) return WgDrop.BadKey;
  c = kdf1(c, shared);
  const [c2, tau, k] = kdf3(c, hs.psk);
  c = c2;
  h = mixHash(h, tau);
  if (aeadOpen(k, msg, off + Resp.Empty, TAG_LEN, h) === null) return WgDrop.AuthFailed;
  h = mixHash(h, msg.subarray(off + Resp.Empty, off + Resp.Mac1));
  hs.chainKey = c;
  hs.hash = h;
  hs.remoteEphemeral = er;
  hs.remoteIndex = le32(msg, off + Resp.Sender);
  hs.state = HandshakeState.ResponseConsumed;
  return 0;
}

/**
 * Derives the transport keys of a handshake in ResponseCreated (responder) or ResponseConsumed
 * (initiator) and clears it (C, H and the ephemeral key zeroed). Null in any other state.
 * Notes §2.8: (T1, T2) = KDF2(C, ""); the initiator sends with T1.
 */
export function beginSession(id: StaticIdentity, hs: Handshake): SessionKeys | null {
  let isInitiator: boolean;
  if (hs.state === HandshakeState.ResponseConsumed) isInitiator = true;
  else if (hs.state === HandshakeState.ResponseCreated) isInitiator = false;
  else return null;
  const [t1, t2] = kdf2(hs.chainKey, EMPTY);
  trace(id, 'T1', t1);
  trace(id, 'T2', t2);
  const keys: SessionKeys = {
    sendKey: isInitiator ? t1 : t2,
    recvKey: isInitiator ? t2 : t1,
    isInitiator,
    localIndex: hs.localIndex,
    remoteIndex: hs.remoteIndex,
  };
  hs.clear();
  return keys;
}
