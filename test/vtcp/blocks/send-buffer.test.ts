import test from 'ava';
import fc from 'fast-check';
import { SendBuffer } from '../../../src/vtcp/send-buffer.js';
import { seqAdd } from '../../../src/vtcp/seq.js';
import { PktRangeError } from '../../../src/errors.js';
import { scavengesAfterWarmup } from '../../helpers/alloc.js';

/** Just below 2^32: every test crosses the wrap. */
const ISS1 = 0xffff_fff8;

function pattern(n: number, salt = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + salt) & 0xff;
  return b;
}

function peekAll(sb: SendBuffer, seq: number, len: number): number[] {
  const got: number[] = [];
  while (len > 0) {
    const n = sb.peek(seq, len);
    if (n === 0) break;
    got.push(...sb.viewBuf.subarray(sb.viewOff, sb.viewOff + n));
    seq = seqAdd(seq, n);
    len -= n;
  }
  return got;
}

test('write until full: back-pressure by the accepted count', (t) => {
  const sb = new SendBuffer(100);
  sb.init(ISS1);
  const s = pattern(200);
  t.is(sb.write(s, 0, 60), 60);
  t.is(sb.free, 40);
  t.is(sb.write(s, 60, 60), 40, 'only what fits');
  t.is(sb.free, 0);
  t.is(sb.length, 100);
  t.is(sb.write(s, 100, 10), 0, 'full');
  t.is(sb.end, seqAdd(ISS1, 100));
  t.deepEqual(peekAll(sb, ISS1, 100), Array.from(s.subarray(0, 100)));
});

const ackCase = test.macro({
  exec(t, writes: number, ackOffset: number, freed: number, length: number, una: number) {
    const sb = new SendBuffer(1000);
    sb.init(ISS1);
    const s = pattern(writes);
    sb.write(s, 0, writes);
    t.is(sb.ack(seqAdd(ISS1, ackOffset)), freed);
    t.is(sb.length, length);
    t.is(sb.una, seqAdd(ISS1, una));
    t.deepEqual(peekAll(sb, sb.una, sb.length), Array.from(s.subarray(writes - length)));
  },
  title: (what = '', writes: number, ackOffset: number) => `ack at +${ackOffset} of ${writes} bytes ${what}`.trim(),
});
test('(partial)', ackCase, 100, 30, 30, 70, 30);
test('(everything)', ackCase, 100, 100, 100, 0, 100);
test('(beyond the data: a FIN)', ackCase, 100, 101, 100, 0, 101);
test('(at una: nothing)', ackCase, 100, 0, 0, 100, 0);
test('(old: nothing)', ackCase, 100, -5, 0, 100, 0);

test('peek across the ring wrap: two views; copyOut joins them', (t) => {
  const sb = new SendBuffer(16);
  sb.init(ISS1);
  const s = pattern(22);
  t.is(sb.write(s, 0, 12), 12);
  t.is(sb.ack(seqAdd(ISS1, 8)), 8); // head at ring index 8, 4 bytes held
  t.is(sb.write(s, 12, 10), 10); // ring [12,16) then [0,6)
  const una = sb.una;
  t.is(sb.peek(una, 14), 8, 'up to the ring end');
  t.is(sb.viewOff, 8);
  t.deepEqual(Array.from(sb.viewBuf.subarray(8, 16)), Array.from(s.subarray(8, 16)));
  t.is(sb.peek(seqAdd(una, 8), 6), 6, 'the rest from index 0');
  t.is(sb.viewOff, 0);
  t.deepEqual(Array.from(sb.viewBuf.subarray(0, 6)), Array.from(s.subarray(16, 22)));
  t.is(sb.peek(seqAdd(una, 3), 2), 2, 'a part inside');
  t.is(sb.viewOff, 11);
  const out = new Uint8Array(20).fill(0xa5);
  sb.copyOut(seqAdd(una, 2), out, 3, 12);
  t.deepEqual(Array.from(out.subarray(3, 15)), Array.from(s.subarray(10, 22)));
  t.is(out[2], 0xa5);
  t.is(out[15], 0xa5);
});

test('peek outside [una, una + length) gives 0', (t) => {
  const sb = new SendBuffer(64);
  sb.init(ISS1);
  sb.write(pattern(10), 0, 10);
  t.is(sb.peek(seqAdd(ISS1, 10), 5), 0, 'at the end');
  t.is(sb.peek(seqAdd(ISS1, -1), 5), 0, 'before una');
  t.is(sb.peek(ISS1, 0), 0, 'zero length');
  t.is(sb.peek(seqAdd(ISS1, 9), 5), 1, 'the last byte');
});

test('copyOut outside the data throws (a caller bug)', (t) => {
  const sb = new SendBuffer(64);
  sb.init(ISS1);
  sb.write(pattern(10), 0, 10);
  t.throws(() => sb.copyOut(seqAdd(ISS1, 5), new Uint8Array(10), 0, 6), { instanceOf: PktRangeError });
  t.notThrows(() => sb.copyOut(seqAdd(ISS1, 5), new Uint8Array(10), 0, 5));
});

test('una: setting forward acknowledges; on an empty buffer it moves the start', (t) => {
  const sb = new SendBuffer(64);
  sb.init(ISS1);
  sb.write(pattern(10), 0, 10);
  sb.una = seqAdd(ISS1, 4);
  t.is(sb.length, 6);
  sb.una = ISS1; // backwards with data held: ignored
  t.is(sb.una, seqAdd(ISS1, 4));
  sb.clear();
  t.is(sb.length, 0);
  sb.una = 12345;
  t.is(sb.una, 12345);
  t.is(sb.end, 12345);
});

test('bad capacity throws', (t) => {
  t.throws(() => new SendBuffer(0), { instanceOf: PktRangeError });
  t.throws(() => new SendBuffer(1.5), { instanceOf: PktRangeError });
});

test('property: random writes, acks and peeks match a plain array model across 2^32', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.array(fc.tuple(fc.constantFrom('w', 'a', 'p'), fc.nat(400), fc.nat(400)), { maxLength: 60 }),
      (cap, iss1, ops) => {
        const sb = new SendBuffer(cap);
        sb.init(iss1);
        let model: number[] = [];
        let una = iss1;
        let counter = 0;
        for (const [op, x, y] of ops) {
          if (op === 'w') {
            const src = new Uint8Array(x).map(() => counter++ & 0xff);
            const n = sb.write(src, 0, x);
            if (n !== Math.min(x, cap - model.length)) return false;
            model = model.concat(Array.from(src.subarray(0, n)));
          } else if (op === 'a') {
            const k = Math.min(x, model.length + 1);
            const freed = sb.ack(seqAdd(una, k));
            if (freed !== Math.min(k, model.length)) return false;
            model = model.slice(freed);
            una = seqAdd(una, k);
          } else {
            const off = model.length === 0 ? 0 : x % model.length;
            const len = Math.min(y, model.length - off);
            if (len > 0) {
              const got = peekAll(sb, seqAdd(una, off), len);
              if (got.join() !== model.slice(off, off + len).join()) return false;
              const out = new Uint8Array(len);
              sb.copyOut(seqAdd(una, off), out, 0, len);
              if (Array.from(out).join() !== model.slice(off, off + len).join()) return false;
            }
          }
          if (sb.una !== una || sb.length !== model.length || sb.free !== cap - model.length) return false;
        }
        return true;
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('write, peek, copyOut and ack allocate nothing (across 2^31 and 2^32; 1M rounds)', (t) => {
  const mod = new URL('../../../src/vtcp/send-buffer.js', import.meta.url).href;
  // Sequence numbers pass as int32s (seq | 0), as seq.ts recommends for hot callers.
  const setup = `
    import { SendBuffer } from ${JSON.stringify(mod)};
    const sb = new SendBuffer(1 << 16);
    sb.init(0x7ff00000);
    const data = new Uint8Array(1460).fill(3);
    const out = new Uint8Array(1460);
    function step(n) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const una = sb.una | 0;
        s += sb.write(data, 0, 1460);
        s += sb.write(data, 0, 1000);
        let seq = una;
        let left = 2460;
        while (left > 0) {
          const k = sb.peek(seq, left);
          s += sb.viewBuf[sb.viewOff];
          seq = (seq + k) | 0;
          left -= k;
        }
        sb.copyOut((una + 100) | 0, out, 0, 1460);
        s += sb.ack((una + 2460) | 0);
      }
      if (s <= 0) throw new Error('unexpected');
    }
  `;
  const scavenges = scavengesAfterWarmup(setup);
  t.log(`${scavenges} scavenges`);
  t.true(scavenges <= 1, `${scavenges} scavenges: send-buffer allocates`);
});
