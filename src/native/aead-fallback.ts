/**
 * The node:crypto implementation of the batched AEAD (aead.ts), used when the addon is not built
 * with `aead`: the same interface, the same checks (aead-check.ts mirrors the addon's) and the
 * same results, byte for byte, slot for slot.
 *
 * It costs what the addon exists to beat: node:crypto has no one-shot AEAD and no reusable cipher
 * object with a new nonce, so every packet makes a Cipheriv (about 5 us here whatever the size,
 * docs/BENCHMARKS.md), and every packet allocates (the cipher, the output Buffer, views).
 *
 * As the addon (ring) does, a slot that fails authentication gets its ciphertext zeroed, so
 * unauthenticated plaintext never reaches the caller; node:crypto hands out the plaintext before
 * it checks the tag, so it is only copied into the slot once `final()` has accepted the tag.
 */

import { createCipheriv, createDecipheriv, createSecretKey, type CipherGCMTypes, type KeyObject } from 'node:crypto';
import { AEAD_NONCE_LEN, AEAD_TAG_LEN, AeadDir, checkBatchJs, type AeadSlotAad } from './aead-check.js';

/** Per-slot status of `openBatch` (the addon's STATUS_* values). */
export const AeadStatus = {
  /** Opened: the plaintext is in place. */
  Ok: 0,
  /** The tag did not verify: the ciphertext was zeroed, the tag bytes left. */
  AuthFailed: 1,
  /** Shorter than a tag (attached tags only): left untouched. */
  TooShort: 2,
} as const;
export type AeadStatus = (typeof AeadStatus)[keyof typeof AeadStatus];

type Algorithm = 'chacha20-poly1305' | 'aes-256-gcm';

/** Seals and opens batches with one node:crypto cipher object per packet. */
export class NodeCryptoAead {
  readonly #alg: Algorithm;
  readonly #key: KeyObject;

  constructor(algorithm: Algorithm, key: Uint8Array) {
    this.#alg = algorithm;
    this.#key = createSecretKey(key);
  }

  /** As the addon's `aeadSealBatch`: 0, or its negative code for a bad argument (nothing written). */
  sealBatch(buf: Uint8Array, offs: Int32Array, lens: Int32Array, count: number, nonces: Uint8Array, aad: AeadSlotAad | null, tagOffs: Int32Array | null): number {
    const rc = checkBatchJs(AeadDir.Seal, buf, offs, lens, count, nonces, null, aad, tagOffs);
    if (rc !== 0) return rc;
    for (let i = 0; i < count; i++) {
      const off = offs[i]!;
      const len = lens[i]!;
      const c = createCipheriv(this.#alg as CipherGCMTypes, this.#key, nonces.subarray(i * AEAD_NONCE_LEN, (i + 1) * AEAD_NONCE_LEN), {
        authTagLength: AEAD_TAG_LEN,
      });
      if (aad !== null) c.setAAD(aad.buf.subarray(aad.offs[i]!, aad.offs[i]! + aad.lens[i]!));
      buf.set(c.update(buf.subarray(off, off + len)), off);
      c.final();
      buf.set(c.getAuthTag(), tagOffs === null ? off + len : tagOffs[i]!);
    }
    return 0;
  }

  /** As the addon's `aeadOpenBatch`: how many slots failed, or its negative code for a bad argument. */
  openBatch(
    buf: Uint8Array,
    offs: Int32Array,
    lens: Int32Array,
    count: number,
    nonces: Uint8Array,
    status: Uint8Array,
    aad: AeadSlotAad | null,
    tagOffs: Int32Array | null,
  ): number {
    const rc = checkBatchJs(AeadDir.Open, buf, offs, lens, count, nonces, status, aad, tagOffs);
    if (rc !== 0) return rc;
    let failed = 0;
    for (let i = 0; i < count; i++) {
      const off = offs[i]!;
      let len = lens[i]!;
      let tagOff: number;
      if (tagOffs !== null) {
        tagOff = tagOffs[i]!;
      } else {
        if (len < AEAD_TAG_LEN) {
          status[i] = AeadStatus.TooShort;
          failed++;
          continue;
        }
        len -= AEAD_TAG_LEN;
        tagOff = off + len;
      }
      const d = createDecipheriv(this.#alg as CipherGCMTypes, this.#key, nonces.subarray(i * AEAD_NONCE_LEN, (i + 1) * AEAD_NONCE_LEN), {
        authTagLength: AEAD_TAG_LEN,
      });
      d.setAuthTag(buf.slice(tagOff, tagOff + AEAD_TAG_LEN)); // a copy: the tag is read before the data is written
      if (aad !== null) d.setAAD(aad.buf.subarray(aad.offs[i]!, aad.offs[i]! + aad.lens[i]!));
      const plain = d.update(buf.subarray(off, off + len));
      try {
        d.final();
      } catch {
        buf.fill(0, off, off + len);
        status[i] = AeadStatus.AuthFailed;
        failed++;
        continue;
      }
      buf.set(plain, off);
      status[i] = AeadStatus.Ok;
    }
    return failed;
  }
}
