/**
 * Client as an L3Device: two Clients back to back (TCP both ways over IPv4 and IPv6, listen with
 * for-await, back-pressure, dial by name, refused, timeout, abort), a Client against a bare
 * TcpStack and through an L3Hub, ICMP echo v4/v6, UDP sockets (demux, bounded table and queue),
 * addresses (setAddr, watchAddr, what is not for us), 1000 concurrent dials, and close leaving
 * no timer.
 */
import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import { connectL3 } from '../../src/core/connect.js';
import { L3Hub } from '../../src/core/l3-hub.js';
import { PipeL3 } from '../../src/core/pipe.js';
import { Client, splitHostPort } from '../../src/vclient/client.js';
import type { VConn } from '../../src/vclient/socket-shape.js';
import type { Conn } from '../../src/vtcp/conn.js';
import { TcpStack } from '../../src/vtcp/stack.js';
import { parseIPv4 } from '../../src/wire/addr.js';
import { Icmpv6Type, emitIcmpv6, newIcmpv6Fields } from '../../src/wire/icmpv6.js';
import { IpProto } from '../../src/wire/ipv4.js';
import { emitIpv6, newIpv6Fields } from '../../src/wire/ipv6.js';
import { echoReplySeq, echoRequest } from '../helpers/icmp-echo.js';
import { collect, pattern, pump, pumpFor, sha256, writeAll } from '../vtcp/stack/helpers.js';
import { clientPair, dnsStub } from './helpers.js';

for (const family of [4, 6] as const) {
  test(`two Clients: 256 KiB each way byte-exact over IPv${family}, accepted by for-await`, async (t) => {
    const clock = new ManualClock(1000);
    const { a, b, close } = clientPair({ tcp: { conn: { allowHalfOpen: true } } }, clock);
    const server = b.listen(8080);
    const up = pattern(256 * 1024, 1);
    const down = pattern(256 * 1024, 2);
    let serverGot: Buffer | null = null;
    void (async () => {
      for await (const c of server) {
        const got = collect(c);
        c.on('end', () => (serverGot = got.bytes()));
        void writeAll(c, down);
      }
    })();
    const conn = await pumpFor(clock, a.dial('tcp', family === 4 ? '10.0.0.2:8080' : '[fd00::2]:8080'));
    t.is(conn.remoteAddress, family === 4 ? '10.0.0.2' : 'fd00::2');
    t.is(conn.remotePort, 8080);
    t.is(conn.remoteFamily, family === 4 ? 'IPv4' : 'IPv6');
    t.deepEqual(conn.address(), { address: family === 4 ? '10.0.0.1' : 'fd00::1', family: family === 4 ? 'IPv4' : 'IPv6', port: conn.localPort });
    t.false(conn.connecting);
    t.is(conn.setNoDelay(true), conn);
    t.is(conn.setKeepAlive(true, 1000), conn);
    t.is(conn.ref().unref(), conn);
    const clientGot = collect(conn);
    void writeAll(conn, up);
    t.true(await pump(clock, () => serverGot !== null && clientGot.ended, 120_000));
    t.is(sha256(serverGot!), sha256(up));
    t.is(sha256(clientGot.bytes()), sha256(down));
    close();
    t.is(clock.pending, 0, 'close leaves no timer');
  });
}

test('a slow reader causes back-pressure, not unbounded buffering', async (t) => {
  const clock = new ManualClock(1000);
  const { a, b, close } = clientPair({}, clock);
  const server = b.listen(9000);
  const accepted = server.accept();
  const conn = await pumpFor(clock, a.dial('tcp', '10.0.0.2:9000'));
  const peer = (await pumpFor(clock, accepted))!;
  peer.pause();
  const chunk = Buffer.alloc(16 * 1024, 7);
  let taken = 0;
  let stop = false;
  let limit = Infinity;
  // A writer with no bound on a zero-latency link would keep the microtask queue busy forever
  // once the reader resumes (every drain comes back before the event loop turns): cap it.
  const writeMore = (): void => {
    while (!stop && taken < limit) {
      taken += chunk.length;
      if (!conn.write(chunk)) break;
    }
  };
  conn.on('drain', writeMore);
  writeMore();
  await pump(clock, () => false, 3000);
  const whilePaused = taken;
  t.true(whilePaused < 8 * 1024 * 1024, `${whilePaused} bytes taken while the reader is paused`);
  await pump(clock, () => false, 3000);
  t.is(taken, whilePaused, 'nothing more is taken while the reader stays paused');
  const held = peer.readableLength + (peer as Conn).tcb.readable;
  t.true(held <= whilePaused);
  let got = 0;
  limit = whilePaused + 4 * 1024 * 1024;
  peer.on('data', (d: Buffer) => (got += d.length));
  peer.resume();
  const went = await pump(clock, () => got > whilePaused + 2 * 1024 * 1024, 60_000);
  if (!went) t.log(`got ${got} taken ${taken} whilePaused ${whilePaused} flowing ${peer.readableFlowing} tcbReadable ${(peer as Conn).tcb.readable} writableLength ${conn.writableLength} ${JSON.stringify(conn.tcb.stats())}`);
  t.true(went, 'the writer goes on once the reader resumes');
  stop = true;
  close();
});

test('dial by name through the Client resolver; refused, timed out and aborted dials', async (t) => {
  const clock = new ManualClock(1000);
  const { a, b, close } = clientPair({}, clock);
  dnsStub(b, { 'srv.test': { a: ['10.0.0.2'], aaaa: ['fd00::2'] } });
  b.listen(80);
  const c = await pumpFor(clock, a.dial('tcp', 'srv.test:80'));
  t.is(c.remoteAddress, '10.0.0.2', 'IPv4 first');
  const c6 = await pumpFor(clock, a.dial('tcp6', 'srv.test:80'));
  t.is(c6.remoteAddress, 'fd00::2');
  await t.throwsAsync(pumpFor(clock, a.dial('tcp', '10.0.0.2:81')), { code: 'ECONNREFUSED' });
  await t.throwsAsync(pumpFor(clock, a.dial('tcp', 'missing.test:80')), { code: 'ENOTFOUND' });
  // Nobody at 10.0.0.3: the SYN goes to b, which drops it (not its address).
  await t.throwsAsync(pumpFor(clock, a.dial('tcp', '10.0.0.3:80', { timeoutMs: 500 })), { code: 'ETIMEDOUT' });
  const ac = new AbortController();
  const p = a.dial('tcp', '10.0.0.3:80', { signal: ac.signal });
  ac.abort(new Error('gave up'));
  await t.throwsAsync(p, { message: 'gave up' });
  await t.throwsAsync(a.dial('udp' as 'tcp', '10.0.0.2:80'), { instanceOf: TypeError });
  t.throws(() => splitHostPort('10.0.0.2'), { code: 'ERR_PKT_INVALID_ADDRESS' });
  t.throws(() => splitHostPort('fd00::1:80'), { code: 'ERR_PKT_INVALID_ADDRESS' });
  t.deepEqual(splitHostPort('[fd00::1]:80'), { host: 'fd00::1', port: 80 });
  close();
  t.is(clock.pending, 0);
});

test('a Client dials a bare TcpStack on a pipe, and the stack dials the Client', async (t) => {
  const clock = new ManualClock(1000);
  const client = new Client({ addr: '10.0.0.1/24', clock });
  const pipe = new PipeL3('10.0.0.2/24');
  const stack = new TcpStack(pipe, { clock, addrs: ['10.0.0.2'] });
  // The stack sends into the pipe (onSend): that is the network's input to the Client; what the
  // Client produces is what the pipe injects into the stack.
  pipe.onSend = (p) => client.send(p);
  client.setHandler((p) => pipe.inject(p));
  stack.listen(7).on('connection', (c: Conn) => c.pipe(c));
  const conn = await pumpFor(clock, client.dial('tcp', '10.0.0.2:7'));
  const got = collect(conn);
  conn.end('hello stack');
  t.true(await pump(clock, () => got.ended));
  t.is(got.bytes().toString(), 'hello stack');
  const server = client.listen(8);
  server.on('connection', (c: Conn) => c.end('from client'));
  const back = await pumpFor(clock, stack.dial('10.0.0.1', 8));
  const got2 = collect(back);
  t.true(await pump(clock, () => got2.ended));
  t.is(got2.bytes().toString(), 'from client');
  client.close();
  stack.close();
  t.is(clock.pending, 0);
});

test('Clients on an L3Hub reach each other; the hub follows setAddr', async (t) => {
  const clock = new ManualClock(1000);
  const hub = new L3Hub();
  const a = new Client({ addr: '10.1.0.1/24', clock });
  const b = new Client({ clock });
  hub.connect(a);
  hub.connect(b);
  const seen: (string | null)[] = [];
  b.watchAddr((p) => seen.push(p === null ? null : p.toString()));
  b.setAddr('10.1.0.2/24');
  t.deepEqual(seen, ['10.1.0.2/24']);
  b.listen(80).on('connection', (c: Conn) => c.end('hub ok'));
  const conn = await pumpFor(clock, a.dial('tcp', '10.1.0.2:80'));
  const got = collect(conn);
  t.true(await pump(clock, () => got.ended));
  t.is(got.bytes().toString(), 'hub ok');
  a.close();
  b.close();
  hub.close();
});

test('ICMP echo is answered for our IPv4 and IPv6 addresses only', (t) => {
  const c = new Client({ addr: '10.0.0.1/24', addr6: 'fd00::1/64' });
  const out: Uint8Array[] = [];
  c.setHandler((p) => out.push(p.slice()));
  c.send(echoRequest(parseIPv4('10.0.0.9'), parseIPv4('10.0.0.1'), 0x1234, 7, 100));
  t.is(out.length, 1);
  t.is(echoReplySeq(out[0]!, parseIPv4('10.0.0.1'), 0x1234), 7);
  t.is(out[0]!.length, 20 + 8 + 100);
  c.send(echoRequest(parseIPv4('10.0.0.9'), parseIPv4('10.0.0.3'), 0x1234, 8));
  t.is(out.length, 1, 'not for us');
  // IPv6
  const p6 = new Uint8Array(40 + 8 + 16);
  const ip = newIpv6Fields();
  ip.src.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
  ip.dst.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  ip.nextHeader = IpProto.ICMPv6;
  ip.payloadLen = 24;
  emitIpv6(ip, p6, 0);
  const icmp = newIcmpv6Fields();
  icmp.type = Icmpv6Type.EchoRequest;
  icmp.ident = 5;
  icmp.seq = 9;
  icmp.payloadLen = 16;
  p6.fill(0x42, 48);
  emitIcmpv6(icmp, p6, 40, p6, 8, 24);
  c.send(p6);
  t.is(out.length, 2);
  const r = out[1]!;
  t.is(r[40], Icmpv6Type.EchoReply);
  t.deepEqual([...r.subarray(24, 40)], [...ip.src], 'sent back to the requester');
  t.deepEqual([...r.subarray(44, 64)], [...p6.subarray(44, 64)], 'same ident, seq and data');
  t.is(c.stats().echoReplies, 2);
  c.close();
});

test('UDP: send and receive over IPv4 and IPv6, demultiplexed by port, dgram-shaped', async (t) => {
  const { a, b, close } = clientPair();
  const server = b.createSocket('udp4');
  server.bind(5000);
  server.on('message', (msg: Buffer, rinfo) => server.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address));
  const sock = a.udp();
  const got: [string, string][] = [];
  sock.on('message', (m: Buffer, r) => got.push([m.toString(), `${r.address}:${r.port}:${r.family}`]));
  sock.send('one', 5000, '10.0.0.2');
  sock.send('two', 5000, 'fd00::2');
  await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(got, [
    ['echo:one', '10.0.0.2:5000:IPv4'],
    ['echo:two', 'fd00::2:5000:IPv6'],
  ]);
  t.is(a.stats().udpIn, 2);
  t.true(sock.address().port >= 49152);
  sock.send('nobody', 5001, '10.0.0.2');
  await new Promise((r) => setTimeout(r, 5));
  t.is(b.stats().drops.udpNoSocket, 1);
  t.is(b.stats().unreachSent, 1, 'RFC 1122 §4.1.3.1: ICMP Port Unreachable');
  t.is(a.stats().drops.icmpIgnored, 1, 'the Client takes ICMP errors in and ignores them');
  t.throws(() => b.udp().bind(5000), { code: 'ERR_PKT_CONFIG' });
  const big = Buffer.alloc(1500);
  await t.throwsAsync(new Promise((res, rej) => sock.send(big, 5000, '10.0.0.2', (e) => (e ? rej(e) : res(null)))), { code: 'ERR_PKT_OUT_OF_RANGE' });
  sock.close();
  close();
});

test('UDP: the socket table and each receive queue are bounded', async (t) => {
  const { a, b, close } = clientPair({ maxUdpSockets: 4 });
  const tx = a.udp().bind(100);
  for (let i = 1; i < 4; i++) a.udp().bind(100 + i);
  t.throws(() => a.udp().bind(200), { code: 'ERR_PKT_LIMIT' });
  const rx = b.udp({ maxQueued: 8 }).bind(7000);
  let n = 0;
  rx.on('message', () => n++);
  for (let i = 0; i < 20; i++) tx.send(`m${i}`, 7000, '10.0.0.2');
  await new Promise((r) => setTimeout(r, 10));
  t.is(n, 8);
  t.is(rx.drops, 12);
  t.is(b.stats().drops.udpQueueFull, 12);
  tx.send('again', 7000, '10.0.0.2');
  await new Promise((r) => setTimeout(r, 10));
  t.is(n, 9, 'room again once delivered');
  close();
});

test('packets not for us are counted and dropped; setAddr(null) removes the address', (t) => {
  const c = new Client({ addr: '10.0.0.1/24' });
  c.setHandler(() => {});
  c.send(echoRequest(parseIPv4('10.0.0.9'), parseIPv4('10.0.0.77'), 1, 1));
  t.is(c.stats().drops.notForUs, 1);
  c.send(new Uint8Array([0x45, 0]));
  t.is(c.stats().drops.truncated, 1);
  c.send(new Uint8Array([0x70, 0, 0, 0]));
  t.is(c.stats().drops.badHeader, 1);
  t.is(c.addr!.toString(), '10.0.0.1/24');
  c.setAddr('fd00::1/64');
  t.is(c.addr!.toString(), '10.0.0.1/24', 'IPv4 reported first');
  t.is(c.addr6!.toString(), 'fd00::1/64');
  c.setAddr(null);
  t.is(c.addr!.toString(), 'fd00::1/64');
  c.setAddr('::ffff:10.0.0.8/120');
  t.is(c.addr4!.toString(), '10.0.0.8/24');
  c.close();
  c.send(new Uint8Array(40));
  t.is(c.stats().drops.closed, 1);
});

test('1000 concurrent dials complete', async (t) => {
  const clock = new ManualClock(1000);
  const { a, b, close } = clientPair({}, clock);
  const server = b.listen(443, { acceptQueue: 2000, backlog: 2000 });
  let accepted = 0;
  server.on('connection', (c: Conn) => {
    accepted++;
    c.end('x');
  });
  const conns = await pumpFor(clock, Promise.all(Array.from({ length: 1000 }, () => a.dial('tcp', '10.0.0.2:443'))));
  t.is(conns.length, 1000);
  t.is(new Set(conns.map((c: VConn) => c.localPort)).size, 1000);
  t.true(await pump(clock, () => accepted === 1000));
  close();
  t.is(clock.pending, 0);
});

test('close releases the stack, sockets and timers; dial after close rejects', async (t) => {
  const clock = new ManualClock(1000);
  const { a, b, close } = clientPair({}, clock);
  b.listen(80);
  const conn = await pumpFor(clock, a.dial('tcp', '10.0.0.2:80'));
  conn.setTimeout(5000);
  a.udp().bind(1234);
  close();
  t.is(clock.pending, 0);
  t.is(a.stats().udpSockets, 0);
  await t.throwsAsync(a.dial('tcp', '10.0.0.2:80'), { code: 'ERR_PKT_CLOSED' });
  t.throws(() => a.udp(), { code: 'ERR_PKT_CLOSED' });
  t.true(a.tcp.isClosed);
  void connectL3;
});

test('with the system clock, open connections, listeners and sockets hold the event loop', async (t) => {
  const { a, b, close } = clientPair();
  t.false(a.holdsEventLoop);
  const srv = b.listen(80);
  t.true(b.holdsEventLoop, 'a listener');
  const conn = await a.dial('tcp', '10.0.0.2:80');
  t.true(a.holdsEventLoop, 'a connection');
  const peer = (await srv.accept())!;
  srv.close();
  t.true(b.holdsEventLoop, 'the accepted connection');
  conn.end();
  peer.end();
  conn.resume();
  peer.resume();
  await new Promise((r) => conn.once('close', r));
  if (!peer.destroyed) await new Promise((r) => peer.once('close', r));
  t.false(a.holdsEventLoop);
  t.false(b.holdsEventLoop);
  const u = a.udp().bind(0);
  t.true(a.holdsEventLoop, 'a bound UDP socket');
  u.close();
  t.false(a.holdsEventLoop);
  const c = new Client({ addr: '10.0.0.9/24', clock: new ManualClock(0) });
  c.listen(1);
  t.false(c.holdsEventLoop, 'not with an injected clock');
  c.close();
  close();
});

test('UDP connect filters the peer; the socket is async-iterable', async (t) => {
  const { a, b, close } = clientPair();
  const rx = b.udp().bind(6000);
  const other = a.udp().bind(6001);
  const tx = a.udp().bind(6002);
  rx.connect(6002, '10.0.0.1');
  other.send('not you', 6000, '10.0.0.2');
  tx.send('you', 6000, '10.0.0.2');
  const it = rx[Symbol.asyncIterator]();
  const first = await it.next();
  t.is((first.value as [Buffer, unknown])[0].toString(), 'you');
  rx.send('reply'); // connected: no destination needed
  const back = await new Promise<string>((r) => tx.once('message', (m: Buffer) => r(m.toString())));
  t.is(back, 'reply');
  rx.close();
  t.true((await it.next()).done);
  close();
});

test('Port Unreachable: quotes the datagram, IPv4 and IPv6, rate-limited, never for broadcasts', (t) => {
  const clock = new ManualClock(0);
  const c = new Client({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', clock });
  const out: Uint8Array[] = [];
  c.setHandler((p) => out.push(p.slice()));
  const src = new Client({ addr: '10.0.0.9/24', addr6: 'fd00::9/64', clock });
  const sent: Uint8Array[] = [];
  src.setHandler((p) => sent.push(p.slice()));
  const tx = src.udp().bind(4000);
  tx.send(Buffer.alloc(1000, 1), 99, '10.0.0.1');
  tx.send(Buffer.alloc(1400, 2), 99, 'fd00::1');
  for (const p of sent) c.send(p);
  t.is(out.length, 2);
  const r4 = out[0]!;
  t.is(r4[9], IpProto.ICMP);
  t.is(r4[20], 3);
  t.is(r4[21], 3);
  t.is(r4.length, 576, 'at most 576 bytes');
  t.deepEqual([...r4.subarray(28, 48)], [...sent[0]!.subarray(0, 20)], 'quotes the IP header');
  const r6 = out[1]!;
  t.is(r6[6], IpProto.ICMPv6);
  t.is(r6[40], 1);
  t.is(r6[41], 4);
  t.is(r6.length, 1280, 'at most the IPv6 minimum MTU');
  // Broadcast: no answer.
  sent.length = 0;
  out.length = 0;
  tx.send('x', 99, '10.0.0.255');
  for (const p of sent) c.send(p);
  t.is(out.length, 0);
  // At most 100 a second.
  clock.advance(1000);
  sent.length = 0;
  for (let i = 0; i < 150; i++) tx.send('y', 99, '10.0.0.1');
  for (const p of sent) c.send(p);
  t.is(out.length, 100);
  clock.advance(1000);
  c.send(sent[0]!);
  t.is(out.length, 101);
  c.close();
  src.close();
});

test('local ports follow RFC 6056 Algorithm 4: sequential flows never land on the peer’s TIME-WAIT', async (t) => {
  const clock = new ManualClock(1000);
  const { a, b, close } = clientPair({}, clock);
  // The server closes first, so each connection leaves a TIME-WAIT entry on b.
  b.listen(80).on('connection', (c: Conn) => {
    c.on('error', () => {});
    c.end('k');
  });
  const start = clock.now();
  const ports: number[] = [];
  for (let i = 0; i < 400; i++) {
    const c = await pumpFor(clock, a.dial('tcp', '10.0.0.2:80'));
    ports.push(c.localPort);
    c.resume();
    await pumpFor(clock, new Promise((r) => c.once('end', r)));
    c.destroy();
  }
  const took = clock.now() - start;
  t.true(took < 2000, `400 flows took ${took} simulated ms (a SYN onto TIME-WAIT costs a 1 s retransmission)`);
  t.is(new Set(ports).size, 400, 'no port reused within the range');
  t.true(b.tcp.connectionCount >= 300, 'the TIME-WAIT entries were there to hit');
  close();
});
