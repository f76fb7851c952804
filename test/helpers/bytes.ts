/** Byte helpers for tests: pre-filled buffers (smoltcp's 0xa5 trick) and hex. */

export { fromHex, toHex } from '../../src/wire/bytes.js';

/** A buffer of `n` bytes all 0xa5, so that bytes an emitter forgot to write show up. */
export function filled(n: number, value = 0xa5): Uint8Array {
  return new Uint8Array(n).fill(value);
}

/** Random bytes from a seeded generator (mulberry32), for reproducible tests. */
export function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}
