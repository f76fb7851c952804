/**
 * The responder's handshake crypto as stateless jobs, for a worker pool under a handshake storm
 * (DESIGN.md "Threads": piscina is for bursty CPU jobs with a result). The same steps as
 * noise.ts's `consumeInitiation` and `createResponse` (notes §2.4, §2.5), split where the
 * device's state is needed:
 *
 *   device thread                         pool thread
 *   mac1, load gate (cookie.ts)
 *   ---- {privateKey, msg} -------------> consumeInitiationJob: DH(s, Ei), open S_i, DH(s, S_i),
 *                                          open the timestamp            (2 X25519, ~12 BLAKE2s)
 *   <--- {remoteStatic, C, H, Ei, ts} ---
 *   find the peer (or enrol it), TAI64N and flood rules, commit InitiationConsumed
 *   ---- {C, H, Ei, S_i, psk, e_priv} --> createResponseJob: E_r, DH(e, Ei), DH(e, S_i), psk,
 *                                          seal the empty payload        (3 X25519, ~15 BLAKE2s)
 *   <--- {response bytes, C, H} ---------
 *   the handshake is still the one the job started from? then index, macs, keys, send
 *
 * Nothing here keeps state between calls except a small cache of imported static keys (an
 * import costs about 40 us); no job touches a peer: the device redoes every state check when a
 * result comes back (handshake-offload.ts). Payloads and results are structured-clonable.
 * Failures are numeric WgDrop reasons, never throws, as on the inline path.
 *
 * The static private key travels in the payload: the pool is a thread of this process, and its
 * messages never leave it.
 */

import { aeadOpen, aeadSeal, dh, hash, kdf1, kdf2, kdf3, keyPairFromPrivate, mixHash, tryPublicKeyObject } from './crypto.js';
import { INITIATION_LEN, Init, KEY_LEN, MessageType, Resp, RESPONSE_LEN, TAG_LEN, TAI64N_LEN } from './constants.js';
import { INITIAL_CHAIN_KEY, INITIAL_HASH, StaticIdentity, isType } from './noise.js';
import { WgDrop } from './stats.js';

const EMPTY = new Uint8Array(0);
/**
 * Identities imported by this thread, keyed by HASH(private key) in hex (never the key itself in
 * a string, which could not be wiped). Bounded: cleared when full.
 */
const IDENTITIES = new Map<string, StaticIdentity>();
const MAX_IDENTITIES = 16;

function identityOf(privateKey: Uint8Array): StaticIdentity {
  const d = hash(privateKey);
  const k = Buffer.from(d.buffer, d.byteOffset, d.length).toString('hex');
  let id = IDENTITIES.get(k);
  if (id === undefined) {
    if (IDENTITIES.size >= MAX_IDENTITIES) IDENTITIES.clear();
    id = new StaticIdentity(privateKey);
    IDENTITIES.set(k, id);
  }
  return id;
}

export interface ConsumeInitiationPayload {
  /** Our static private key (32 bytes). */
  privateKey: Uint8Array;
  /** The 148-byte initiation (mac1 already checked by the device). */
  msg: Uint8Array;
}

/** What a consumed initiation yields, before any peer state is looked at. */
export interface ConsumedInitiation {
  drop: 0;
  remoteStatic: Uint8Array;
  chainKey: Uint8Array;
  hash: Uint8Array;
  remoteEphemeral: Uint8Array;
  /** The decrypted TAI64N (12 bytes). */
  timestamp: Uint8Array;
  /** The initiator's sender index (u32). */
  sender: number;
}

export type ConsumeInitiationResult = ConsumedInitiation | { drop: number };

function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

/**
 * Notes §2.4 without the peer lookup and the §2.7 rules (the device applies those): decrypts
 * the initiator's static key and the timestamp. DH(s_r, S_i) is computed here (the device's
 * precomputed one is not at hand), one X25519 more than the inline path.
 */
export function consumeInitiationJob(p: ConsumeInitiationPayload): ConsumeInitiationResult {
  const msg = p.msg;
  if (!(msg instanceof Uint8Array) || msg.length !== INITIATION_LEN) return { drop: WgDrop.BadLength };
  if (!isType(msg, 0, MessageType.Initiation)) return { drop: WgDrop.BadType };
  const id = identityOf(p.privateKey);
  const ei = msg.slice(Init.Ephemeral, Init.Static);
  const eiObj = tryPublicKeyObject(ei);
  if (eiObj === null) return { drop: WgDrop.BadKey };
  let h = mixHash(INITIAL_HASH, id.publicKey);
  let c = kdf1(INITIAL_CHAIN_KEY, ei);
  h = mixHash(h, ei);
  const shared = new Uint8Array(KEY_LEN);
  if (!dh(id.keyPair.keyObject, eiObj, shared)) return { drop: WgDrop.BadKey };
  let k: Uint8Array;
  [c, k] = kdf2(c, shared);
  const si = aeadOpen(k, msg, Init.Static, KEY_LEN + TAG_LEN, h);
  if (si === null) return { drop: WgDrop.AuthFailed };
  h = mixHash(h, msg.subarray(Init.Static, Init.Timestamp));
  const siObj = tryPublicKeyObject(si);
  if (siObj === null || !dh(id.keyPair.keyObject, siObj, shared)) return { drop: WgDrop.BadKey };
  [c, k] = kdf2(c, shared);
  const ts = aeadOpen(k, msg, Init.Timestamp, TAI64N_LEN + TAG_LEN, h);
  if (ts === null) return { drop: WgDrop.AuthFailed };
  h = mixHash(h, msg.subarray(Init.Timestamp, Init.Mac1));
  return { drop: 0, remoteStatic: Uint8Array.from(si), chainKey: c, hash: h, remoteEphemeral: ei, timestamp: Uint8Array.from(ts), sender: le32(msg, Init.Sender) };
}

export interface CreateResponsePayload {
  privateKey: Uint8Array;
  /** The handshake's C and H after the initiation (committed by the device). */
  chainKey: Uint8Array;
  hash: Uint8Array;
  remoteEphemeral: Uint8Array;
  remoteStatic: Uint8Array;
  /** The peer's pre-shared key (zeros: none). */
  psk: Uint8Array;
  /** The initiator's index (the response's receiver field). */
  remoteIndex: number;
  /** Our ephemeral private key, drawn by the device from its random source. */
  ephemeralPrivate: Uint8Array;
}

export interface CreatedResponse {
  drop: 0;
  /** The 92-byte response with the sender index and both macs left zero. */
  msg: Uint8Array;
  chainKey: Uint8Array;
  hash: Uint8Array;
}

export type CreateResponseResult = CreatedResponse | { drop: number };

/**
 * Notes §2.5: the response to a consumed initiation. The sender index is not covered by the
 * Noise hash (only the macs cover it), so the device writes it afterwards, once it has
 * allocated one for a handshake that is still current.
 */
export function createResponseJob(p: CreateResponsePayload): CreateResponseResult {
  const e = keyPairFromPrivate(p.ephemeralPrivate);
  const eiObj = tryPublicKeyObject(p.remoteEphemeral);
  const srObj = tryPublicKeyObject(p.remoteStatic);
  if (eiObj === null || srObj === null) return { drop: WgDrop.BadKey };
  let h = mixHash(p.hash, e.publicKey);
  let c = kdf1(p.chainKey, e.publicKey);
  const shared = new Uint8Array(KEY_LEN);
  if (!dh(e.keyObject, eiObj, shared)) return { drop: WgDrop.BadKey };
  c = kdf1(c, shared);
  if (!dh(e.keyObject, srObj, shared)) return { drop: WgDrop.BadKey };
  c = kdf1(c, shared);
  const [c2, tau, k] = kdf3(c, p.psk);
  c = c2;
  h = mixHash(h, tau);
  const out = new Uint8Array(RESPONSE_LEN);
  out[0] = MessageType.Response;
  const r = p.remoteIndex >>> 0;
  out[Resp.Receiver] = r;
  out[Resp.Receiver + 1] = r >>> 8;
  out[Resp.Receiver + 2] = r >>> 16;
  out[Resp.Receiver + 3] = r >>> 24;
  out.set(e.publicKey, Resp.Ephemeral);
  aeadSeal(k, EMPTY, h, out, Resp.Empty);
  h = mixHash(h, out.subarray(Resp.Empty, Resp.Mac1));
  e.privateKey.fill(0);
  return { drop: 0, msg: out, chainKey: c, hash: h };
}
