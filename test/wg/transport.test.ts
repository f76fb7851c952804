import test from 'ava';
import { hasNative } from '../../src/native/index.js';
import { Keypair, TransportBatch, innerPacketLength, openTransport, paddingSize, sealTransport, sealedLength, transportReceiver } from '../../src/wg/transport.js';
import { WgDrop } from '../../src/wg/stats.js';
import { fromHex, toHex } from '../../src/wire/bytes.js';
import { countScavenges } from '../helpers/alloc.js';
import * as V from '../vectors/wg-noise.js';

const MTU = 1420;
const I = V.inputs.initiatorIndex;
const R = V.inputs.responderIndex;

/** The §7.2 keypairs: initiator (sends T1) and responder (sends T2). */
function keypairs(t1 = V.T1, t2 = V.T2, native?: boolean): { ini: Keypair; res: Keypair } {
  const opts = native === undefined ? {} : { native };
  return {
    ini: new Keypair({ sendKey: fromHex(t1), recvKey: fromHex(t2), isInitiator: true, localIndex: I, remoteIndex: R }, 0, opts),
    res: new Keypair({ sendKey: fromHex(t2), recvKey: fromHex(t1), isInitiator: false, localIndex: R, remoteIndex: I }, 0, opts),
  };
}

const payload = Uint8Array.from({ length: 20 }, (_, i) => i + 1);

function seal(kp: Keypair, plain: Uint8Array, off = 0): Uint8Array {
  const buf = new Uint8Array(off + sealedLength(plain.length, MTU) + 8).fill(0xa5);
  buf.set(plain, off + 16);
  const n = sealTransport(kp, buf, off, plain.length, MTU);
  return buf.subarray(off, off + n);
}

const backends: [string, boolean | undefined][] = [['default backend', undefined], ['node:crypto', false]];
if (hasNative('aead')) backends.push(['addon', true]);

for (const [name, native] of backends) {
  test(`transport vectors (notes §7.2), ${name}: keepalive ctr 0, data both ways, counters`, (t) => {
    const { ini, res } = keypairs(V.T1, V.T2, native);
    t.is(toHex(seal(ini, new Uint8Array(0))), V.transport.initiatorKeepalive0);
    t.is(toHex(seal(res, payload)), V.transport.responderData0);
    t.is(toHex(seal(ini, payload, 3)), V.transport.initiatorData1);
    const psk = keypairs(V.withPsk.T1, V.withPsk.T2, native);
    t.is(toHex(seal(psk.ini, new Uint8Array(0))), V.withPsk.initiatorKeepalive0);
    // And they open on the other side: keepalive (0 bytes), then data padded to 32.
    const ka = fromHex(V.transport.initiatorKeepalive0);
    t.is(openTransport(res, ka, 0, ka.length), 0);
    const d = fromHex(V.transport.initiatorData1);
    t.is(openTransport(res, d, 0, d.length), 32);
    t.deepEqual(d.subarray(16, 36), payload);
    t.true(d.subarray(36, 48).every((x) => x === 0));
    t.is(transportReceiver(d, 0), R);
  });
}

test('padding (notes §7.3): 0->0, 1->16, 16->16, 17->32, 1415->1420 with MTU 1420', (t) => {
  for (const [len, padded] of [[0, 0], [1, 16], [16, 16], [17, 32], [1415, 1420], [1420, 1420], [1421, 1421 + 15]] as const) {
    t.is(len + paddingSize(len, MTU), padded, `len ${len}`);
  }
});

test('forged packet with a huge counter does not block genuine traffic (authenticate first)', (t) => {
  const { ini, res } = keypairs();
  const genuine = [0, 1, 2, 3].map(() => seal(ini, payload));
  t.is(openTransport(res, Uint8Array.from(genuine[0]!), 0, genuine[0]!.length), 32);
  // An attacker copies packet 1, sets the counter to 2^63 (or 5000) and cannot fix the tag.
  for (const counterHex of ['0000000000000080', '8813000000000000']) {
    const forged = Uint8Array.from(genuine[1]!);
    forged.set(fromHex(counterHex), 8);
    t.is(openTransport(res, forged, 0, forged.length), -WgDrop.AuthFailed);
  }
  // Genuine counters 1..3 still open, out of order; a replayed one does not.
  t.is(openTransport(res, Uint8Array.from(genuine[2]!), 0, genuine[2]!.length), 32);
  t.is(openTransport(res, Uint8Array.from(genuine[1]!), 0, genuine[1]!.length), 32);
  t.is(openTransport(res, Uint8Array.from(genuine[1]!), 0, genuine[1]!.length), -WgDrop.Replay);
  t.is(openTransport(res, Uint8Array.from(genuine[3]!), 0, genuine[3]!.length), 32);
});

test('bad messages: short, wrong type, reserved bytes, flipped ciphertext or tag', (t) => {
  const { ini, res } = keypairs();
  const good = seal(ini, payload);
  t.is(openTransport(res, good, 0, 31), -WgDrop.BadLength);
  for (const i of [0, 1, 20, good.length - 1]) {
    const m = Uint8Array.from(good);
    m[i]! ^= 1;
    t.is(openTransport(res, m, 0, m.length), i < 4 ? -WgDrop.BadLength : -WgDrop.AuthFailed, `byte ${i}`);
  }
  t.is(openTransport(res, Uint8Array.from(good), 0, good.length), 32, 'the genuine one still opens');
});

test('sealing refuses a buffer without room, and an exhausted keypair (REJECT_AFTER_MESSAGES)', (t) => {
  const { ini } = keypairs();
  const buf = new Uint8Array(16 + 32 + 16 - 1); // 20 bytes pad to 32: one byte short
  t.is(sealTransport(ini, buf, 0, 20, MTU), -WgDrop.TooBig);
  t.is(ini.sendCounter[0], 0, 'no counter spent');
  ini.sendCounter[0] = 0xffff_dffe;
  ini.sendCounter[1] = 0xffff_ffff;
  const big = new Uint8Array(100);
  t.is(sealTransport(ini, big, 0, 0, MTU), 32, 'R - 1 is the last usable counter');
  t.true(ini.exhausted);
  t.is(sealTransport(ini, big, 0, 0, MTU), -WgDrop.KeypairExpired);
  t.true(ini.needsRekeyByCount);
});

test('inner packet length strips padding; bad versions and lengths are refused', (t) => {
  const p4 = new Uint8Array(48);
  p4[0] = 0x45;
  p4[3] = 28;
  t.is(innerPacketLength(p4, 0, 48), 28);
  p4[3] = 49;
  t.is(innerPacketLength(p4, 0, 48), -1);
  p4[3] = 19;
  t.is(innerPacketLength(p4, 0, 48), -1);
  const p6 = new Uint8Array(64);
  p6[0] = 0x60;
  p6[5] = 8;
  t.is(innerPacketLength(p6, 0, 64), 48);
  p6[5] = 25;
  t.is(innerPacketLength(p6, 0, 64), -1);
  t.is(innerPacketLength(Uint8Array.of(0x50), 0, 1), -1);
  t.is(innerPacketLength(p4, 0, 0), -1);
});

test('TransportBatch: one sealBatch gives the per-packet bytes; one openBatch authenticates then filters', (t) => {
  const a = keypairs();
  const b = keypairs();
  const SLOT = 128;
  const sab = new Uint8Array(new SharedArrayBuffer(SLOT * 8));
  const batch = new TransportBatch(8);
  const expected: string[] = [];
  for (let i = 0; i < 6; i++) {
    const len = [0, 1, 20, 33, 64, 80][i]!;
    const plain = Uint8Array.from({ length: len }, (_, k) => k * 7 + i);
    sab.set(plain, i * SLOT + 16);
    t.is(batch.addSeal(a.ini, sab, i * SLOT, len, MTU), i);
    expected.push(toHex(seal(b.ini, plain)));
  }
  batch.seal(a.ini, sab);
  for (let i = 0; i < 6; i++) t.is(toHex(sab, i * SLOT, batch.result(i)), expected[i]!, `slot ${i}`);
  const lens = [0, 1, 2, 3, 4, 5].map((i) => batch.result(i));
  // Open: slot 2 tampered, slot 4 a duplicate of slot 3 (copied), the rest genuine.
  sab.copyWithin(6 * SLOT, 3 * SLOT, 3 * SLOT + lens[3]!);
  sab[2 * SLOT + 20]! ^= 1;
  batch.clear();
  for (let i = 0; i < 6; i++) batch.addOpen(a.res, sab, i * SLOT, lens[i]!);
  batch.addOpen(a.res, sab, 6 * SLOT, lens[3]!);
  batch.addOpen(a.res, sab, 7 * SLOT, 31);
  t.is(batch.addOpen(a.res, sab, 0, 32), -1, 'full');
  batch.open(a.res, sab);
  t.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => batch.result(i)), [0, 16, -WgDrop.AuthFailed, 48, 64, 80, -WgDrop.Replay, -WgDrop.BadLength]);
  t.is(sab[SLOT + 16], 1, 'slot 1 plaintext in place');
});

const urls = {
  transport: new URL('../../src/wg/transport.js', import.meta.url).href,
  bytes: new URL('../../src/wire/bytes.js', import.meta.url).href,
};

function allocBody(loop: string): string {
  return `
    import { Keypair, sealTransport, openTransport, TransportBatch } from ${JSON.stringify(urls.transport)};
    import { fromHex } from ${JSON.stringify(urls.bytes)};
    const k1 = fromHex(${JSON.stringify(V.T1)}), k2 = fromHex(${JSON.stringify(V.T2)});
    const opts = { native: true };
    const ini = new Keypair({ sendKey: Uint8Array.from(k1), recvKey: Uint8Array.from(k2), isInitiator: true, localIndex: 0x91223344, remoteIndex: 0xaabbccdd }, 0, opts);
    const res = new Keypair({ sendKey: Uint8Array.from(k2), recvKey: Uint8Array.from(k1), isInitiator: false, localIndex: 0xaabbccdd, remoteIndex: 0x91223344 }, 0, opts);
    const buf = new Uint8Array(new SharedArrayBuffer(2048 * 32));
    const batch = new TransportBatch(32);
    let bytes = 0;
    function run(n) {
      for (let i = 0; i < n; i++) { ${loop} }
    }
    for (let k = 0; k < 400; k++) run(1000);
    if (bytes < 400000) throw new Error('did not run: ' + bytes);
  `;
}

const allocCases: [string, string][] = [
  ['seal + open, one packet at a time (100 B)', `buf[16] = 0x45; const n = sealTransport(ini, buf, 0, 100, 1420); const m = openTransport(res, buf, 0, n); if (m !== 112) throw new Error('open ' + m); bytes += m;`],
  ['sealBatch + openBatch, 32 packets per call (100 B)', `if (i % 32 === 0) { batch.clear(); for (let s = 0; s < 32; s++) batch.addSeal(ini, buf, s * 2048, 100, 1420); batch.seal(ini, buf); batch.clear(); for (let s = 0; s < 32; s++) batch.addOpen(res, buf, s * 2048, 144); batch.open(res, buf); for (let s = 0; s < 32; s++) bytes += batch.result(s); }`],
];

for (const [name, loop] of allocCases) {
  test(`transport path allocates nothing (addon backend): ${name}, 400k packets`, (t) => {
    if (!hasNative('aead')) {
      t.fail('the addon with aead is required for the allocation check (node:crypto makes a cipher per packet)');
      return;
    }
    const scavenges = countScavenges(allocBody(loop));
    t.log(`${scavenges} scavenges`);
    t.true(scavenges <= 3, `${scavenges} scavenges: the path allocates`);
  });
}

test('the allocation check would see an allocating loop', (t) => {
  if (!hasNative('aead')) return t.fail('addon required');
  const scavenges = countScavenges(allocBody('bytes += buf.subarray(1).length;'));
  t.true(scavenges > 10, `${scavenges} scavenges`);
});
