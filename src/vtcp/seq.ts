/**
 * Sequence-number arithmetic (RFC 9293 §3.4): sequence numbers are uint32 values held in
 * JavaScript numbers, compared modulo 2^32.
 *
 * RFC 9293 §3.4: "It is essential to remember that the actual sequence number space is finite,
 * though very large. This space ranges from 0 to 2^32 - 1. Since the space is finite, all
 * arithmetic dealing with sequence numbers must be performed modulo 2^32."
 *
 * `a` is before `b` when the signed 32-bit difference `a - b` is negative: `(a - b) | 0` maps the
 * double difference (in (-2^32, 2^32)) onto int32, exactly the two's-complement subtraction the
 * kernel does on u32. Two numbers exactly 2^31 apart are each "before" the other (the difference is
 * -2^31 both ways): the comparison is undefined there, as in the kernel, and every window here
 * stays far below 2^31 (RFC 7323 §2.3 caps windows at 2^30).
 *
 * Each function is small and monomorphic (numbers in, number or boolean out) so V8 inlines it at
 * every call site; none allocates.
 *
 * Representation: every function here and in the other vtcp blocks accepts a sequence number as
 * a uint32 or as its int32 alias (`x | 0`), since all arithmetic is modulo 2^32, and returns
 * uint32s. Node runs V8 without pointer compression, so int32s are small integers (Smis) while a
 * uint32 at or above 2^31 is a heap number: passing one to (or returning one from) a function V8
 * did not inline allocates a box (docs/ARCHITECTURE.md, "V8 rules" 1). A hot caller that keeps
 * its sequence numbers as int32s, or passes `seq | 0` across such calls, allocates nothing.
 */

/** a < b in sequence space. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a <= b in sequence space. */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** a > b in sequence space. */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** a >= b in sequence space. */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** a + n modulo 2^32 (n may be negative), as a uint32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * `a + n` modulo 2^32 as an int32: the same sequence number as `seqAdd`, in the form that stays a
 * small integer in V8 (a uint32 at or above 2^31 is a heap number wherever it is boxed). The Tcb
 * keeps every sequence number in this form.
 */
export function seqAdd32(a: number, n: number): number {
  return (a + n) | 0;
}

/** The signed distance a - b as an int32 (positive when a is after b). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** The later of a and b in sequence space. */
export function seqMax(a: number, b: number): number {
  return ((a - b) | 0) >= 0 ? a : b;
}

/** The earlier of a and b in sequence space. */
export function seqMin(a: number, b: number): number {
  return ((a - b) | 0) <= 0 ? a : b;
}

/**
 * lo <= x < hiExclusive in sequence space: true when x lies in the half-open range that starts
 * at lo and runs forward to hiExclusive. An empty range (lo == hiExclusive) holds nothing.
 * Computed as an unsigned offset comparison, so it is right for any range shorter than 2^32.
 */
export function seqInRange(x: number, lo: number, hiExclusive: number): boolean {
  return ((x - lo) >>> 0) < ((hiExclusive - lo) >>> 0);
}
