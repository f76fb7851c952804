/**
 * Batched AEAD (src/native/aead.ts), both implementations: the addon (when it is built with
 * `aead`; PKTKIT_NATIVE_PATH points at another build) and the node:crypto fallback. Tests of the
 * addon that cannot run say so in their title and log. Vectors: test/vectors/aead.ts.
 */

import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { createCipheriv, createDecipheriv, type CipherGCMTypes } from 'node:crypto';
import {
  AEAD_TAG_LEN,
  AeadStatus,
  createAead,
  setCounterNonce,
  setPacketIdNonce,
  type Aead,
  type AeadAlgorithm,
  type AeadSlotAad,
} from '../../src/native/aead.js';
import { hasNative, loadNative, nativePath } from '../../src/native/index.js';
import { PktError, PktRangeError, PktTypeError } from '../../src/errors.js';
import { countScavenges } from '../helpers/alloc.js';
import { filled, fromHex, seededBytes, toHex } from '../helpers/bytes.js';
import { AEAD_VECTORS, type AeadVector } from '../vectors/aead.js';

const ADDON = hasNative('aead');
const WHY_NOT = ADDON
  ? ''
  : loadNative() === null
    ? `the addon is not built (looked for ${nativePath()})`
    : `this build of the addon lacks the 'aead' feature (${nativePath()})`;
const ALGORITHMS: AeadAlgorithm[] = ['chacha20-poly1305', 'aes-256-gcm'];

interface Impl {
  name: string;
  native: boolean;
}
const IMPLS: Impl[] = [
  { name: 'addon', native: true },
  { name: 'node:crypto fallback', native: false },
];

/**
 * Registers `body` once per implementation. Without the addon, its test still appears, with
 * the reason in the title and the log, and passes: it is not run, and says so.
 */
function bothImpls(title: string, body: (t: ExecutionContext, make: (alg: AeadAlgorithm, key: Uint8Array) => Aead) => void | Promise<void>): void {
  for (const impl of IMPLS) {
    if (impl.native && !ADDON) {
      test(`${impl.name}: ${title} [NOT RUN: needs the addon built with aead]`, (t) => {
        t.log(`not run: ${WHY_NOT}; build it with: npm run build:native -- --features aead`);
        t.pass();
      });
      continue;
    }
    test(`${impl.name}: ${title}`, (t) => body(t, (alg, key) => createAead(alg, key, { native: impl.native })));
  }
}

/** Seal or open one slot with node:crypto directly: the reference of the differential tests. */
function refSeal(alg: AeadAlgorithm, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array {
  const c = createCipheriv(alg as CipherGCMTypes, key, nonce, { authTagLength: AEAD_TAG_LEN });
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

function refOpen(alg: AeadAlgorithm, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  const d = createDecipheriv(alg as CipherGCMTypes, key, nonce, { authTagLength: AEAD_TAG_LEN });
  d.setAuthTag(sealed.subarray(sealed.length - AEAD_TAG_LEN));
  d.setAAD(aad);
  const pt = d.update(sealed.subarray(0, sealed.length - AEAD_TAG_LEN));
  try {
    d.final();
  } catch {
    return null;
  }
  return pt;
}

// --- Vectors ---------------------------------------------------------------------------------

const vectorCase = test.macro({
  exec(t, impl: Impl, v: AeadVector) {
    if (impl.native && !ADDON) {
      t.log(`not run: ${WHY_NOT}`);
      return t.pass();
    }
    const a = createAead(v.algorithm, fromHex(v.key), { native: impl.native });
    t.is(a.native, impl.native);
    const pt = fromHex(v.plaintext);
    const off = 13; // odd, inside a larger 0xa5 buffer: bytes written outside the slot show
    const buf = filled(off + pt.length + AEAD_TAG_LEN + 7);
    buf.set(pt, off);
    const aad = v.aad === '' ? null : fromHex(v.aad);
    t.is(a.seal(buf, off, pt.length, fromHex(v.nonce), aad), pt.length + AEAD_TAG_LEN);
    t.is(toHex(buf.subarray(off, off + pt.length)), v.ciphertext, 'ciphertext');
    t.is(toHex(buf.subarray(off + pt.length, off + pt.length + AEAD_TAG_LEN)), v.tag, 'tag');
    t.true(buf.subarray(0, off).every((b) => b === 0xa5) && buf.subarray(off + pt.length + AEAD_TAG_LEN).every((b) => b === 0xa5), 'nothing outside the slot');
    t.is(a.open(buf, off, pt.length + AEAD_TAG_LEN, fromHex(v.nonce), aad), pt.length);
    t.is(toHex(buf.subarray(off, off + pt.length)), v.plaintext, 'plaintext back');
    // The same through the batch API, AAD in a buffer of its own at an offset.
    const aadBuf = filled(5 + (aad?.length ?? 0));
    if (aad !== null) aadBuf.set(aad, 5);
    const slotAad: AeadSlotAad = { buf: aadBuf, offs: Int32Array.of(5), lens: Int32Array.of(aad?.length ?? 0) };
    a.sealBatch(buf, Int32Array.of(off), Int32Array.of(pt.length), 1, fromHex(v.nonce), slotAad);
    t.is(toHex(buf.subarray(off, off + pt.length + AEAD_TAG_LEN)), v.ciphertext + v.tag, 'sealBatch');
    const status = Uint8Array.of(9);
    t.is(a.openBatch(buf, Int32Array.of(off), Int32Array.of(pt.length + AEAD_TAG_LEN), 1, fromHex(v.nonce), status, slotAad), 0);
    t.is(status[0], AeadStatus.Ok);
    t.is(toHex(buf.subarray(off, off + pt.length)), v.plaintext, 'openBatch');
  },
  title: (_ = '', impl: Impl, v: AeadVector) => `${impl.name}: ${v.name} (${v.algorithm})${impl.native && !ADDON ? ' [NOT RUN: needs the addon built with aead]' : ''}`,
});
for (const impl of IMPLS) for (const v of AEAD_VECTORS) test(vectorCase, impl, v);

bothImpls('the six vectors in one batch per key, in a SharedArrayBuffer, match one-by-one sealing', (t, make) => {
  for (const key of new Set(AEAD_VECTORS.map((v) => v.key))) {
    const vs = AEAD_VECTORS.filter((v) => v.key === key);
    const a = make(vs[0]!.algorithm, fromHex(key));
    const slot = 512;
    const buf = new Uint8Array(new SharedArrayBuffer(vs.length * slot));
    const aadBuf = new Uint8Array(new SharedArrayBuffer(vs.length * 32));
    const offs = new Int32Array(vs.length);
    const lens = new Int32Array(vs.length);
    const nonces = new Uint8Array(vs.length * 12);
    const aad: AeadSlotAad = { buf: aadBuf, offs: new Int32Array(vs.length), lens: new Int32Array(vs.length) };
    vs.forEach((v, i) => {
      offs[i] = i * slot + 3;
      lens[i] = v.plaintext.length / 2;
      buf.set(fromHex(v.plaintext), offs[i]!);
      nonces.set(fromHex(v.nonce), i * 12);
      aad.offs[i] = i * 32;
      aad.lens[i] = v.aad.length / 2;
      aadBuf.set(fromHex(v.aad), i * 32);
    });
    a.sealBatch(buf, offs, lens, vs.length, nonces, aad);
    vs.forEach((v, i) => t.is(toHex(buf.subarray(offs[i]!, offs[i]! + lens[i]! + 16)), v.ciphertext + v.tag, v.name));
  }
});

// --- Differential tests against node:crypto ---------------------------------------------------

interface Packet {
  pt: Uint8Array;
  nonce: Uint8Array;
  aad: Uint8Array;
}
const packetArb = fc.record({
  pt: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 9000 }).map((n) => seededBytes(n, n * 7 + 1))),
  nonce: fc.uint8Array({ minLength: 12, maxLength: 12 }),
  aad: fc.uint8Array({ maxLength: 40 }),
});
const batchArb = fc.record({
  alg: fc.constantFrom<AeadAlgorithm>(...ALGORITHMS),
  key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  packets: fc.array(packetArb, { maxLength: 12 }),
  withAad: fc.boolean(),
  gap: fc.integer({ min: 0, max: 9 }),
});

/** Lays a batch out in one SharedArrayBuffer: slots `gap` bytes apart, each with room for a tag. */
function layout(packets: Packet[], gap: number, withAad: boolean) {
  const n = packets.length;
  const offs = new Int32Array(n);
  const lens = new Int32Array(n);
  const nonces = new Uint8Array(n * 12);
  let size = 0;
  packets.forEach((p, i) => {
    size += gap;
    offs[i] = size;
    lens[i] = p.pt.length;
    size += p.pt.length + AEAD_TAG_LEN;
    nonces.set(p.nonce, i * 12);
  });
  const buf = new Uint8Array(new SharedArrayBuffer(size + gap));
  packets.forEach((p, i) => buf.set(p.pt, offs[i]!));
  let aad: AeadSlotAad | null = null;
  if (withAad) {
    aad = { buf: new Uint8Array(packets.reduce((s, p) => s + p.aad.length, 0)), offs: new Int32Array(n), lens: new Int32Array(n) };
    let o = 0;
    packets.forEach((p, i) => {
      aad!.offs[i] = o;
      aad!.lens[i] = p.aad.length;
      aad!.buf.set(p.aad, o);
      o += p.aad.length;
    });
  }
  return { buf, offs, lens, nonces, aad };
}

bothImpls('sealBatch agrees with node:crypto, slot by slot (random sizes 0-9000, keys, nonces, AAD, batches)', (t, make) => {
  fc.assert(
    fc.property(batchArb, ({ alg, key, packets, withAad, gap }) => {
      const a = make(alg, key);
      const { buf, offs, lens, nonces, aad } = layout(packets, gap, withAad);
      a.sealBatch(buf, offs, lens, packets.length, nonces, aad);
      packets.forEach((p, i) => {
        const sealed = buf.subarray(offs[i]!, offs[i]! + lens[i]! + AEAD_TAG_LEN);
        const want = refSeal(alg, key, p.nonce, withAad ? p.aad : new Uint8Array(0), p.pt);
        if (toHex(sealed) !== toHex(want)) throw new Error(`slot ${i} (${p.pt.length} B) differs from node:crypto`);
        const back = refOpen(alg, key, p.nonce, withAad ? p.aad : new Uint8Array(0), sealed);
        if (back === null || toHex(back) !== toHex(p.pt)) throw new Error(`node:crypto cannot open slot ${i}`);
      });
    }),
    { numRuns: 40 },
  );
  t.pass();
});

bothImpls('openBatch opens what node:crypto sealed, and flags nothing', (t, make) => {
  fc.assert(
    fc.property(batchArb, ({ alg, key, packets, withAad, gap }) => {
      const a = make(alg, key);
      const { buf, offs, lens, nonces, aad } = layout(packets, gap, withAad);
      const sealedLens = new Int32Array(packets.length);
      packets.forEach((p, i) => {
        buf.set(refSeal(alg, key, p.nonce, withAad ? p.aad : new Uint8Array(0), p.pt), offs[i]!);
        sealedLens[i] = lens[i]! + AEAD_TAG_LEN;
      });
      const status = filled(packets.length, 9);
      const failed = a.openBatch(buf, offs, sealedLens, packets.length, nonces, status, aad);
      if (failed !== 0 || status.some((s) => s !== AeadStatus.Ok)) throw new Error(`failed ${failed}, status ${toHex(status)}`);
      packets.forEach((p, i) => {
        if (toHex(buf.subarray(offs[i]!, offs[i]! + lens[i]!)) !== toHex(p.pt)) throw new Error(`slot ${i} did not open to its plaintext`);
      });
    }),
    { numRuns: 40 },
  );
  t.pass();
});

test(`addon and fallback write the same bytes and statuses, tampered slots included${ADDON ? '' : ' [NOT RUN: needs the addon built with aead]'}`, (t) => {
  if (!ADDON) {
    t.log(`not run: ${WHY_NOT}`);
    return t.pass();
  }
  fc.assert(
    fc.property(batchArb, fc.array(fc.nat(), { maxLength: 4 }), ({ alg, key, packets, withAad, gap }, flips) => {
      const n = createAead(alg, key, { native: true });
      const j = createAead(alg, key, { native: false });
      const A = layout(packets, gap, withAad);
      const B = layout(packets, gap, withAad);
      n.sealBatch(A.buf, A.offs, A.lens, packets.length, A.nonces, A.aad);
      j.sealBatch(B.buf, B.offs, B.lens, packets.length, B.nonces, B.aad);
      if (toHex(A.buf) !== toHex(B.buf)) throw new Error('sealed buffers differ');
      for (const f of flips) {
        if (A.buf.length === 0) break;
        A.buf[f % A.buf.length]! ^= 0x10;
        B.buf[f % B.buf.length]! ^= 0x10;
      }
      const sealed = A.lens.map((l) => l + AEAD_TAG_LEN);
      const sA = filled(packets.length, 9);
      const sB = filled(packets.length, 9);
      const fA = n.openBatch(A.buf, A.offs, sealed, packets.length, A.nonces, sA, A.aad);
      const fB = j.openBatch(B.buf, B.offs, sealed, packets.length, B.nonces, sB, B.aad);
      if (fA !== fB || toHex(sA) !== toHex(sB) || toHex(A.buf) !== toHex(B.buf)) throw new Error(`opened differently: ${fA}/${fB} ${toHex(sA)}/${toHex(sB)}`);
    }),
    { numRuns: 60 },
  );
  t.pass();
});

// --- Failures inside a batch ------------------------------------------------------------------

bothImpls('a tampered slot in the middle of a batch is flagged and zeroed; the others open', (t, make) => {
  for (const alg of ALGORITHMS) {
    const key = seededBytes(32, 3);
    const a = make(alg, key);
    const n = 9;
    const slot = 1600;
    const buf = new Uint8Array(new SharedArrayBuffer(n * slot));
    const offs = new Int32Array(n);
    const lens = new Int32Array(n);
    const nonces = new Uint8Array(n * 12);
    for (let i = 0; i < n; i++) {
      offs[i] = i * slot + 64; // headroom, as a ring slot has
      lens[i] = 100 + i * 150;
      buf.set(seededBytes(lens[i]!, i), offs[i]!);
      setCounterNonce(nonces, i, i, 0);
    }
    const plain = buf.slice();
    a.sealBatch(buf, offs, lens, n, nonces);
    const sealed = lens.map((l) => l + AEAD_TAG_LEN);
    buf[offs[4]! + 7]! ^= 1; // a ciphertext bit of slot 4
    buf[offs[6]! + lens[6]! + 15]! ^= 0x80; // a tag bit of slot 6
    const tag4 = buf.slice(offs[4]! + lens[4]!, offs[4]! + sealed[4]!);
    const status = filled(n, 9);
    t.is(a.openBatch(buf, offs, sealed, n, nonces, status), 2, alg);
    for (let i = 0; i < n; i++) {
      const data = buf.subarray(offs[i]!, offs[i]! + lens[i]!);
      if (i === 4 || i === 6) {
        t.is(status[i], AeadStatus.AuthFailed, `${alg} slot ${i} flagged`);
        t.true(data.every((b) => b === 0), `${alg} slot ${i}: ciphertext zeroed`);
      } else {
        t.is(status[i], AeadStatus.Ok, `${alg} slot ${i}`);
        t.deepEqual(data, plain.subarray(offs[i]!, offs[i]! + lens[i]!), `${alg} slot ${i} opened`);
      }
    }
    t.deepEqual(buf.subarray(offs[4]! + lens[4]!, offs[4]! + sealed[4]!), tag4, 'the failed slot keeps its tag bytes');
    // A wrong nonce fails the same way; slots shorter than a tag are flagged TooShort, untouched.
    const b2 = filled(64);
    const st = filled(3, 9);
    t.is(a.openBatch(b2, Int32Array.of(0, 20, 40), Int32Array.of(15, 0, 16), 3, new Uint8Array(36), st), 3);
    t.deepEqual([...st], [AeadStatus.TooShort, AeadStatus.TooShort, AeadStatus.AuthFailed]);
    t.true(b2.subarray(0, 40).every((b) => b === 0xa5));
    // The one-packet form returns -1.
    const one = filled(40);
    const len = a.seal(one, 2, 10, new Uint8Array(12));
    one[3]! ^= 1;
    t.is(a.open(one, 2, len, new Uint8Array(12)), -1);
    t.is(a.open(one, 2, 15, new Uint8Array(12)), -1, 'shorter than a tag');
  }
});

// --- The tunnels' layouts -------------------------------------------------------------------

bothImpls('WireGuard transport layout: counter nonces, empty AAD, in place after a 16-byte header', (t, make) => {
  const key = seededBytes(32, 11);
  const a = make('chacha20-poly1305', key);
  const nonces = new Uint8Array(24);
  setCounterNonce(nonces, 0, 0, 0);
  setCounterNonce(nonces, 1, 0x89abcdef, 0x01234567);
  t.is(toHex(nonces), '000000000000000000000000' + '00000000efcdab8967452301');
  // Message: [type 4][receiver 4][counter 8][encrypted packet][tag 16].
  const pkt = seededBytes(1420, 5);
  const msg = new Uint8Array(16 + pkt.length + 16);
  msg.set(pkt, 16);
  a.sealBatch(msg, Int32Array.of(16), Int32Array.of(pkt.length), 1, nonces.subarray(12));
  t.is(toHex(msg.subarray(16)), toHex(refSeal('chacha20-poly1305', key, nonces.subarray(12), new Uint8Array(0), pkt)));
});

bothImpls('OpenVPN 2.6 AEAD layout: tag in front, header and packet id as AAD in the same SharedArrayBuffer', (t, make) => {
  for (const alg of ALGORITHMS) {
    const key = seededBytes(32, 12);
    const a = make(alg, key);
    const implicitIv = fromHex('0102030405060708');
    const n = 3;
    const slot = 2048;
    const sab = new SharedArrayBuffer(n * slot);
    const buf = new Uint8Array(sab);
    const aadView = new Uint8Array(sab, 0, n * slot); // a second view of the same memory
    const offs = new Int32Array(n);
    const lens = new Int32Array(n);
    const tagOffs = new Int32Array(n);
    const nonces = new Uint8Array(n * 12);
    const aad: AeadSlotAad = { buf: aadView, offs: new Int32Array(n), lens: new Int32Array(n) };
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      // [op|key_id + peer id 4][packet id 4][tag 16][ciphertext]
      const base = i * slot + 32;
      const pid = i + 1;
      buf.set([0x48, 0, 0, 5, pid >>> 24, pid >>> 16, pid >>> 8, pid], base);
      payloads.push(seededBytes(200 + i * 500, 20 + i));
      buf.set(payloads[i]!, base + 24);
      offs[i] = base + 24;
      lens[i] = payloads[i]!.length;
      tagOffs[i] = base + 8;
      aad.offs[i] = base;
      aad.lens[i] = 8;
      setPacketIdNonce(nonces, i, pid, implicitIv);
    }
    t.is(toHex(nonces.subarray(12, 24)), '000000020102030405060708');
    a.sealBatch(buf, offs, lens, n, nonces, aad, tagOffs);
    for (let i = 0; i < n; i++) {
      const base = i * slot + 32;
      const want = refSeal(alg, key, nonces.subarray(i * 12, i * 12 + 12), buf.subarray(base, base + 8), payloads[i]!);
      t.is(toHex(buf.subarray(base + 24, base + 24 + lens[i]!)), toHex(want.subarray(0, lens[i]!)), `${alg} ${i}: ciphertext`);
      t.is(toHex(buf.subarray(base + 8, base + 24)), toHex(want.subarray(lens[i]!)), `${alg} ${i}: tag in front`);
    }
    buf[32 + slot + 3] = 6; // slot 1's peer id: authenticated, so it fails
    const status = filled(n, 9);
    t.is(a.openBatch(buf, offs, lens, n, nonces, status, aad, tagOffs), 1);
    t.deepEqual([...status], [AeadStatus.Ok, AeadStatus.AuthFailed, AeadStatus.Ok]);
    t.deepEqual(buf.subarray(offs[2]!, offs[2]! + lens[2]!), payloads[2]);
  }
});

// --- Bad arguments ----------------------------------------------------------------------------

interface BadCase {
  what: string;
  run: (a: Aead) => unknown;
  type: new (message: string) => Error;
  message: RegExp;
}

const B = () => filled(100);
const I = (...v: number[]) => Int32Array.from(v);
const N = (slots: number) => new Uint8Array(slots * 12);
const BAD: BadCase[] = [
  { what: 'a slot past the end', run: (a) => a.sealBatch(B(), I(0, 90), I(5, 5), 2, N(2)), type: PktRangeError, message: /sealBatch: slot 1: offset 90 and length 5 plus its 16-byte tag do not fit in the 100-byte buffer/ },
  { what: 'a negative offset', run: (a) => a.openBatch(B(), I(-1), I(20), 1, N(1), new Uint8Array(1)), type: PktRangeError, message: /openBatch: slot 0: offset -1/ },
  { what: 'a negative length', run: (a) => a.sealBatch(B(), I(0, 0, 0), I(1, 1, -1), 3, N(3)), type: PktRangeError, message: /slot 2: offset 0 and length -1/ },
  { what: 'nonces too short', run: (a) => a.sealBatch(B(), I(0, 20), I(1, 1), 2, N(1)), type: PktRangeError, message: /nonces has 12 bytes; 2 slots need 24/ },
  { what: 'offs shorter than count', run: (a) => a.sealBatch(B(), I(0), I(1, 1), 2, N(2)), type: PktRangeError, message: /offs has 1 entries, fewer than count \(2\)/ },
  { what: 'lens shorter than count', run: (a) => a.sealBatch(B(), I(0, 1), I(1), 2, N(2)), type: PktRangeError, message: /lens has 1 entries/ },
  { what: 'status shorter than count', run: (a) => a.openBatch(B(), I(0, 40), I(20, 20), 2, N(2), new Uint8Array(1)), type: PktRangeError, message: /status has 1 entries/ },
  { what: 'tagOffs shorter than count', run: (a) => a.sealBatch(B(), I(0), I(1), 1, N(1), null, I()), type: PktRangeError, message: /tagOffs has 0 entries/ },
  { what: 'aad.offs shorter than count', run: (a) => a.sealBatch(B(), I(0), I(1), 1, N(1), { buf: new Uint8Array(4), offs: I(), lens: I(1) }), type: PktRangeError, message: /aad.offs has 0 entries/ },
  { what: 'AAD outside its buffer', run: (a) => a.sealBatch(B(), I(0), I(1), 1, N(1), { buf: new Uint8Array(4), offs: I(2), lens: I(3) }), type: PktRangeError, message: /AAD offset 2 and length 3 do not fit in the 4-byte AAD buffer/ },
  {
    what: 'AAD overlapping its slot',
    run: (a) => {
      const b = B();
      return a.sealBatch(b, I(20), I(10), 1, N(1), { buf: b.subarray(10), offs: I(18), lens: I(4) });
    },
    type: PktRangeError,
    message: /slot 0: its AAD \(offset 18, length 4\) overlaps its data \(offset 20, length 10\)/,
  },
  { what: 'a detached tag outside the buffer', run: (a) => a.sealBatch(B(), I(0), I(10), 1, N(1), null, I(90)), type: PktRangeError, message: /tag offset 90 plus 16 bytes/ },
  { what: 'a detached tag overlapping its slot', run: (a) => a.sealBatch(B(), I(20), I(10), 1, N(1), null, I(25)), type: PktRangeError, message: /its tag \(offset 25\) overlaps its data/ },
  {
    what: 'offsets sharing memory with the buffer',
    run: (a) => {
      const sab = new SharedArrayBuffer(256);
      return a.sealBatch(new Uint8Array(sab), new Int32Array(sab, 0, 1), I(1), 1, N(1));
    },
    type: PktTypeError,
    message: /shares memory with the data buffer/,
  },
  {
    what: 'status sharing memory with the nonces',
    run: (a) => {
      const ab = new ArrayBuffer(64);
      return a.openBatch(B(), I(0), I(16), 1, new Uint8Array(ab, 0, 12), new Uint8Array(ab, 8, 1));
    },
    type: PktTypeError,
    message: /shares memory/,
  },
  { what: 'a count that is not an integer', run: (a) => a.sealBatch(B(), I(0), I(1), 1.5, N(2)), type: PktRangeError, message: /count must be an integer in \[0, 16777216\], got 1.5/ },
  { what: 'a negative count', run: (a) => a.sealBatch(B(), I(0), I(1), -1, N(2)), type: PktRangeError, message: /count must be an integer/ },
  { what: 'offsets in a Uint32Array', run: (a) => a.sealBatch(B(), new Uint32Array(1) as unknown as Int32Array, I(1), 1, N(1)), type: PktTypeError, message: /sealBatch: offs must be a Int32Array, got Uint32Array/ },
  { what: 'a buffer that is not a Uint8Array', run: (a) => a.sealBatch([1, 2, 3] as unknown as Uint8Array, I(0), I(1), 1, N(1)), type: PktTypeError, message: /buf must be a Uint8Array, got Array/ },
  { what: 'a nonce of 8 bytes (one packet)', run: (a) => a.seal(B(), 0, 1, new Uint8Array(8)), type: PktRangeError, message: /seal: nonce must be 12 bytes, got 8/ },
  { what: 'a fractional offset (one packet)', run: (a) => a.open(B(), 0.5, 20, new Uint8Array(12)), type: PktRangeError, message: /open: off must be an integer/ },
  { what: 'a one-packet slot past the end', run: (a) => a.seal(B(), 90, 5, new Uint8Array(12)), type: PktRangeError, message: /seal: slot 0: offset 90 and length 5 plus its 16-byte tag/ },
];

bothImpls('bad arguments are typed errors with stable codes, raised before anything is written', (t, make) => {
  const a = make('aes-256-gcm', new Uint8Array(32));
  for (const c of BAD) {
    const e = t.throws(() => c.run(a), { instanceOf: c.type, message: c.message }, c.what);
    t.is((e as unknown as { code: string } | undefined)?.code, c.type === PktTypeError ? 'ERR_PKT_INVALID_ARG' : 'ERR_PKT_OUT_OF_RANGE', c.what);
  }
  // Nothing written: the batch with one bad slot at the end leaves every slot as it was.
  const buf = B();
  t.throws(() => a.sealBatch(buf, I(0, 30, 95), I(10, 10, 10), 3, N(3)), { instanceOf: PktRangeError });
  t.true(buf.every((b) => b === 0xa5), 'slots 0 and 1 were not sealed');
  const status = filled(2, 9);
  t.throws(() => a.openBatch(buf, I(0, 95), I(20, 20), 2, N(2), status), { instanceOf: PktRangeError });
  t.true(buf.every((b) => b === 0xa5) && status.every((b) => b === 9), 'nothing opened, no status written');
});

test(`addon and fallback refuse bad arguments with the same messages${ADDON ? '' : ' [NOT RUN: needs the addon built with aead]'}`, (t) => {
  if (!ADDON) {
    t.log(`not run: ${WHY_NOT}`);
    return t.pass();
  }
  const n = createAead('chacha20-poly1305', new Uint8Array(32), { native: true });
  const j = createAead('chacha20-poly1305', new Uint8Array(32), { native: false });
  const message = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  for (const c of BAD) t.is(message(() => c.run(n)), message(() => c.run(j)), c.what);
});

test(`addon and fallback agree on random arguments: the same error, or the same bytes and statuses${ADDON ? '' : ' [NOT RUN: needs the addon built with aead]'}`, (t) => {
  if (!ADDON) {
    t.log(`not run: ${WHY_NOT}`);
    return t.pass();
  }
  const edgy = (limit: number) => fc.oneof(fc.integer({ min: -3, max: limit + 20 }), fc.constantFrom(-0x80000000, 0x7fffffff));
  const argsArb = fc.record({
    seal: fc.boolean(),
    bufLen: fc.integer({ min: 0, max: 80 }),
    slots: fc.array(fc.record({ off: edgy(80), len: edgy(80), tag: edgy(80), aOff: edgy(16), aLen: edgy(16) }), { maxLength: 4 }),
    countDelta: fc.integer({ min: -1, max: 1 }),
    nonceBytes: fc.integer({ min: -1, max: 1 }),
    aadMode: fc.constantFrom('none', 'apart', 'inside', 'partly'),
    detached: fc.boolean(),
  });
  let refused = 0;
  let ran = 0;
  fc.assert(
    fc.property(argsArb, (x) => {
      const run = (native: boolean) => {
        const a = createAead('chacha20-poly1305', new Uint8Array(32).fill(1), { native });
        const sab = new SharedArrayBuffer(x.bufLen + 32);
        const buf = new Uint8Array(sab, 16, x.bufLen);
        buf.fill(0x5a);
        const n = x.slots.length;
        const count = Math.max(0, n + x.countDelta);
        const aadBuf =
          x.aadMode === 'apart' ? new Uint8Array(16) : x.aadMode === 'inside' ? new Uint8Array(sab, 16, Math.min(16, x.bufLen)) : new Uint8Array(sab, 0, 20);
        const aad = x.aadMode === 'none' ? null : { buf: aadBuf, offs: Int32Array.from(x.slots, (s) => s.aOff), lens: Int32Array.from(x.slots, (s) => s.aLen) };
        const offs = Int32Array.from(x.slots, (s) => s.off);
        const lens = Int32Array.from(x.slots, (s) => s.len);
        const nonces = new Uint8Array(Math.max(0, n * 12 + x.nonceBytes));
        const tagOffs = x.detached ? Int32Array.from(x.slots, (s) => s.tag) : null;
        const status = new Uint8Array(n);
        let out: string;
        try {
          out = x.seal ? `sealed ${String(a.sealBatch(buf, offs, lens, count, nonces, aad, tagOffs))}` : `opened ${a.openBatch(buf, offs, lens, count, nonces, status, aad, tagOffs)}`;
        } catch (e) {
          out = `${(e as Error).name}: ${(e as Error).message}`;
        }
        return `${out} | ${toHex(new Uint8Array(sab))} | ${toHex(status)}`;
      };
      const native = run(true);
      const js = run(false);
      if (native !== js) throw new Error(`addon: ${native}\nfallback: ${js}`);
      if (native.startsWith('Pkt')) refused++;
      else ran++;
    }),
    { numRuns: 3000 },
  );
  t.log(`${ran} batches ran, ${refused} refused, identically`);
  t.true(ran > 300 && refused > 300, 'both paths exercised');
});

test('keys and algorithms are checked when the AEAD is made', (t) => {
  for (const native of ADDON ? [true, false] : [false]) {
    t.throws(() => createAead('aes-256-gcm', new Uint8Array(16), { native }), { instanceOf: PktRangeError, code: 'ERR_PKT_OUT_OF_RANGE', message: /createAead: aes-256-gcm keys are 32 bytes, got 16/ });
    t.throws(() => createAead('chacha20-poly1305', new Uint8Array(33), { native }), { instanceOf: PktRangeError, message: /keys are 32 bytes, got 33/ });
    t.throws(() => createAead('chacha20-poly1305', 'k'.repeat(32) as unknown as Uint8Array, { native }), { instanceOf: PktTypeError, code: 'ERR_PKT_INVALID_ARG', message: /key must be a Uint8Array, got string/ });
    t.throws(() => createAead('aes-128-gcm' as AeadAlgorithm, new Uint8Array(32), { native }), { instanceOf: PktTypeError, message: /algorithm must be/ });
  }
  if (!ADDON) t.log(`addon half not run: ${WHY_NOT}`);
});

test('the addon is used when it is built with aead; native: true without it is ERR_PKT_NATIVE_UNAVAILABLE', (t) => {
  t.is(createAead('chacha20-poly1305', new Uint8Array(32)).native, ADDON);
  if (ADDON) {
    t.true(createAead('aes-256-gcm', new Uint8Array(32), { native: true }).native);
    t.log('the addon has aead here; the missing-addon path runs in a child process (next test)');
  } else {
    const e = t.throws(() => createAead('chacha20-poly1305', new Uint8Array(32), { native: true }), { instanceOf: PktError });
    t.is(e?.code, 'ERR_PKT_NATIVE_UNAVAILABLE');
  }
});

test('without the addon, createAead falls back to node:crypto with the same results', async (t) => {
  const mod = new URL('../../src/native/aead.js', import.meta.url).href;
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { createAead } = await import(${JSON.stringify(mod)});
       const a = createAead('chacha20-poly1305', new Uint8Array(32).fill(1));
       const buf = new Uint8Array(64); buf.set([1, 2, 3], 4);
       a.seal(buf, 4, 3, new Uint8Array(12));
       console.log(a.native, Buffer.from(buf.subarray(4, 23)).toString('hex'));
       try { createAead('chacha20-poly1305', new Uint8Array(32), { native: true }); } catch (e) { console.log(e.code); }`,
    ],
    { env: { ...process.env, PKTKIT_NATIVE_PATH: '/nonexistent/pktkit.node' }, encoding: 'utf8' },
  );
  const [line, code] = out.trim().split('\n');
  const want = refSeal('chacha20-poly1305', new Uint8Array(32).fill(1), new Uint8Array(12), new Uint8Array(0), Uint8Array.of(1, 2, 3));
  t.is(line, `false ${toHex(want)}`);
  t.is(code, 'ERR_PKT_NATIVE_UNAVAILABLE');
});

// --- Allocation -------------------------------------------------------------------------------

test(`the addon's batch path allocates nothing per slot (1M slots sealed and opened, with AAD)${ADDON ? '' : ' [NOT RUN: needs the addon built with aead]'}`, (t) => {
  if (!ADDON) {
    t.log(`not run: ${WHY_NOT}. (The node:crypto fallback allocates per packet by design: a cipher object, its output, views.)`);
    return t.pass();
  }
  const mod = new URL('../../src/native/aead.js', import.meta.url).href;
  const body = `
    import { createAead, setCounterNonce } from ${JSON.stringify(mod)};
    const n = 64, slot = 256;
    const buf = new Uint8Array(new SharedArrayBuffer(n * slot));
    const offs = new Int32Array(n), lens = new Int32Array(n), sealed = new Int32Array(n);
    const nonces = new Uint8Array(n * 12), status = new Uint8Array(n);
    const aad = { buf: new Uint8Array(n * 8), offs: new Int32Array(n), lens: new Int32Array(n) };
    for (let i = 0; i < n; i++) { offs[i] = i * slot + 16; lens[i] = 64 + i; sealed[i] = lens[i] + 16; aad.offs[i] = i * 8; aad.lens[i] = 8; }
    const a = createAead('chacha20-poly1305', new Uint8Array(32).fill(7), { native: true });
    if (!a.native) throw new Error('not the addon');
    function run(calls) {
      let failed = 0;
      for (let k = 0; k < calls; k++) {
        for (let i = 0; i < n; i++) setCounterNonce(nonces, i, k * n + i, 0);
        a.sealBatch(buf, offs, lens, n, nonces, aad);
        failed += a.openBatch(buf, offs, sealed, n, nonces, status, aad);
      }
      return failed;
    }
    run(200); // warm up
    if (run(15625) !== 0) throw new Error('a slot failed');
  `;
  const scavenges = countScavenges(body);
  t.log(`${scavenges} scavenges over 1M slots sealed and 1M opened`);
  t.true(scavenges <= 3, `${scavenges} scavenges: the batch path allocates`);
});
