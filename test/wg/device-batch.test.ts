import test from 'ava';
import { ENDPOINT_WORDS } from '../../src/wg/bind.js';
import { WgDrop } from '../../src/wg/stats.js';
import { A_ADDR, makeNet, ping, sent } from './device-helpers.js';

const SLOT = 2048;

/** Lays datagrams out as a batched UDP socket's rx area: slots of a SharedArrayBuffer, records of the sender. */
function region(datagrams: { data: Uint8Array; from: Int32Array }[]) {
  const data = new Uint8Array(new SharedArrayBuffer(datagrams.length * SLOT));
  const offs = new Int32Array(datagrams.length);
  const lens = new Int32Array(datagrams.length);
  const addrs = new Int32Array(datagrams.length * ENDPOINT_WORDS);
  datagrams.forEach((d, i) => {
    offs[i] = i * SLOT + 64;
    lens[i] = d.data.length;
    data.set(d.data, offs[i]!);
    addrs.set(d.from, i * ENDPOINT_WORDS);
  });
  return { data, offs, lens, addrs, count: datagrams.length };
}

test('receiveBatch: one openBatch per run of a keypair, replay after authentication, handshakes in order', (t) => {
  const net = makeNet();
  const { a, b, link } = net;
  a.send(ping('10.0.0.1', '10.0.0.2', 1));
  link.pump();
  t.is(net.bInbox.length, 1);
  // Hold A's next 10 packets (and a keepalive), then hand them to B as one batch with extras.
  link.filter = () => false;
  for (let i = 2; i <= 11; i++) a.send(ping('10.0.0.1', '10.0.0.2', i, i * 10));
  const held = sent(net, A_ADDR, 4).slice(-10);
  const init = sent(net, A_ADDR, 1)[0]!;
  link.filter = null;
  link.queue.length = 0;
  const forged = { data: Uint8Array.from(held[0]!.data), from: held[0]!.from };
  forged.data[20]! ^= 1;
  forged.data[8] = 200; // a fresh counter: it reaches the AEAD and fails there
  const batch = region([
    held[3]!, held[1]!, forged, held[0]!, held[1]!, // out of order, a forged one, a duplicate
    init, // an old initiation in the middle: a handshake replay, processed in order
    ...held.slice(4),
    held[2]!,
  ]);
  b.receiveBatch(batch.data, batch.offs, batch.lens, batch.addrs, batch.count);
  t.deepEqual(net.bInbox.slice(1).map((p) => p[27]), [5, 3, 2, 6, 7, 8, 9, 10, 11, 4]);
  t.deepEqual(net.bInbox[2], ping('10.0.0.1', '10.0.0.2', 3, 30), 'delivered without the padding');
  t.is(b.drops.of(WgDrop.AuthFailed), 1);
  t.is(b.drops.of(WgDrop.Replay), 1);
  t.is(b.drops.of(WgDrop.HandshakeReplay), 1);
  // The delivered views are of the batch region, in place.
  t.is(b.show().peers[0]!.rxBytes, 148 + 128 + held.reduce((s, d) => s + d.data.length, 0), 'forged, duplicate and replayed messages are not counted');
});

test('receiveBatch: counts bad entries, keeps going, and delivers through per-entry views', (t) => {
  const net = makeNet();
  net.a.send(ping('10.0.0.1', '10.0.0.2', 1));
  net.link.pump();
  net.link.filter = () => false;
  net.a.send(ping('10.0.0.1', '10.0.0.2', 2));
  const good = sent(net, A_ADDR, 4).at(-1)!;
  const short = { data: good.data.subarray(0, 31), from: good.from };
  const unknown = { data: Uint8Array.from(good.data), from: good.from };
  unknown.data[4]! ^= 0xff;
  const r = region([short, unknown, { data: Uint8Array.of(9, 0, 0, 0), from: good.from }, good]);
  const seen: Uint8Array[] = [];
  net.b.setHandler((p) => seen.push(p));
  net.b.receiveBatch(r.data, r.offs, r.lens, r.addrs, r.count);
  t.is(seen.length, 1);
  t.is(seen[0]!.buffer, r.data.buffer, 'a view of the region, not a copy');
  t.is(seen[0]![27], 2);
  t.is(net.b.drops.of(WgDrop.BadLength), 1);
  t.is(net.b.drops.of(WgDrop.UnknownIndex), 1);
  t.is(net.b.drops.of(WgDrop.BadType), 1);
});
