/**
 * Batched AEAD: ChaCha20-Poly1305 (RFC 8439) and AES-256-GCM (NIST SP 800-38D) sealed and opened
 * in place over many slots of one buffer per call, for the tunnels' data paths (WireGuard's
 * transport messages, OpenVPN's AEAD data channel).
 *
 * With the addon built with `aead` (native/src/aead.rs, ring doing the cryptography), a batch of
 * 64 packets of 1420 bytes costs about 0.75 us per packet in ChaCha20-Poly1305 and 0.3 us in
 * AES-256-GCM here, against 4-5 us per packet for node:crypto, which can only make a new
 * cipher object per packet (docs/BENCHMARKS.md, "Batched AEAD"). Without the addon the same API
 * runs on node:crypto (aead-fallback.ts) with the same checks and the same results.
 *
 *   buf (one Uint8Array, e.g. a view of a SharedArrayBuffer ring or frame pool)
 *   +--------+-----------------------+------+-----+------------------+------+----
 *   | ...    | slot 0 data           | tag  | ... | slot 1 data      | tag  | ...
 *   +--------+-----------------------+------+-----+------------------+------+----
 *            ^ offs[0]   lens[0]     ^ offs[0] + lens[0] (seal writes, open reads)
 *   nonces:  | nonce 0 (12 bytes) | nonce 1 | ...          slot i: nonces[12 i .. 12 i + 12]
 *   status:  | 0 | 1 | ...   (open: 0 ok, 1 tag did not verify, 2 shorter than a tag)
 *
 * - Seal: `lens[i]` plaintext bytes at `offs[i]` become as many ciphertext bytes, and the 16-byte
 *   tag is written right after them (the slot needs 16 bytes of room), or at `tagOffs[i]`.
 * - Open: `lens[i]` sealed bytes at `offs[i]` (ciphertext then tag; or the ciphertext alone when
 *   `tagOffs` places the tags) become the plaintext, `lens[i] - 16` bytes (`lens[i]` with
 *   `tagOffs`). A slot whose tag does not verify is flagged in `status`, its ciphertext zeroed,
 *   and the rest of the batch is still opened: a bad packet is never an exception.
 * - Nonces: 12 bytes per slot, written by the caller (no allocation per call or slot).
 *   `setCounterNonce` writes WireGuard's (4 zero bytes, then the 64-bit counter little-endian),
 *   `setPacketIdNonce` OpenVPN 2.6's (the packet id as on the wire, then the implicit IV).
 * - Associated data (optional, `AeadSlotAad`): per-slot regions of a buffer, which may be the
 *   data buffer itself (OpenVPN authenticates the header before the ciphertext).
 * - Tags apart (optional, `tagOffs`): OpenVPN 2.6 puts the tag in front of the ciphertext.
 *
 * Bad arguments (a key of the wrong length, a slot outside the buffer, arrays shorter than
 * `count`, arrays sharing memory with the buffer) are PktTypeError/PktRangeError, found before
 * any slot is touched: nothing is written then. They are checked once per call: by the addon
 * (it must check anyway, and returns a code this module turns into the error), or by the same
 * checks in JavaScript for the fallback.
 *
 * Nonce uniqueness is the caller's: a nonce used twice with one key breaks both AEADs.
 */

import { PktRangeError, PktTypeError } from '../errors.js';
import { hasNative, requireNative } from './index.js';
import { AEAD_KEY_LEN, AEAD_MAX_BATCH, AEAD_NONCE_LEN, AEAD_TAG_LEN, AeadDir, batchError, type AeadSlotAad } from './aead-check.js';
import { NodeCryptoAead } from './aead-fallback.js';
import type * as AeadBinding from './binding.js';

export { AEAD_KEY_LEN, AEAD_MAX_BATCH, AEAD_NONCE_LEN, AEAD_TAG_LEN, AeadReason, type AeadSlotAad } from './aead-check.js';
export { AeadStatus } from './aead-fallback.js';

/** The AEADs, named as in node:crypto. */
export type AeadAlgorithm = 'chacha20-poly1305' | 'aes-256-gcm';

/** One key of one AEAD: seals and opens batches of slots in place. Unsafe for concurrent use. */
export interface Aead {
  readonly algorithm: AeadAlgorithm;
  /** True when the addon does the work, false for the node:crypto fallback. */
  readonly native: boolean;
  /**
   * Seals slots `0 .. count - 1` of `buf` in place (see the module doc for the layout).
   * @throws {PktTypeError} an argument of the wrong type, or arrays sharing memory with `buf`.
   * @throws {PktRangeError} arrays shorter than `count`, or a slot, its tag or its AAD outside its buffer.
   */
  sealBatch(
    buf: Uint8Array,
    offs: Int32Array,
    lens: Int32Array,
    count: number,
    nonces: Uint8Array,
    aad?: AeadSlotAad | null,
    tagOffs?: Int32Array | null,
  ): void;
  /**
   * Opens slots `0 .. count - 1` of `buf` in place and writes each slot's `AeadStatus` into
   * `status`. Returns how many slots failed (0: all opened).
   * @throws {PktTypeError} an argument of the wrong type, or arrays sharing memory with `buf` or `status`.
   * @throws {PktRangeError} arrays shorter than `count`, or a slot, its tag or its AAD outside its buffer.
   */
  openBatch(
    buf: Uint8Array,
    offs: Int32Array,
    lens: Int32Array,
    count: number,
    nonces: Uint8Array,
    status: Uint8Array,
    aad?: AeadSlotAad | null,
    tagOffs?: Int32Array | null,
  ): number;
  /**
   * Seals the `len` bytes at `off` in place and writes the tag after them; returns `len + 16`.
   * `nonce` is 12 bytes, `aad` optional (any buffer, the data buffer's memory included).
   * @throws {PktTypeError} {PktRangeError} as `sealBatch`, and for a nonce that is not 12 bytes.
   */
  seal(buf: Uint8Array, off: number, len: number, nonce: Uint8Array, aad?: Uint8Array | null): number;
  /**
   * Opens the `len` sealed bytes (ciphertext and tag) at `off` in place; returns the plaintext
   * length `len - 16`, or -1 when the tag does not verify (the ciphertext is zeroed) or `len` is
   * shorter than a tag.
   * @throws {PktTypeError} {PktRangeError} as `openBatch`, and for a nonce that is not 12 bytes.
   */
  open(buf: Uint8Array, off: number, len: number, nonce: Uint8Array, aad?: Uint8Array | null): number;
}

export interface CreateAeadOptions {
  /**
   * true: use the addon (throws ERR_PKT_NATIVE_UNAVAILABLE without it); false: node:crypto.
   * Default: the addon when it is built with `aead`.
   */
  native?: boolean;
}

type Binding = typeof AeadBinding;

/**
 * An AEAD with `key` (32 bytes, copied: the key schedule is expanded once, here).
 * @throws {PktTypeError} an unknown algorithm, or a key that is not a Uint8Array.
 * @throws {PktRangeError} a key that is not 32 bytes.
 * @throws {PktError} ERR_PKT_NATIVE_UNAVAILABLE when `opts.native` is true and the addon lacks `aead`.
 */
export function createAead(algorithm: AeadAlgorithm, key: Uint8Array, opts: CreateAeadOptions = {}): Aead {
  if (algorithm !== 'chacha20-poly1305' && algorithm !== 'aes-256-gcm') {
    throw new PktTypeError(`createAead: algorithm must be 'chacha20-poly1305' or 'aes-256-gcm', got ${JSON.stringify(algorithm)}`);
  }
  if (!(key instanceof Uint8Array)) throw new PktTypeError(`createAead: key must be a Uint8Array, got ${describe(key)}`);
  if (key.length !== AEAD_KEY_LEN) throw new PktRangeError(`createAead: ${algorithm} keys are ${AEAD_KEY_LEN} bytes, got ${key.length}`);
  const native = opts.native ?? hasNative('aead');
  if (native) {
    const b = requireNative('batched AEAD', 'aead') as unknown as Binding;
    return new BatchAead(algorithm, true, b, b.aeadKey(algorithm, key), null);
  }
  return new BatchAead(algorithm, false, null, null, new NodeCryptoAead(algorithm, key));
}

/**
 * Writes slot `slot`'s nonce as WireGuard (and RFC 8439 §2.8's "32-bit constant" of zero) wants
 * it: 4 zero bytes, then the 64-bit counter `hi * 2^32 + lo` little-endian. Allocates nothing.
 */
export function setCounterNonce(nonces: Uint8Array, slot: number, counterLo: number, counterHi: number): void {
  const o = slot * AEAD_NONCE_LEN;
  nonces[o] = 0;
  nonces[o + 1] = 0;
  nonces[o + 2] = 0;
  nonces[o + 3] = 0;
  nonces[o + 4] = counterLo;
  nonces[o + 5] = counterLo >>> 8;
  nonces[o + 6] = counterLo >>> 16;
  nonces[o + 7] = counterLo >>> 24;
  nonces[o + 8] = counterHi;
  nonces[o + 9] = counterHi >>> 8;
  nonces[o + 10] = counterHi >>> 16;
  nonces[o + 11] = counterHi >>> 24;
}

/**
 * Writes slot `slot`'s nonce as OpenVPN 2.6's AEAD data channel builds it: the 32-bit packet id
 * big-endian (as on the wire), then the first 8 bytes of `implicitIv`. Allocates nothing.
 */
export function setPacketIdNonce(nonces: Uint8Array, slot: number, packetId: number, implicitIv: Uint8Array): void {
  const o = slot * AEAD_NONCE_LEN;
  nonces[o] = packetId >>> 24;
  nonces[o + 1] = packetId >>> 16;
  nonces[o + 2] = packetId >>> 8;
  nonces[o + 3] = packetId;
  for (let i = 0; i < 8; i++) nonces[o + 4 + i] = implicitIv[i]!;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return typeof v;
}

/**
 * Both implementations behind one class, so that every call site sees one shape (the addon's
 * handle or the fallback object is null). Per call: type checks, one native call (or the
 * fallback's loop), and an error built only when a code comes back negative.
 */
class BatchAead implements Aead {
  readonly algorithm: AeadAlgorithm;
  readonly native: boolean;
  readonly #b: Binding | null;
  readonly #key: ReturnType<Binding['aeadKey']> | null;
  readonly #js: NodeCryptoAead | null;
  // Scratch arrays of the one-packet conveniences (slot 0 of a one-slot batch).
  readonly #offs1 = new Int32Array(1);
  readonly #lens1 = new Int32Array(1);
  readonly #nonce1 = new Uint8Array(AEAD_NONCE_LEN);
  readonly #status1 = new Uint8Array(1);
  readonly #aad1: { buf: Uint8Array; offs: Int32Array; lens: Int32Array } = { buf: new Uint8Array(0), offs: new Int32Array(1), lens: new Int32Array(1) };

  constructor(algorithm: AeadAlgorithm, native: boolean, b: Binding | null, key: ReturnType<Binding['aeadKey']> | null, js: NodeCryptoAead | null) {
    this.algorithm = algorithm;
    this.native = native;
    this.#b = b;
    this.#key = key;
    this.#js = js;
  }

  sealBatch(
    buf: Uint8Array,
    offs: Int32Array,
    lens: Int32Array,
    count: number,
    nonces: Uint8Array,
    aad: AeadSlotAad | null = null,
    tagOffs: Int32Array | null = null,
  ): void {
    this.#seal('sealBatch', buf, offs, lens, count, nonces, aad, tagOffs);
  }

  openBatch(
    buf: Uint8Array,
    offs: Int32Array,
    lens: Int32Array,
    count: number,
    nonces: Uint8Array,
    status: Uint8Array,
    aad: AeadSlotAad | null = null,
    tagOffs: Int32Array | null = null,
  ): number {
    return this.#open('openBatch', buf, offs, lens, count, nonces, status, aad, tagOffs);
  }

  seal(buf: Uint8Array, off: number, len: number, nonce: Uint8Array, aad: Uint8Array | null = null): number {
    this.#one('seal', off, len, nonce, aad);
    this.#seal('seal', buf, this.#offs1, this.#lens1, 1, this.#nonce1, aad === null ? null : this.#aad1, null);
    return len + AEAD_TAG_LEN;
  }

  open(buf: Uint8Array, off: number, len: number, nonce: Uint8Array, aad: Uint8Array | null = null): number {
    this.#one('open', off, len, nonce, aad);
    const failed = this.#open('open', buf, this.#offs1, this.#lens1, 1, this.#nonce1, this.#status1, aad === null ? null : this.#aad1, null);
    return failed === 0 ? len - AEAD_TAG_LEN : -1;
  }

  #seal(method: string, buf: Uint8Array, offs: Int32Array, lens: Int32Array, count: number, nonces: Uint8Array, aad: AeadSlotAad | null, tagOffs: Int32Array | null): void {
    checkTypes(method, buf, offs, lens, count, nonces, null, aad, tagOffs);
    const rc =
      this.#js === null
        ? this.#b!.aeadSealBatch(this.#key!, buf, offs, lens, count, nonces, aad?.buf, aad?.offs, aad?.lens, tagOffs)
        : this.#js.sealBatch(buf, offs, lens, count, nonces, aad, tagOffs);
    if (rc < 0) throw batchError(AeadDir.Seal, method, rc, buf, offs, lens, count, nonces, null, aad, tagOffs);
  }

  #open(
    method: string,
    buf: Uint8Array,
    offs: Int32Array,
    lens: Int32Array,
    count: number,
    nonces: Uint8Array,
    status: Uint8Array,
    aad: AeadSlotAad | null,
    tagOffs: Int32Array | null,
  ): number {
    checkTypes(method, buf, offs, lens, count, nonces, status, aad, tagOffs);
    const rc =
      this.#js === null
        ? this.#b!.aeadOpenBatch(this.#key!, buf, offs, lens, count, nonces, status, aad?.buf, aad?.offs, aad?.lens, tagOffs)
        : this.#js.openBatch(buf, offs, lens, count, nonces, status, aad, tagOffs);
    if (rc < 0) throw batchError(AeadDir.Open, method, rc, buf, offs, lens, count, nonces, status, aad, tagOffs);
    return rc;
  }

  /** Loads the one-slot scratch batch. The nonce is copied, so it may live anywhere. */
  #one(method: string, off: number, len: number, nonce: Uint8Array, aad: Uint8Array | null): void {
    if (!(nonce instanceof Uint8Array) || nonce.length !== AEAD_NONCE_LEN) {
      if (!(nonce instanceof Uint8Array)) throw new PktTypeError(`${method}: nonce must be a Uint8Array, got ${describe(nonce)}`);
      throw new PktRangeError(`${method}: nonce must be ${AEAD_NONCE_LEN} bytes, got ${nonce.length}`);
    }
    if (aad !== null && !(aad instanceof Uint8Array)) throw new PktTypeError(`${method}: aad must be a Uint8Array or null, got ${describe(aad)}`);
    // Int32Array stores would wrap out-of-range numbers into valid-looking offsets: check first.
    if (!Number.isInteger(off) || off < 0 || off > 0x7fffffff) throw new PktRangeError(`${method}: off must be an integer in [0, 2^31), got ${String(off)}`);
    if (!Number.isInteger(len) || len < 0 || len > 0x7fffffff) throw new PktRangeError(`${method}: len must be an integer in [0, 2^31), got ${String(len)}`);
    this.#offs1[0] = off;
    this.#lens1[0] = len;
    for (let i = 0; i < AEAD_NONCE_LEN; i++) this.#nonce1[i] = nonce[i]!;
    if (aad !== null) {
      this.#aad1.buf = aad;
      this.#aad1.lens[0] = aad.length;
    }
  }
}

/**
 * The checks the addon cannot turn into typed errors itself (napi would throw a plain Error for
 * a wrong type): types and `count`. Cheap: a handful of instanceof per call.
 */
function checkTypes(
  method: string,
  buf: Uint8Array,
  offs: Int32Array,
  lens: Int32Array,
  count: number,
  nonces: Uint8Array,
  status: Uint8Array | null,
  aad: AeadSlotAad | null,
  tagOffs: Int32Array | null,
): void {
  if (
    buf instanceof Uint8Array &&
    offs instanceof Int32Array &&
    lens instanceof Int32Array &&
    nonces instanceof Uint8Array &&
    (status === null || status instanceof Uint8Array) &&
    (aad === null || (aad.buf instanceof Uint8Array && aad.offs instanceof Int32Array && aad.lens instanceof Int32Array)) &&
    (tagOffs === null || tagOffs instanceof Int32Array) &&
    (count >>> 0 === count && count <= AEAD_MAX_BATCH)
  ) {
    return;
  }
  throw typeError(method, buf, offs, lens, count, nonces, status, aad, tagOffs);
}

function typeError(
  method: string,
  buf: unknown,
  offs: unknown,
  lens: unknown,
  count: number,
  nonces: unknown,
  status: unknown,
  aad: AeadSlotAad | null,
  tagOffs: unknown,
): Error {
  const want: [string, unknown, Function][] = [
    ['buf', buf, Uint8Array],
    ['offs', offs, Int32Array],
    ['lens', lens, Int32Array],
    ['nonces', nonces, Uint8Array],
  ];
  if (status !== null) want.push(['status', status, Uint8Array]);
  if (aad !== null) {
    if (typeof aad !== 'object') return new PktTypeError(`${method}: aad must be { buf, offs, lens } or null, got ${describe(aad)}`);
    want.push(['aad.buf', aad.buf, Uint8Array], ['aad.offs', aad.offs, Int32Array], ['aad.lens', aad.lens, Int32Array]);
  }
  if (tagOffs !== null) want.push(['tagOffs', tagOffs, Int32Array]);
  for (const [name, v, ctor] of want) {
    if (!(v instanceof ctor)) return new PktTypeError(`${method}: ${name} must be a ${ctor.name}, got ${describe(v)}`);
  }
  return new PktRangeError(`${method}: count must be an integer in [0, ${AEAD_MAX_BATCH}], got ${String(count)}`);
}

