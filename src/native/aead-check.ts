/**
 * Argument checks of the batched AEAD (aead.ts), shared by its two implementations: the codes
 * the addon returns for a bad batch (native/src/aead/batch.rs `Reason`, `-(slot * 16 + reason)`),
 * a JavaScript mirror of the addon's checks for the node:crypto fallback (so both refuse the same
 * batches with the same errors), and the typed errors built from a code, on the throw path only.
 *
 * The checks run once per call, before any slot is touched: the whole call first (array lengths,
 * memory shared between arrays), then every slot's regions. The mirror follows batch.rs line by
 * line and in the same order, so that the first problem found is the same one.
 */

import { PktRangeError, PktTypeError } from '../errors.js';

/** Tag length of both AEADs (RFC 8439 §2.8; GCM's full 128-bit tag). */
export const AEAD_TAG_LEN = 16;
/** Nonce length of both AEADs (RFC 8439 §2.8; GCM's 96-bit IV). */
export const AEAD_NONCE_LEN = 12;
/** Key length of both AEADs (256 bits). */
export const AEAD_KEY_LEN = 32;
/** Most slots in one batch call. */
export const AEAD_MAX_BATCH = 1 << 24;

/** Why a batch was refused; numbers shared with native/src/aead/batch.rs `Reason` (never renumber). */
export const AeadReason = {
  OffsShort: 1,
  LensShort: 2,
  NoncesShort: 3,
  StatusShort: 4,
  AadOffsShort: 5,
  AadLensShort: 6,
  TagOffsShort: 7,
  SharedMemory: 8,
  CountTooLarge: 9,
  SlotOutOfBounds: 10,
  AadOutOfBounds: 11,
  AadOverlapsData: 12,
  TagOutOfBounds: 13,
  TagOverlapsData: 14,
} as const;

/**
 * Associated data per slot: slot i's AAD is `lens[i]` bytes at `offs[i]` in `buf`. `buf` may be
 * a view of the same memory as the data buffer (OpenVPN authenticates the header in front of the
 * ciphertext): then no slot's AAD may overlap that slot's data. Make it once and reuse it.
 */
export interface AeadSlotAad {
  readonly buf: Uint8Array;
  readonly offs: Int32Array;
  readonly lens: Int32Array;
}

/** Seal or open (the attached tag's place differs). */
export const AeadDir = { Seal: 0, Open: 1 } as const;
export type AeadDir = (typeof AeadDir)[keyof typeof AeadDir];

function code(slot: number, reason: number): number {
  return -(slot * 16 + reason);
}

/** True when two arrays share bytes (same buffer object, overlapping non-empty byte ranges). */
function sharesMemory(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength === 0 || b.byteLength === 0 || a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * The JavaScript mirror of the addon's checks (native/src/aead.rs `Args::run`, then batch.rs
 * `check_batch`): 0 when the batch is good, else the addon's negative code. The addon compares
 * addresses; this compares buffer objects, which is the same unless one SharedArrayBuffer was
 * received twice on this thread (two objects, one memory): only the addon notices that.
 */
export function checkBatchJs(
  dir: AeadDir,
  buf: Uint8Array,
  offs: Int32Array,
  lens: Int32Array,
  count: number,
  nonces: Uint8Array,
  status: Uint8Array | null,
  aad: AeadSlotAad | null,
  tagOffs: Int32Array | null,
): number {
  // Whole call: memory first (Args::run), then lengths (Batch::check_call).
  const meta: ArrayBufferView[] = [offs, lens, nonces];
  if (aad !== null) meta.push(aad.offs, aad.lens);
  if (tagOffs !== null) meta.push(tagOffs);
  for (const m of meta) if (sharesMemory(m, buf)) return code(0, AeadReason.SharedMemory);
  if (status !== null) {
    if (sharesMemory(status, buf)) return code(0, AeadReason.SharedMemory);
    for (const m of meta) if (sharesMemory(m, status)) return code(0, AeadReason.SharedMemory);
  }
  let aadBase = -1; // >= 0: the AAD view lies inside the data buffer at this byte
  if (aad !== null) {
    if (status !== null && sharesMemory(status, aad.buf)) return code(0, AeadReason.SharedMemory);
    const a = aad.buf;
    if (a.byteLength > 0 && a.buffer === buf.buffer && a.byteOffset >= buf.byteOffset && a.byteOffset + a.byteLength <= buf.byteOffset + buf.byteLength) {
      aadBase = a.byteOffset - buf.byteOffset;
    } else if (sharesMemory(a, buf)) {
      return code(0, AeadReason.SharedMemory);
    }
  }
  if (count > AEAD_MAX_BATCH) return code(0, AeadReason.CountTooLarge);
  if (offs.length < count) return code(0, AeadReason.OffsShort);
  if (lens.length < count) return code(0, AeadReason.LensShort);
  if (nonces.length < count * AEAD_NONCE_LEN) return code(0, AeadReason.NoncesShort);
  if (status !== null && status.length < count) return code(0, AeadReason.StatusShort);
  if (aad !== null) {
    if (aad.offs.length < count) return code(0, AeadReason.AadOffsShort);
    if (aad.lens.length < count) return code(0, AeadReason.AadLensShort);
  }
  if (tagOffs !== null && tagOffs.length < count) return code(0, AeadReason.TagOffsShort);
  // Every slot (Batch::plan).
  const bufLen = buf.length;
  for (let i = 0; i < count; i++) {
    const r = checkSlot(dir, bufLen, offs[i]!, lens[i]!, tagOffs === null ? -1 : tagOffs[i]!, tagOffs !== null, aad, aadBase, i);
    if (r !== 0) return code(i, r);
  }
  return 0;
}

/** One slot's reason (0: good), as batch.rs `Batch::plan`. */
function checkSlot(dir: AeadDir, bufLen: number, off: number, len: number, tagOff: number, detached: boolean, aad: AeadSlotAad | null, aadBase: number, i: number): number {
  if (off < 0 || len < 0 || off + len > bufLen) return AeadReason.SlotOutOfBounds;
  let dataEnd = off + len;
  if (detached) {
    if (tagOff < 0 || tagOff + AEAD_TAG_LEN > bufLen) return AeadReason.TagOutOfBounds;
    if (tagOff < dataEnd && off < tagOff + AEAD_TAG_LEN) return AeadReason.TagOverlapsData;
  } else if (dir === AeadDir.Seal) {
    if (dataEnd + AEAD_TAG_LEN > bufLen) return AeadReason.SlotOutOfBounds;
  } else {
    if (len < AEAD_TAG_LEN) return 0; // too short: a status, not an error
    dataEnd -= AEAD_TAG_LEN;
  }
  if (aad !== null) {
    const aOff = aad.offs[i]!;
    const aLen = aad.lens[i]!;
    if (aOff < 0 || aLen < 0 || aOff + aLen > aad.buf.length) return AeadReason.AadOutOfBounds;
    if (aadBase >= 0) {
      const s = aadBase + aOff;
      if (s + aLen > bufLen) return AeadReason.AadOutOfBounds;
      if (s < dataEnd && off < s + aLen) return AeadReason.AadOverlapsData;
    }
  }
  return 0;
}

/**
 * The typed error for the addon's (or the mirror's) negative `code`, naming the method, the slot
 * and the values involved. Cold path.
 */
export function batchError(
  dir: AeadDir,
  method: string,
  rc: number,
  buf: Uint8Array,
  offs: Int32Array,
  lens: Int32Array,
  count: number,
  nonces: Uint8Array,
  status: Uint8Array | null,
  aad: AeadSlotAad | null,
  tagOffs: Int32Array | null,
): Error {
  const slot = Math.floor(-rc / 16);
  const reason = -rc % 16;
  const s = `${method}: slot ${slot}`;
  const tagNote = tagOffs === null && dir === AeadDir.Seal ? ' plus its 16-byte tag' : '';
  switch (reason) {
    case AeadReason.OffsShort:
      return new PktRangeError(`${method}: offs has ${offs.length} entries, fewer than count (${count})`);
    case AeadReason.LensShort:
      return new PktRangeError(`${method}: lens has ${lens.length} entries, fewer than count (${count})`);
    case AeadReason.NoncesShort:
      return new PktRangeError(`${method}: nonces has ${nonces.length} bytes; ${count} slots need ${count * AEAD_NONCE_LEN} (12 per slot)`);
    case AeadReason.StatusShort:
      return new PktRangeError(`${method}: status has ${status?.length ?? 0} entries, fewer than count (${count})`);
    case AeadReason.AadOffsShort:
      return new PktRangeError(`${method}: aad.offs has ${aad?.offs.length ?? 0} entries, fewer than count (${count})`);
    case AeadReason.AadLensShort:
      return new PktRangeError(`${method}: aad.lens has ${aad?.lens.length ?? 0} entries, fewer than count (${count})`);
    case AeadReason.TagOffsShort:
      return new PktRangeError(`${method}: tagOffs has ${tagOffs?.length ?? 0} entries, fewer than count (${count})`);
    case AeadReason.SharedMemory:
      return new PktTypeError(
        `${method}: an offsets, lengths, nonces, status or tag-offsets array shares memory with the data buffer or the status array, or the AAD buffer partly overlaps the data buffer: give each array its own memory`,
      );
    case AeadReason.CountTooLarge:
      return new PktRangeError(`${method}: count ${count} is above the batch limit ${AEAD_MAX_BATCH}`);
    case AeadReason.SlotOutOfBounds:
      return new PktRangeError(`${s}: offset ${offs[slot]} and length ${lens[slot]}${tagNote} do not fit in the ${buf.length}-byte buffer`);
    case AeadReason.AadOutOfBounds:
      return new PktRangeError(`${s}: AAD offset ${aad?.offs[slot]} and length ${aad?.lens[slot]} do not fit in the ${aad?.buf.length}-byte AAD buffer`);
    case AeadReason.AadOverlapsData:
      return new PktRangeError(`${s}: its AAD (offset ${aad?.offs[slot]}, length ${aad?.lens[slot]}) overlaps its data (offset ${offs[slot]}, length ${lens[slot]})`);
    case AeadReason.TagOutOfBounds:
      return new PktRangeError(`${s}: tag offset ${tagOffs?.[slot]} plus 16 bytes does not fit in the ${buf.length}-byte buffer`);
    case AeadReason.TagOverlapsData:
      return new PktRangeError(`${s}: its tag (offset ${tagOffs?.[slot]}) overlaps its data (offset ${offs[slot]}, length ${lens[slot]})`);
    default:
      return new PktRangeError(`${method}: the addon refused the batch with code ${rc}`);
  }
}
