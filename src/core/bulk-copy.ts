/**
 * The allocation-free bulk copy between typed arrays, when the native addon provides one.
 *
 * Node 20 has no copy between two typed arrays at arbitrary offsets that allocates nothing:
 * `dst.set(src.subarray(..))` and `Buffer.prototype.copy` make a view per call, and the
 * allocation-free fallback (a DataView loop, src/vtcp/recv-buffer.ts) moves 2-5 GB/s. The addon's
 * `memCopy` is a Node-API call (about 280 ns here, no JavaScript object) in front of memmove
 * (tens of GB/s): from about 1 KiB up it is the fastest allocation-free copy (64 KiB: 2.7 us
 * against some 20 us for the loop). The native loader (src/native/index.ts) installs it on every
 * thread that loads the addon, as it installs the doorbell's kicker; without the addon `fn` stays
 * null and callers keep their own loop.
 *
 * Callers check `fn !== null && len >= min` and otherwise copy as before. Both ranges must be in
 * bounds (the native copy throws a RangeError-like error otherwise; callers have checked).
 */
export type BulkCopyFn = (dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number) => void;

export const BulkCopy: { fn: BulkCopyFn | null; min: number } = {
  fn: null,
  /** Copies shorter than this stay in JavaScript (the call's fixed cost beats the loop's below it). */
  min: 1024,
};
