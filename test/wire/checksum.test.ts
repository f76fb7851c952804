import test from 'ava';
import fc from 'fast-check';
import {
  checksum,
  checksumUpdate16,
  checksumUpdate32,
  combineChecksums,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
  sum16,
  sum16Reference,
  transportChecksumV4,
  transportChecksumV6,
} from '../../src/wire/checksum.js';
import { fromHex } from '../helpers/bytes.js';
import { KERNEL_IPV4_TCP_SYN, KERNEL_IPV4_UDP, KERNEL_IPV6_TCP_SYN, KERNEL_IPV6_UDP } from '../vectors/kernel-tun.js';

// RFC 1071 §3 "Numerical Examples": bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (one's complement,
// folded); the checksum is its complement 220d.
test('RFC 1071 §3 example', (t) => {
  const b = fromHex('0001 f203 f4f5 f6f7');
  t.is(sum16(b), 0xddf2);
  t.is(sum16Reference(b), 0xddf2);
  t.is(checksum(b), 0x220d);
});

// Wikipedia, "Internet checksum" / "IPv4 header checksum" worked example: this header's checksum
// field is b861, and a header with a correct checksum sums to ffff (checksum 0).
test('IPv4 header from the Wikipedia worked example verifies and recomputes', (t) => {
  const h = fromHex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
  t.is(checksum(h), 0);
  h[10] = 0;
  h[11] = 0;
  t.is(checksum(h), 0xb861);
});

test('odd length pads with a zero byte on the right', (t) => {
  t.is(sum16(fromHex('ab')), 0xab00);
  t.is(sum16(fromHex('0102 03')), 0x0102 + 0x0300);
});

test('empty input sums to 0 and checksums to ffff', (t) => {
  t.is(sum16(new Uint8Array(0)), 0);
  t.is(checksum(new Uint8Array(0)), 0xffff);
});

test('all-ones input folds end-around carries', (t) => {
  const b = new Uint8Array(100_000).fill(0xff);
  t.is(sum16(b), 0xffff);
  t.is(sum16(b), sum16Reference(b));
});

test('fast loop equals the reference for any bytes, offset, length and initial sum', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 3000 }),
      fc.nat(40),
      fc.nat(0xffff),
      fc.boolean(),
      (bytes, pad, initial, shared) => {
        const backing = shared ? new Uint8Array(new SharedArrayBuffer(bytes.length + pad + 8)) : new Uint8Array(bytes.length + pad + 8);
        const view = backing.subarray(3);
        view.set(bytes, pad);
        return sum16(view, pad, bytes.length, initial) === sum16Reference(view, pad, bytes.length, initial);
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('large inputs beyond one 32 KiB chunk agree with the reference', (t) => {
  const b = new Uint8Array(200_003);
  for (let i = 0; i < b.length; i++) b[i] = (i * 131 + 7) & 0xff;
  t.is(sum16(b, 1), sum16Reference(b, 1));
});

test('combineChecksums is the sum over the concatenation (at even split points)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(100), (bytes, k) => {
      const split = Math.min(bytes.length, k * 2);
      return combineChecksums(sum16(bytes, 0, split), sum16(bytes, split)) % 0xffff === sum16(bytes) % 0xffff;
    }),
  );
  t.pass();
});

test('pseudo-header sum v4 equals the sum over the 12-byte pseudo-header', (t) => {
  const ph = fromHex('c0a8 0001 c0a8 00c7 0011 0020');
  t.is(pseudoHeaderSumV4(17, 0xc0a80001, 0xc0a800c7, 0x20), sum16Reference(ph));
});

test('pseudo-header sum v6 equals the sum over the 40-byte pseudo-header (RFC 8200 §8.1)', (t) => {
  const src = fromHex('2001 0db8 0000 0000 0000 0000 0000 0001');
  const dst = fromHex('2001 0db8 0000 0000 0000 0000 0000 0002');
  const both = new Uint8Array(32);
  both.set(src, 0);
  both.set(dst, 16);
  const ph = new Uint8Array(40);
  ph.set(both, 0);
  ph[35] = 0x10; // upper-layer length 16
  ph[39] = 58; // next header
  t.is(pseudoHeaderSumV6(58, both, 0, 16, 16), sum16Reference(ph));
});

// A UDP datagram over IPv4 written by the Linux kernel to a TUN (test/vectors/kernel-tun.ts): its
// checksum, computed by the kernel, verifies, and recomputing it from zero gives the same value.
test('UDP and TCP checksums over IPv4 and IPv6 agree with the kernel', (t) => {
  for (const [hex, v6] of [
    [KERNEL_IPV4_UDP, false],
    [KERNEL_IPV4_TCP_SYN, false],
    [KERNEL_IPV6_UDP, true],
    [KERNEL_IPV6_TCP_SYN, true],
  ] as const) {
    const p = fromHex(hex);
    const hl = v6 ? 40 : (p[0]! & 0xf) * 4;
    const proto = v6 ? p[6]! : p[9]!;
    const csumOff = hl + (proto === 17 ? 6 : 16);
    const len = p.length - hl;
    const verify = () =>
      v6 ? transportChecksumV6(proto, p, 8, 24, p, hl, len) : transportChecksumV4(proto, 0x0a630001, 0x0a630002, p, hl, len);
    t.is(verify(), 0, `${hex.slice(0, 12)} verifies`);
    const kernel = (p[csumOff]! << 8) | p[csumOff + 1]!;
    p[csumOff] = 0;
    p[csumOff + 1] = 0;
    t.is(verify(), kernel, 'recomputed equals the kernel value');
  }
});

test('RFC 1624 incremental updates equal a full recomputation', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.nat(9), fc.nat(0xffff), fc.nat(4), fc.nat(0xffff_ffff), (hdr, w, nw, a, na) => {
      hdr[10] = 0;
      hdr[11] = 0;
      const c0 = checksum(hdr);
      hdr[10] = c0 >>> 8;
      hdr[11] = c0 & 0xff;
      const word = w === 5 ? 0 : w; // skip the checksum word itself
      const old16 = (hdr[word * 2]! << 8) | hdr[word * 2 + 1]!;
      hdr[word * 2] = nw >>> 8;
      hdr[word * 2 + 1] = nw & 0xff;
      let c = checksumUpdate16(c0, old16, nw);
      const aOff = [0, 4, 12, 16, 12][a]!;
      const old32 = ((hdr[aOff]! << 24) | (hdr[aOff + 1]! << 16) | (hdr[aOff + 2]! << 8) | hdr[aOff + 3]!) >>> 0;
      if (aOff !== 8) {
        hdr[aOff] = na >>> 24;
        hdr[aOff + 1] = (na >>> 16) & 0xff;
        hdr[aOff + 2] = (na >>> 8) & 0xff;
        hdr[aOff + 3] = na & 0xff;
        c = checksumUpdate32(c, old32, na);
      }
      hdr[10] = c >>> 8;
      hdr[11] = c & 0xff;
      // A correct incremental update verifies (sums to 0 or, for RFC 1624's -0 case, 0xffff).
      const v = checksum(hdr);
      return v === 0 || v === 0xffff;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
