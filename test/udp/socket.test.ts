import test, { type ExecutionContext } from 'ava';
import { readdirSync } from 'node:fs';
import { RingConsumer, RingProducer, createRing } from '../../rings/index.js';
import { ClosedError, PktError, PktRangeError, PktTypeError } from '../../src/errors.js';
import { ADDR_WORDS, UdpEndpoint, UdpSocket, type UdpAddrView, type UdpSocketOptions } from '../../src/udp/index.js';

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function open(t: ExecutionContext, opts: UdpSocketOptions): UdpSocket {
  const s = UdpSocket.open(opts);
  t.teardown(() => s.close());
  return s;
}

interface Got {
  data: Uint8Array[];
  from: string[];
}

/** Receives until `n` datagrams arrived (waiting in poll(2) up to 2 s each time). */
function recvN(s: UdpSocket, n: number): Got {
  const got: Got = { data: [], from: [] };
  const handler = (d: Uint8Array, from: UdpAddrView): void => {
    got.data.push(d.slice());
    got.from.push(from.toString());
  };
  const deadline = performance.now() + 5000;
  while (got.data.length < n && performance.now() < deadline) {
    if (s.recv(handler) === 0) s.wait(200);
  }
  return got;
}

function datagram(len: number, tag: number): Uint8Array {
  const d = new Uint8Array(len);
  for (let i = 0; i < len; i++) d[i] = (tag + i) & 0xff;
  return d;
}

for (const [family, host] of [
  [4, '127.0.0.1'],
  [6, '[::1]'],
] as const) {
  test(`IPv${family}: a batch goes out in one flush and arrives whole, each datagram with its peer`, (t) => {
    const a = open(t, { bind: `${host}:0` });
    const b = open(t, { bind: `${host}:0` });
    const to = b.localAddress;
    for (let i = 0; i < 20; i++) t.true(a.send(datagram(100 + i, i), to));
    t.is(a.pending, 20);
    t.is(a.flush(), 20);
    t.is(a.pending, 0);
    const got = recvN(b, 20);
    t.is(got.data.length, 20);
    for (let i = 0; i < 20; i++) t.deepEqual(got.data[i], datagram(100 + i, i));
    t.true(got.from.every((f) => f === a.localAddress.toString()));
    t.is(a.stats().txDatagrams, 20);
    t.is(b.stats().rxDatagrams, 20);
  });
}

test('a dual-stack IPv6 socket reports IPv4 peers as IPv4 and answers them through the same record', (t) => {
  const server = open(t, { bind: '[::]:0' });
  const client = open(t, { bind: '127.0.0.1:0' });
  client.send(datagram(64, 1), UdpEndpoint.of('127.0.0.1', server.localAddress.port));
  client.flush();
  let peer = '';
  const deadline = performance.now() + 2000;
  while (peer === '' && performance.now() < deadline) {
    server.recv((d, from) => {
      peer = from.toString();
      t.is(from.family, 4);
      t.true(server.send(d, from), 'echoed to the view of the peer');
    });
    if (peer === '') server.wait(100);
  }
  t.is(peer, client.localAddress.toString());
  server.flush();
  const back = recvN(client, 1);
  t.deepEqual(back.data[0], datagram(64, 1));
  t.is(back.from[0], `127.0.0.1:${server.localAddress.port}`);
});

test('GSO joins equal datagrams to one peer into one message; GRO hands them up as one entry, split here', (t) => {
  const rx = open(t, { bind: '127.0.0.1:0', gro: true });
  const tx = open(t, { bind: '127.0.0.1:0' });
  const off = tx.offloads();
  t.true(off.gsoSupported && off.gso, 'kernel 4.18+ has UDP GSO');
  t.true(rx.offloads().gro, 'kernel 5.0+ has UDP GRO');
  const to = rx.localAddress;
  for (let i = 0; i < 10; i++) tx.send(datagram(1000, i), to);
  tx.send(datagram(300, 99), to); // a shorter last segment still joins the run
  tx.send(datagram(1000, 7), to); // after a short one: a new message
  tx.flush();
  t.is(tx.stats().txDatagrams, 12);
  t.is(tx.stats().txMessages, 2);
  const got = recvN(rx, 12);
  t.is(got.data.length, 12);
  for (let i = 0; i < 10; i++) t.deepEqual(got.data[i], datagram(1000, i));
  t.deepEqual(got.data[10], datagram(300, 99));
  t.deepEqual(got.data[11], datagram(1000, 7));
  t.is(rx.stats().rxMessages, 2, 'two coalesced entries');
  t.is(rx.stats().rxDatagrams, 12);

  t.false(tx.setGso(false));
  for (let i = 0; i < 5; i++) tx.send(datagram(1000, i), to);
  tx.flush();
  t.is(tx.stats().txMessages, 2 + 5, 'without GSO: a message per datagram');
  t.is(recvN(rx, 5).data.length, 5);
});

test('a datagram larger than the receive slot is lost and counted, never thrown; the next one arrives', (t) => {
  const rx = open(t, { bind: '127.0.0.1:0', rxSlotSize: 512 });
  const tx = open(t, { bind: '127.0.0.1:0' });
  tx.send(datagram(1000, 1), rx.localAddress);
  tx.send(datagram(200, 2), rx.localAddress);
  tx.flush();
  const got = recvN(rx, 1);
  t.is(got.data.length, 1);
  t.deepEqual(got.data[0], datagram(200, 2));
  t.is(rx.stats().rxTruncated, 1);
});

test('traffic errors are counted per datagram: refused ports, unreachable families, oversize', (t) => {
  // A port nobody listens on: the ICMP port unreachable comes back as ECONNREFUSED on the
  // connected socket's next call.
  const dead = UdpSocket.open({ bind: '127.0.0.1:0' });
  const deadPort = dead.localAddress.port;
  dead.close();
  const s = open(t, { bind: '127.0.0.1:0', connect: `127.0.0.1:${deadPort}` });
  s.send(datagram(10, 0));
  t.is(s.flush(), 1);
  const before = s.stats();
  t.notThrows(() => {
    s.recv(() => t.fail('nothing arrives'));
    s.send(datagram(10, 0));
    s.flush();
  });
  const after = s.stats();
  t.is(after.rxErrors + after.txErrors - before.rxErrors - before.txErrors, 1, 'one ECONNREFUSED, counted once');
  t.is(after.lastErrno, 111);

  const v4 = open(t, { bind: '127.0.0.1:0' });
  v4.send(datagram(10, 0), UdpEndpoint.parse('[::1]:9'));
  t.is(v4.flush(), 1, 'done: dropped, not left queued');
  t.is(v4.stats().txBadAddress, 1);
  t.false(v4.send(new Uint8Array(4000), UdpEndpoint.parse('127.0.0.1:9')), 'larger than a tx slot');
  t.is(v4.stats().txDropTooBig, 1);
});

test('datagrams can be received straight into the slots of an SPSC ring and consumed in place', (t) => {
  const ring = createRing({ slots: 8, slotSize: 2048, headroom: 64 });
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  const offs = new Int32Array(8);
  for (let i = 0; i < 8; i++) offs[i] = producer.slotOffset(i) + 64;
  const rx = open(t, { bind: '127.0.0.1:0', rxSlotSize: 2048 - 64, rxBuffers: { data: producer.data, offs, lens: new Int32Array(8), addrs: new Int32Array(8 * ADDR_WORDS) } });
  const tx = open(t, { bind: '127.0.0.1:0' });
  for (let i = 0; i < 5; i++) tx.send(datagram(500 + i, i), rx.localAddress);
  tx.flush();
  rx.wait(2000);
  let n = 0;
  for (let tries = 0; n < 5 && tries < 50; tries++) {
    const k = rx.recvEntries(8 - n);
    // Entries are the ring's slots from the current head on: commit them in order.
    for (let e = 0; e < k; e++) {
      t.is(producer.reserve(), e + n);
      producer.commit(64, rx.rx.lens[e]!);
    }
    n += k;
    if (k === 0) rx.wait(100);
    // The next call fills from entry 0 again: point the entries at the slots after those used.
    for (let i = 0; i < 8; i++) offs[i] = producer.slotOffset((n + i) & 7) + 64;
  }
  producer.publish();
  const seen: Uint8Array[] = [];
  consumer.poll((f) => seen.push(f.slice()));
  t.is(seen.length, 5);
  for (let i = 0; i < 5; i++) t.deepEqual(seen[i], datagram(500 + i, i));
});

test('sends queued in one synchronous run leave together at its end (a microtask), and a full queue flushes itself', async (t) => {
  const rx = open(t, { bind: '127.0.0.1:0' });
  const tx = open(t, { bind: '127.0.0.1:0', txEntries: 4 });
  for (let i = 0; i < 10; i++) t.true(tx.send(datagram(50, i), rx.localAddress));
  t.true(tx.stats().txCalls >= 2, 'the 4-entry queue flushed when full');
  await Promise.resolve();
  t.is(tx.pending, 0, 'the rest left at the end of the run');
  const got = recvN(rx, 10);
  t.is(got.data.length, 10);
  for (let i = 0; i < 10; i++) t.deepEqual(got.data[i], datagram(50, i));
});

test('start() receives on the main thread through the async wait; close() stops it and resolves', async (t) => {
  const rx = UdpSocket.open({ bind: '127.0.0.1:0' });
  const tx = open(t, { bind: '127.0.0.1:0' });
  const got: number[] = [];
  let resolveAll: () => void = () => {};
  const all = new Promise<void>((r) => (resolveAll = r));
  const loop = rx.start((d) => {
    got.push(d[0]!);
    if (got.length === 30) resolveAll();
  });
  t.throws(() => rx.start(() => {}), { instanceOf: PktError, message: /already started/ });
  for (let i = 0; i < 30; i++) tx.send(datagram(20, i), rx.localAddress);
  await all;
  t.deepEqual(got, Array.from({ length: 30 }, (_, i) => i));
  const closed = rx.close();
  t.true(closed instanceof Promise);
  await closed;
  await loop;
  t.is(rx.fd, -1);
  t.is(rx.close(), closed, 'idempotent');
});

test('options and misuse get typed errors', (t) => {
  t.throws(() => UdpSocket.open({ family: 5 as 4 }), { instanceOf: PktTypeError });
  t.throws(() => UdpSocket.open({ bind: 'nonsense' }), { instanceOf: PktTypeError, message: /UDP endpoint/ });
  t.throws(() => UdpSocket.open({ family: 4, bind: '[::1]:0' }), { instanceOf: PktTypeError });
  t.throws(() => UdpSocket.open({ bind: '127.0.0.1:0', connect: '[::1]:5' }), { instanceOf: PktTypeError });
  t.throws(() => UdpSocket.open({ rxEntries: 0 }), { instanceOf: PktRangeError });
  t.throws(() => UdpSocket.open({ rxSlotSize: 70000 }), { instanceOf: PktRangeError });
  t.throws(() => UdpSocket.open({ recvBufferSize: 10 }), { instanceOf: PktRangeError });
  t.throws(() => UdpSocket.open({ gro: 'yes' as unknown as boolean }), { instanceOf: PktTypeError });
  t.throws(() => UdpSocket.open({ rxBuffers: { data: new Uint8Array(100), offs: new Int32Array([0, 50]), lens: new Int32Array(2), addrs: new Int32Array(16) } }), {
    instanceOf: PktTypeError,
    message: /outside/,
  });
  t.throws(() => UdpSocket.open({ txBuffers: { data: new Uint8Array(4096), offs: new Int32Array(2), lens: new Int32Array(1), addrs: new Int32Array(16) } }), { instanceOf: PktTypeError });
  const a = open(t, { bind: '127.0.0.1:0' });
  const inUse = t.throws(() => UdpSocket.open({ bind: a.localAddress }), { instanceOf: PktError });
  t.is(inUse?.code, 'ERR_PKT_IO');
  t.regex(inUse?.message ?? '', /in use/);
  const b = UdpSocket.open({ bind: '127.0.0.1:0', reusePort: true });
  const c = UdpSocket.open({ bind: b.localAddress, reusePort: true });
  const shared = b.localAddress;
  t.is(c.localAddress.port, shared.port, 'SO_REUSEPORT shares the port');
  b.close();
  c.close();
  t.throws(() => c.recv(() => {}), { instanceOf: ClosedError });
  t.throws(() => c.wait(0), { instanceOf: ClosedError });
  t.throws(() => c.localAddress, { instanceOf: ClosedError });
  t.false(c.send(new Uint8Array(1), shared), 'send on a closed socket drops, counted');
  t.is(c.stats().txDropClosed, 1);
});

// Serial: AVA runs serial tests before the concurrent ones, so no other test holds descriptors.
test.serial('closing leaves no descriptor behind', async (t) => {
  const before = fdCount();
  const socks: UdpSocket[] = [];
  for (let i = 0; i < 10; i++) socks.push(UdpSocket.open({ bind: i % 2 === 0 ? '127.0.0.1:0' : '[::1]:0', gro: i % 3 === 0 }));
  const started = UdpSocket.open({ bind: '127.0.0.1:0' });
  const loop = started.start(() => {});
  t.true(fdCount() >= before + 12, 'sockets and the loop eventfd are open');
  for (const s of socks) s.close();
  await started.close();
  await loop;
  t.throws(() => UdpSocket.open({ bind: '127.0.0.1:1', connect: '[::1]:1' }), { instanceOf: PktTypeError }, 'refused before any descriptor');
  t.is(fdCount(), before);
});
