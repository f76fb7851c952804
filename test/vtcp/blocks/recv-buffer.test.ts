import test from 'ava';
import fc from 'fast-check';
import { ByteCopier, RecvBuffer, copyBytes } from '../../../src/vtcp/recv-buffer.js';
import { seqAdd } from '../../../src/vtcp/seq.js';
import { PktRangeError } from '../../../src/errors.js';
import { scavengesAfterWarmup } from '../../helpers/alloc.js';

/** Sequence numbers start just below 2^32 so that every test crosses the wrap. */
const BASE = 0xffff_ff00;

function pattern(n: number, salt = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + salt) & 0xff;
  return b;
}

function readAll(rb: RecvBuffer): number[] {
  const out = new Uint8Array(rb.readable);
  const n = rb.read(out, 0, out.length);
  return Array.from(out.subarray(0, n));
}

function blocks(rb: RecvBuffer, max = 4): number[][] {
  const out = new Uint32Array(8);
  const n = rb.sackBlocks(out, max);
  const r: number[][] = [];
  for (let i = 0; i < n; i++) r.push([out[2 * i]! - BASE, out[2 * i + 1]! - BASE].map((x) => x | 0));
  return r;
}

/** Inserts stream[from, to) at BASE + from. */
function put(rb: RecvBuffer, stream: Uint8Array, from: number, to: number): number {
  return rb.insert(seqAdd(BASE, from), stream, from, to - from);
}

test('in order: nxt advances, bytes come out in order, across 2^32', (t) => {
  const rb = new RecvBuffer(1024);
  rb.init(BASE);
  const s = pattern(600);
  t.is(put(rb, s, 0, 300), 300);
  t.is(put(rb, s, 300, 600), 300);
  t.is(rb.nxt, seqAdd(BASE, 600));
  t.true(rb.nxt < BASE, 'nxt wrapped past 2^32');
  t.is(rb.readable, 600);
  t.is(rb.window, 424);
  t.deepEqual(readAll(rb), Array.from(s));
  t.is(rb.window, 1024);
  t.false(rb.hasOutOfOrder);
});

test('out of order: held, SACKed, then joined by the segment that fills the gap', (t) => {
  const rb = new RecvBuffer(1000);
  rb.init(BASE);
  const s = pattern(400);
  t.is(put(rb, s, 200, 300), 0);
  t.is(put(rb, s, 100, 150), 0);
  t.true(rb.hasOutOfOrder);
  t.is(rb.readable, 0);
  t.is(rb.oooBytes, 150);
  t.is(rb.window, 850, 'out-of-order bytes are taken off the offer');
  t.is(put(rb, s, 0, 100), 150, 'advanced over [0,100) and the held [100,150)');
  t.is(rb.outOfOrderRanges, 1);
  t.is(put(rb, s, 150, 200), 150, 'and now over [150,300)');
  t.false(rb.hasOutOfOrder);
  t.is(rb.oooBytes, 0);
  t.deepEqual(readAll(rb), Array.from(s.subarray(0, 300)));
});

const overlapCase = test.macro({
  exec(t, steps: Array<[from: number, to: number, want: number]>, readable: number, ranges: number[][]) {
    const rb = new RecvBuffer(1000);
    rb.init(BASE);
    const s = pattern(1000, 3);
    for (const [from, to, want] of steps) t.is(put(rb, s, from, to), want, `insert [${from}, ${to})`);
    t.is(rb.readable, readable);
    t.deepEqual(blocks(rb, 8).sort((a, b) => a[0]! - b[0]!), ranges);
    t.deepEqual(readAll(rb), Array.from(s.subarray(0, readable)));
  },
  title: (what = '') => `overlaps: ${what}`,
});

test('exact duplicate of read data', overlapCase, [[0, 100, 100], [0, 100, 0]], 100, []);
test('duplicate of data below nxt after a read', overlapCase, [[0, 100, 100], [50, 80, 0]], 100, []);
test('partial overlap on the left is trimmed', overlapCase, [[0, 100, 100], [50, 150, 50]], 150, []);
test('duplicate out-of-order segment', overlapCase, [[200, 300, 0], [200, 300, 0]], 0, [[200, 300]]);
test('overlapping out-of-order segments merge', overlapCase, [[200, 300, 0], [250, 350, 0], [150, 210, 0]], 0, [[150, 350]]);
test('adjacent out-of-order segments merge', overlapCase, [[200, 300, 0], [300, 400, 0]], 0, [[200, 400]]);
test('one segment bridging two ranges', overlapCase, [[200, 300, 0], [400, 500, 0], [250, 450, 0]], 0, [[200, 500]]);
test('a segment covering several ranges', overlapCase, [[200, 300, 0], [400, 500, 0], [600, 700, 0], [100, 800, 0]], 0, [[100, 800]]);
test('in-order segment ending inside a range', overlapCase, [[100, 300, 0], [0, 150, 300]], 300, []);
test('in-order segment covering a range and beyond', overlapCase, [[100, 200, 0], [0, 250, 250]], 250, []);
test('in-order segment reaching two of three ranges', overlapCase, [[100, 200, 0], [200, 250, 0], [300, 400, 0], [0, 120, 250]], 250, [[300, 400]]);

test('window limits: data beyond capacity - readable is cut, and accepted again after a read', (t) => {
  const rb = new RecvBuffer(100);
  rb.init(BASE);
  const s = pattern(300);
  t.is(put(rb, s, 0, 150), 100, 'cut at the window');
  t.is(rb.window, 0);
  t.is(put(rb, s, 100, 150), 0, 'zero window: nothing accepted');
  const out = new Uint8Array(30);
  t.is(rb.read(out, 0, 30), 30);
  t.deepEqual(Array.from(out), Array.from(s.subarray(0, 30)));
  t.is(rb.window, 30);
  t.is(put(rb, s, 100, 200), 30);
  t.is(put(rb, s, 135, 140), 0, 'beyond the window again');
  t.deepEqual(readAll(rb), Array.from(s.subarray(30, 130)));
});

test('out-of-order data beyond the window edge is cut; wholly beyond is refused', (t) => {
  const rb = new RecvBuffer(100);
  rb.init(BASE);
  const s = pattern(300);
  t.is(put(rb, s, 50, 200), 0);
  t.is(rb.oooBytes, 50);
  t.deepEqual(blocks(rb), [[50, 100]]);
  t.is(put(rb, s, 100, 120), 0);
  t.is(rb.oooBytes, 50);
  t.is(put(rb, s, 0, 50), 100);
  t.deepEqual(readAll(rb), Array.from(s.subarray(0, 100)));
});

test('the out-of-order bound: a segment needing one range too many is dropped (-1)', (t) => {
  const rb = new RecvBuffer(1000, 2);
  rb.init(BASE);
  const s = pattern(1000);
  t.is(put(rb, s, 100, 200), 0);
  t.is(put(rb, s, 300, 400), 0);
  t.is(put(rb, s, 500, 600), -1, 'third range');
  t.is(put(rb, s, 50, 60), -1, 'below the others, still a third range');
  t.is(rb.oooBytes, 200, 'nothing stored for dropped segments');
  t.is(put(rb, s, 200, 250), 0, 'extending a range is fine');
  t.is(put(rb, s, 250, 300), 0, 'and joining two of them');
  t.is(rb.outOfOrderRanges, 1);
  t.is(put(rb, s, 500, 600), 0, 'now there is room');
  t.is(put(rb, s, 0, 100), 400);
  t.deepEqual(readAll(rb), Array.from(s.subarray(0, 400)));
});

test('SACK blocks: the most recently touched first (RFC 2018 §4), at most maxBlocks', (t) => {
  const rb = new RecvBuffer(10_000);
  rb.init(BASE);
  const s = pattern(10_000);
  put(rb, s, 100, 200);
  put(rb, s, 300, 400);
  put(rb, s, 500, 600);
  put(rb, s, 700, 800);
  put(rb, s, 900, 1000);
  t.deepEqual(blocks(rb), [[900, 1000], [700, 800], [500, 600], [300, 400]]);
  put(rb, s, 400, 450); // extends [300,400): now the newest
  t.deepEqual(blocks(rb, 3), [[300, 450], [900, 1000], [700, 800]]);
  put(rb, s, 0, 100); // joins [100,200): that range leaves
  t.deepEqual(blocks(rb), [[300, 450], [900, 1000], [700, 800], [500, 600]]);
  t.is(rb.sackBlocks(new Uint32Array(2), 4), 1, 'bounded by out.length');
  t.is(rb.sackBlocks(new Uint32Array(8), 0), 0);
});

test('the ring wraps: bytes stay in order across its end', (t) => {
  const rb = new RecvBuffer(16);
  rb.init(BASE);
  const s = pattern(200);
  let pos = 0;
  let got: number[] = [];
  const out = new Uint8Array(16);
  while (pos < 200) {
    // 7-byte segments, the second of each pair first (out of order).
    const a = pos;
    const b = Math.min(a + 7, 200);
    const c = Math.min(b + 5, 200);
    put(rb, s, b, c);
    const adv = put(rb, s, a, b);
    t.true(adv >= b - a);
    pos = c;
    const n = rb.read(out, 0, 11);
    got = got.concat(Array.from(out.subarray(0, n)));
    if (rb.readable > 0) got = got.concat(readAll(rb));
  }
  t.deepEqual(got, Array.from(s));
});

test('setting nxt (past a FIN) keeps unread bytes and discards out-of-order ranges', (t) => {
  const rb = new RecvBuffer(100);
  rb.init(BASE);
  const s = pattern(100);
  put(rb, s, 0, 10);
  put(rb, s, 20, 30);
  rb.nxt = seqAdd(rb.nxt, 1);
  t.false(rb.hasOutOfOrder);
  t.is(rb.oooBytes, 0);
  t.deepEqual(readAll(rb), Array.from(s.subarray(0, 10)));
  rb.nxt = rb.nxt; // same value: no-op
  t.is(rb.readable, 0);
});

test('clear and init', (t) => {
  const rb = new RecvBuffer(100);
  rb.init(7);
  rb.insert(7, pattern(10), 0, 10);
  rb.insert(30, pattern(10), 0, 10);
  rb.clear();
  t.is(rb.readable, 0);
  t.false(rb.hasOutOfOrder);
  t.is(rb.nxt, 17);
  rb.init(BASE);
  t.is(rb.nxt, BASE);
  t.is(rb.window, 100);
  t.is(rb.insert(BASE, pattern(5), 0, 0), 0, 'empty insert');
  t.is(rb.read(new Uint8Array(4), 0, 4), 0);
});

test('bad construction throws', (t) => {
  t.throws(() => new RecvBuffer(0), { instanceOf: PktRangeError });
  t.throws(() => new RecvBuffer(2 ** 31), { instanceOf: PktRangeError });
  t.throws(() => new RecvBuffer(10, 0), { instanceOf: PktRangeError });
});

/** A small deterministic PRNG for the property tests (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

test('property: any arrival order, with duplicates and overlaps, reassembles the stream exactly; memory stays bounded', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4000 }),
      fc.integer({ min: 8, max: 2048 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.integer(),
      (len, capacity, maxOoo, isn, seed) => {
        const r = rng(seed);
        const s = pattern(len, seed & 0xff);
        // Segments of 1..300 bytes, some overlapping their neighbours.
        const segs: Array<[number, number]> = [];
        for (let p = 0; p < len; ) {
          const l = 1 + Math.floor(r() * 300);
          const from = Math.max(0, p - (r() < 0.2 ? Math.floor(r() * 50) : 0));
          segs.push([from, Math.min(len, p + l)]);
          p += l;
        }
        const rb = new RecvBuffer(capacity, maxOoo);
        rb.init(isn);
        const got = new Uint8Array(len);
        let gotLen = 0;
        const tmp = new Uint8Array(capacity);
        const sack = new Uint32Array(8);
        for (let round = 0; gotLen < len; round++) {
          if (round > 10_000) return false;
          // Each round: every segment once, shuffled, with duplicates.
          const order = segs.map((_, i) => i);
          for (let i = order.length - 1; i > 0; i--) {
            const j = Math.floor(r() * (i + 1));
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          for (const i of order) {
            const [from, to] = segs[i]!;
            const times = r() < 0.1 ? 2 : 1;
            for (let k = 0; k < times; k++) rb.insert((isn + from) >>> 0, s, from, to - from);
            if (rb.readable + rb.oooBytes > capacity) return false;
            if (rb.outOfOrderRanges > maxOoo) return false;
            const nb = rb.sackBlocks(sack, 4);
            for (let b = 0; b < nb; b++) {
              const lo = (sack[2 * b]! - rb.nxt) >>> 0;
              const hi = (sack[2 * b + 1]! - rb.nxt) >>> 0;
              if (!(lo > 0 && hi > lo && hi <= capacity - rb.readable)) return false;
            }
            if (r() < 0.3) {
              const n = rb.read(tmp, 0, Math.floor(r() * capacity));
              got.set(tmp.subarray(0, n), gotLen);
              gotLen += n;
            }
          }
          const n = rb.read(tmp, 0, capacity);
          got.set(tmp.subarray(0, n), gotLen);
          gotLen += n;
        }
        if (rb.nxt !== ((isn + len) >>> 0)) return false;
        for (let i = 0; i < len; i++) if (got[i] !== s[i]) return false;
        return true;
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('ByteCopier: exact bytes at any alignment, through views with a byteOffset, whichever path (native, DataView)', (t) => {
  const ring = new Uint8Array(4096);
  const model = new Uint8Array(4096);
  const c = new ByteCopier(ring);
  const shared = new ArrayBuffer(8192);
  const sources = [
    new Uint8Array(shared, 3, 3000),
    new Uint8Array(shared, 4000, 2000),
    new Uint8Array(2500),
    Buffer.alloc(1800),
    new Uint8Array(new SharedArrayBuffer(3000), 1, 2999),
  ];
  sources.forEach((src, k) => {
    for (let i = 0; i < src.length; i++) src[i] = (i * 31 + k * 7) & 0xff;
  });
  const r = rng(42);
  for (let n = 0; n < 3000; n++) {
    // Sources alternate, repeat and come back, so every cache path runs.
    const src = sources[n % 7 < 5 ? n % 5 : Math.floor(r() * 5)]!;
    const len = Math.floor(r() * Math.min(src.length, 1500));
    const srcOff = Math.floor(r() * (src.length - len + 1));
    const pos = Math.floor(r() * (ring.length - len + 1));
    if (r() < 0.5) {
      c.toRing(ring, pos, src, srcOff, len);
      model.set(src.subarray(srcOff, srcOff + len), pos);
    } else {
      const keep = src.slice();
      c.fromRing(src, srcOff, ring, pos, len);
      copyBytes(keep, srcOff, model, pos, len); // what src must now hold
      if (!Buffer.from(keep).equals(Buffer.from(src.buffer, src.byteOffset, src.length))) {
        t.fail(`fromRing of ${len} bytes at ${pos} into source ${sources.indexOf(src)} at ${srcOff}`);
        return;
      }
    }
    if (n % 100 === 0) t.deepEqual(ring, model);
  }
  t.deepEqual(ring, model);
});

test('insert, insertRel, sackBlocks and read allocate nothing (across 2^31 and 2^32; 1M rounds of 4 segments)', (t) => {
  const mod = new URL('../../../src/vtcp/recv-buffer.js', import.meta.url).href;
  // Sequence numbers pass as int32s (seq | 0), as seq.ts recommends for hot callers.
  const setup = `
    import { RecvBuffer } from ${JSON.stringify(mod)};
    const rb = new RecvBuffer(1 << 16, 64);
    rb.init(0x7ff00000);
    const seg = new Uint8Array(1460).fill(7);
    const out = new Uint8Array(4096);
    const sack = new Uint32Array(8);
    function step(n) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const nxt = rb.nxt | 0;
        s += rb.insert((nxt + 1460) | 0, seg, 0, 1460);    // out of order
        s += rb.insertRel(2920 + 200, seg, 0, 100);        // out of order, separate
        s += rb.sackBlocks(sack, 4);
        s += rb.insert(nxt, seg, 0, 1460);                 // fills the gap
        s += rb.insert((nxt + 2920) | 0, seg, 0, 1460);    // in order
        s += rb.read(out, 0, 4096);
        s += rb.read(out, 0, 4096);
      }
      if (s <= 0) throw new Error('unexpected');
    }
  `;
  const scavenges = scavengesAfterWarmup(setup);
  t.log(`${scavenges} scavenges`);
  t.true(scavenges <= 1, `${scavenges} scavenges: recv-buffer allocates`);
});
