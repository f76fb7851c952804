import test from 'ava';
import fc from 'fast-check';
import { SackScoreboard } from '../../../src/vtcp/sack-scoreboard.js';
import { seqAdd } from '../../../src/vtcp/seq.js';
import { PktRangeError } from '../../../src/errors.js';
import { scavengesAfterWarmup } from '../../helpers/alloc.js';

const UNA = 0xffff_ff00; // the window crosses 2^32
const MSS = 100;

function blocks(...pairs: Array<[number, number]>): Uint32Array {
  const b = new Uint32Array(8);
  pairs.forEach(([l, r], i) => {
    b[2 * i] = seqAdd(UNA, l);
    b[2 * i + 1] = seqAdd(UNA, r);
  });
  return b;
}

function ranges(sb: SackScoreboard): Array<[number, number]> {
  const r: Array<[number, number]> = [];
  for (let i = 0; i < sb.ranges; i++) r.push([(sb.rangeStart(i) - UNA) | 0, (sb.rangeEnd(i) - UNA) | 0]);
  return r;
}

const updateCase = test.macro({
  exec(t, acks: Array<{ una?: number; blocks: Array<[number, number]> }>, want: Array<[number, number]>, dsacks?: number) {
    const sb = new SackScoreboard();
    for (const a of acks) sb.update(blocks(...a.blocks), a.blocks.length, seqAdd(UNA, a.una ?? 0), seqAdd(UNA, 1000));
    t.deepEqual(ranges(sb), want);
    t.is(sb.sackedBytes, want.reduce((s: number, [l, r]: [number, number]) => s + r - l, 0));
    t.is(sb.dsacks, dsacks ?? 0);
  },
  title: (what = '') => `update: ${what}`,
});

test('one block', updateCase, [{ blocks: [[100, 200]] }], [[100, 200]]);
test('blocks kept sorted', updateCase, [{ blocks: [[500, 600], [100, 200], [300, 400]] }], [[100, 200], [300, 400], [500, 600]]);
test('overlapping and adjacent blocks merge', updateCase, [{ blocks: [[100, 200], [200, 300]] }, { blocks: [[250, 400], [50, 120]] }], [[50, 400]]);
test('a block bridging two ranges', updateCase, [{ blocks: [[100, 200], [300, 400]] }, { blocks: [[150, 350]] }], [[100, 400]]);
test('blocks at or below una are ignored', updateCase, [{ una: 200, blocks: [[300, 400], [100, 200]] }], [[300, 400]]);
test('a block beyond SND.NXT is ignored', updateCase, [{ blocks: [[900, 1100], [100, 200]] }], [[100, 200]]);
test('empty and inverted blocks are ignored', updateCase, [{ blocks: [[300, 300], [400, 350], [100, 200]] }], [[100, 200]]);
test('D-SACK below the cumulative ACK (RFC 2883 §4) is counted, not recorded', updateCase, [{ una: 300, blocks: [[100, 200], [400, 500]] }], [[400, 500]], 1);
test('D-SACK inside the second block is counted', updateCase, [{ blocks: [[420, 450], [400, 500]] }], [[400, 500]], 1);
test('a cumulative ACK trims and drops ranges', updateCase, [{ blocks: [[100, 200], [300, 400]] }, { una: 350, blocks: [] }], [[350, 400]]);

test('advance: old una changes nothing; highestSacked follows', (t) => {
  const sb = new SackScoreboard();
  sb.update(blocks([100, 200], [300, 400]), 2, UNA, seqAdd(UNA, 1000));
  t.is(sb.highestSacked, seqAdd(UNA, 400));
  sb.advance(seqAdd(UNA, 150));
  t.deepEqual(ranges(sb), [[150, 200], [300, 400]]);
  sb.advance(UNA);
  t.deepEqual(ranges(sb), [[150, 200], [300, 400]]);
  sb.advance(seqAdd(UNA, 400));
  t.true(sb.empty);
  t.is(sb.highestSacked, seqAdd(UNA, 400));
  t.is(sb.sackedBytes, 0);
});

test('bounded: beyond maxBlocks ranges the highest is forgotten', (t) => {
  const sb = new SackScoreboard(3);
  const nxt = seqAdd(UNA, 1000);
  sb.update(blocks([100, 110], [200, 210], [300, 310]), 3, UNA, nxt);
  sb.update(blocks([400, 410]), 1, UNA, nxt);
  t.deepEqual(ranges(sb), [[100, 110], [200, 210], [300, 310]], 'a new highest range is dropped');
  sb.update(blocks([50, 60]), 1, UNA, nxt);
  t.deepEqual(ranges(sb), [[50, 60], [100, 110], [200, 210]], 'a lower one evicts the highest');
  t.is(sb.sackedBytes, 30);
  sb.update(blocks([60, 100]), 1, UNA, nxt);
  t.deepEqual(ranges(sb), [[50, 110], [200, 210]], 'merging needs no room');
});

test('isLost (RFC 6675 §4): three ranges above, or more than 2 MSS SACKed above', (t) => {
  const sb = new SackScoreboard();
  const nxt = seqAdd(UNA, 2000);
  sb.update(blocks([100, 150], [200, 250]), 2, UNA, nxt);
  t.false(sb.isLost(UNA, MSS), 'two ranges, 100 bytes');
  sb.update(blocks([300, 350]), 1, UNA, nxt);
  t.true(sb.isLost(UNA, MSS), 'three ranges above');
  t.true(sb.isLost(seqAdd(UNA, 99), MSS));
  t.false(sb.isLost(seqAdd(UNA, 100), MSS), '100 is SACKed: two ranges and 149 bytes above');
  t.false(sb.isLost(seqAdd(UNA, 150), MSS));
  const big = new SackScoreboard();
  big.update(blocks([100, 301]), 1, UNA, nxt);
  t.true(big.isLost(UNA, MSS), '201 bytes > 2 MSS');
  t.true(big.isLost(seqAdd(UNA, 99), MSS));
  t.false(big.isLost(seqAdd(UNA, 100), MSS), '200 bytes above 100');
  t.false(big.isLost(seqAdd(UNA, 400), MSS));
});

test('pipe and nextLost on a worked example', (t) => {
  // [0,100) lost (3 ranges above), [150,200) and [250,300) not lost, [350,500) not lost (nothing above).
  const sb = new SackScoreboard();
  const nxt = seqAdd(UNA, 500);
  sb.update(blocks([100, 150], [200, 250], [300, 350]), 3, UNA, nxt);
  t.is(sb.pipe(UNA, nxt, UNA, MSS), 50 + 50 + 150, 'unSACKed and not lost');
  t.is(sb.pipe(UNA, nxt, seqAdd(UNA, 60), MSS), 250 + 60, 'plus retransmitted');
  t.is(sb.pipe(UNA, nxt, seqAdd(UNA, 220), MSS), 250 + 100 + 50, 'retransmissions skip SACKed bytes');
  t.is(sb.nextLost(UNA, nxt, 60), UNA);
  t.is(sb.segLen, 60, 'capped at the MSS given');
  t.is(sb.nextLost(seqAdd(UNA, 60), nxt, MSS), seqAdd(UNA, 60));
  t.is(sb.segLen, 40, 'stops at the SACKed range');
  t.is(sb.nextLost(seqAdd(UNA, 100), nxt, MSS), -1, 'nothing lost above 100');
  t.is(sb.segLen, 0);
});

/** The naive reference: one boolean per byte of [una0, una0 + W). */
class Model {
  sacked: boolean[];
  una = 0;
  dsacks = 0;
  readonly w: number;
  constructor(w: number) {
    this.w = w;
    this.sacked = new Array<boolean>(w).fill(false);
  }
  update(bl: Array<[number, number]>, una: number): void {
    this.advance(una);
    bl.forEach(([l, r], i) => {
      if (i === 0) {
        if (l < this.una) return void this.dsacks++;
        if (bl.length > 1) {
          const [l2, r2] = bl[1]!;
          if (l >= l2 && r <= r2 && l2 < r2) return void this.dsacks++;
        }
      }
      if (!(l < r) || r > this.w || r <= this.una) return;
      for (let x = Math.max(l, this.una); x < r; x++) this.sacked[x] = true;
    });
  }
  advance(una: number): void {
    if (una <= this.una) return;
    for (let x = 0; x < una; x++) this.sacked[x] = false;
    this.una = una;
  }
  get sackedBytes(): number {
    return this.sacked.filter(Boolean).length;
  }
  isLost(s: number, mss: number): boolean {
    let runs = 0;
    let bytes = 0;
    for (let x = s + 1; x < this.w; x++) {
      if (this.sacked[x]) {
        bytes++;
        if (!this.sacked[x - 1] || x - 1 === s) runs += x - 1 === s && this.sacked[s] ? 0 : 1;
      }
    }
    return runs >= 3 || bytes > 2 * mss;
  }
  pipe(nxt: number, highRxt: number, mss: number): number {
    let p = 0;
    for (let s = this.una; s < nxt; s++) {
      if (this.sacked[s]) continue;
      if (!this.isLost(s, mss)) p++;
      if (s < highRxt) p++;
    }
    return p;
  }
  nextLost(from: number, nxt: number, mss: number): [number, number] {
    for (let s = Math.max(from, this.una); s < nxt; s++) {
      if (!this.sacked[s] && this.isLost(s, mss)) {
        let e = s;
        while (e < nxt && !this.sacked[e] && e - s < mss) e++;
        return [s, e - s];
      }
    }
    return [-1, 0];
  }
}

test('property: against a per-byte reference model (isSacked, sackedBytes, isLost, pipe, nextLost)', (t) => {
  const W = 240;
  const block = fc.tuple(fc.integer({ min: -20, max: W + 20 }), fc.integer({ min: -5, max: 50 })).map(([l, n]): [number, number] => [l, l + n]);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('ack' as const), blocks: fc.array(block, { maxLength: 4 }), unaStep: fc.oneof(fc.constant(0), fc.nat(30)) }),
    fc.record({ kind: fc.constant('advance' as const), blocks: fc.constant([] as Array<[number, number]>), unaStep: fc.nat(40) }),
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.array(op, { maxLength: 25 }),
      fc.integer({ min: 5, max: 60 }),
      fc.nat(W),
      fc.nat(W),
      (base, ops, mss, rxt, from) => {
        const sb = new SackScoreboard(1000);
        const m = new Model(W);
        const seq = (x: number): number => (base + x) >>> 0;
        const nxt = seq(W);
        let una = 0;
        sb.advance(seq(0));
        const buf = new Uint32Array(8);
        for (const o of ops) {
          una = Math.min(W, una + o.unaStep);
          if (o.kind === 'ack') {
            o.blocks.forEach(([l, r], i) => {
              buf[2 * i] = seq(l);
              buf[2 * i + 1] = seq(r);
            });
            sb.update(buf, o.blocks.length, seq(una), nxt);
            m.update(o.blocks, una);
          } else {
            sb.advance(seq(una));
            m.advance(una);
          }
          if (sb.sackedBytes !== m.sackedBytes || sb.dsacks !== m.dsacks) return false;
          for (let s = m.una; s < W; s++) {
            if (sb.isSacked(seq(s)) !== m.sacked[s]) return false;
            if (sb.isLost(seq(s), mss) !== m.isLost(s, mss)) return false;
          }
          const highRxt = Math.max(m.una, rxt);
          if (sb.pipe(seq(m.una), nxt, seq(highRxt), mss) !== m.pipe(W, highRxt, mss)) return false;
          const [ws, wl] = m.nextLost(Math.max(from, m.una), W, mss);
          const gs = sb.nextLost(seq(Math.max(from, m.una)), nxt, mss);
          if (ws === -1 ? gs !== -1 : gs !== seq(ws) || sb.segLen !== wl) return false;
        }
        return true;
      },
    ),
    { numRuns: 400 },
  );
  t.pass();
});

test('bad maxBlocks throws', (t) => {
  t.throws(() => new SackScoreboard(0), { instanceOf: PktRangeError });
});

test('update, pipe, isLost and nextLost allocate nothing (1M ACKs with SACK blocks, across 2^31 and 2^32)', (t) => {
  const mod = new URL('../../../src/vtcp/sack-scoreboard.js', import.meta.url).href;
  // Sequence numbers pass as int32s (seq | 0), as seq.ts recommends for hot callers.
  const setup = `
    import { SackScoreboard } from ${JSON.stringify(mod)};
    const sb = new SackScoreboard(32);
    const blocks = new Uint32Array(8);
    let base = 0x7ff00000 | 0;
    function step(n) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const una = (base + i * 1460) | 0;
        const nxt = (una + 100 * 1460) | 0;
        blocks[0] = una + 3 * 1460; blocks[1] = una + 4 * 1460;
        blocks[2] = una + 6 * 1460; blocks[3] = una + 7 * 1460;
        blocks[4] = una + 9 * 1460; blocks[5] = una + 12 * 1460;
        sb.update(blocks, 3, una, nxt);
        s += sb.pipe(una, nxt, una, 1460);
        s += sb.nextLost(una, nxt, 1460) === -1 ? 0 : sb.segLen;
        s += sb.isLost(una, 1460) ? 1 : 0;
      }
      base = (base + n * 1460) | 0;
      if (s <= 0) throw new Error('unexpected');
    }
  `;
  const scavenges = scavengesAfterWarmup(setup);
  t.log(`${scavenges} scavenges`);
  t.true(scavenges <= 1, `${scavenges} scavenges: the scoreboard allocates`);
});
