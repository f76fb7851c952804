/**
 * The addon's bulk byte operations (native/src/mem.rs): memCopy (memmove between typed arrays,
 * no JavaScript allocation) and inetSum (RFC 1071 sum), and the slots the loader fills with them
 * (core/bulk-copy.ts's BulkCopy, wire/checksum.ts's NativeSum), through which vtcp's buffers and
 * sum16 use them. Tests of the addon that cannot run say so in their title.
 */

import test from 'ava';
import fc from 'fast-check';
import { BulkCopy } from '../../src/core/bulk-copy.js';
import { loadNative, nativePath } from '../../src/native/index.js';
import { RecvBuffer } from '../../src/vtcp/recv-buffer.js';
import { SendBuffer } from '../../src/vtcp/send-buffer.js';
import { NativeSum, sum16, sum16Reference } from '../../src/wire/checksum.js';
import { scavengesAfterWarmup } from '../helpers/alloc.js';
import { seededBytes } from '../helpers/bytes.js';

const n = loadNative();
const ADDON = n !== null && typeof n.memCopy === 'function';
const t_ = ADDON ? test : test.skip; // skipped only because the addon is not built (the title says so)
const why = ADDON ? '' : ` (skipped: the addon is not built, looked for ${nativePath()})`;

t_(`memCopy copies ranges between arrays and within one (memmove)${why}`, (t) => {
  const src = seededBytes(4096, 1);
  const dst = new Uint8Array(4096);
  n!.memCopy(dst, 100, src, 7, 3000);
  t.deepEqual(dst.subarray(100, 3100), src.subarray(7, 3007));
  t.is(dst[99], 0);
  t.is(dst[3100], 0);
  // Overlapping, forwards and backwards, through views of one buffer.
  const a = seededBytes(2048, 2);
  const want = a.slice();
  n!.memCopy(a, 10, a, 0, 2000);
  want.copyWithin(10, 0, 2000);
  t.deepEqual(a, want);
  n!.memCopy(a, 0, a, 10, 2000);
  want.copyWithin(0, 10, 2010);
  t.deepEqual(a, want);
  // Views with a byte offset, and SharedArrayBuffer memory.
  const sab = new Uint8Array(new SharedArrayBuffer(8192), 512, 4096);
  n!.memCopy(sab, 1, src.subarray(5), 2, 1024);
  t.deepEqual(sab.subarray(1, 1025), src.subarray(7, 1031));
  n!.memCopy(dst, 0, src, 0, 0);
});

t_(`memCopy refuses ranges outside either array, writing nothing${why}`, (t) => {
  const src = new Uint8Array(100).fill(7);
  const dst = new Uint8Array(100);
  t.throws(() => n!.memCopy(dst, 0, src, 50, 51), { message: /source range \[50, 50 \+ 51\) is outside its array of 100 bytes/ });
  t.throws(() => n!.memCopy(dst, 60, src, 0, 41), { message: /destination range/ });
  t.true(dst.every((b) => b === 0));
});

t_(`inetSum equals the RFC 1071 byte-pair sum at any offset and length${why}`, (t) => {
  t.is(n!.inetSum(Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7), 0, 8), 0xddf2); // RFC 1071 §3
  t.is(n!.inetSum(new Uint8Array(65536).fill(0xff), 0, 65536), 0xffff);
  t.throws(() => n!.inetSum(new Uint8Array(10), 5, 6), { message: /outside its array of 10 bytes/ });
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 9000 }), fc.nat(16), fc.nat(9000), (bytes, off, len) => {
      const o = Math.min(off, bytes.length);
      const l = Math.min(len, bytes.length - o);
      return n!.inetSum(bytes, o, l) === sum16Reference(bytes, o, l);
    }),
    { numRuns: 300 },
  );
});

t_(`the loader fills the slots: sum16 and vtcp's buffers use the addon from their thresholds${why}`, (t) => {
  t.is(BulkCopy.fn, n!.memCopy);
  t.is(NativeSum.fn, n!.inetSum);
  // sum16 through the addon (long) equals the reference, with an initial sum carried in.
  const big = seededBytes(70_000, 3);
  for (const [off, len] of [[0, 65536], [1, 65535], [3, 4097], [0, NativeSum.min]] as const) {
    t.is(sum16(big, off, len, 0x1234), sum16Reference(big, off, len, 0x1234), `off ${off} len ${len}`);
  }
  // A 64 KiB segment through a receive buffer and a send buffer arrives byte for byte.
  const rb = new RecvBuffer(256 * 1024);
  rb.init(1000);
  const seg = big.subarray(3, 3 + 65536);
  t.is(rb.insert(1000, seg, 0, 65536), 65536);
  const out = new Uint8Array(65536);
  t.is(rb.read(out, 0, 65536), 65536);
  t.deepEqual(out, seg);
  const sb = new SendBuffer(256 * 1024);
  sb.init(5);
  t.is(sb.write(big, 10, 50_000), 50_000);
  const len = sb.peek(5, 50_000);
  t.deepEqual(sb.viewBuf.subarray(sb.viewOff, sb.viewOff + len), big.subarray(10, 10 + len));
});

t_(`bulk copies and sums through the addon allocate nothing per call${why}`, (t) => {
  const url = new URL('../../src/native/index.js', import.meta.url).href;
  const setup = `
    const { loadNative } = await import(${JSON.stringify(url)});
    const n = loadNative();
    const src = new Uint8Array(70000).fill(3);
    const dst = new Uint8Array(70000);
    let acc = 0;
    function step(k) {
      for (let i = 0; i < k; i++) {
        n.memCopy(dst, i & 255, src, 3, 1460);
        acc = (acc + n.inetSum(src, i & 7, 4096)) | 0;
      }
      return acc;
    }`;
  t.is(scavengesAfterWarmup(setup, 500_000, 100_000), 0);
});
