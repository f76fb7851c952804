/**
 * TcpStack over PipeL3s: two stacks in one thread, ManualClock time. Dial, listen, 1 MB each way
 * byte-exact over IPv4 and IPv6, RST for a closed port (RFC 9293 §3.10.7.1), checksums and
 * malformed packets dropped by reason, bounded tables, ephemeral ports reused after TIME-WAIT,
 * and close() leaving no timer behind.
 */
import test from 'ava';
import { ManualClock } from '../../../src/core/clock.js';
import { PipeL3 } from '../../../src/core/pipe.js';
import { parseIPv4 } from '../../../src/wire/addr.js';
import { IpProto, Ipv4View, decodeIpv4 } from '../../../src/wire/ipv4.js';
import { decodeIpv6 } from '../../../src/wire/ipv6.js';
import { TCP_FLAG_ACK, TCP_FLAG_RST, TCP_FLAG_SYN, decodeTcp, emitTcp, newTcpFields, tcpEmitLen } from '../../../src/wire/tcp.js';
import { transportChecksumV4 } from '../../../src/wire/checksum.js';
import { emitIpv4, newIpv4Fields } from '../../../src/wire/ipv4.js';
import { setBe16 } from '../../../src/wire/bytes.js';
import { TcpState } from '../../../src/vtcp/contract.js';
import { ConnError, type Conn } from '../../../src/vtcp/conn.js';
import { TcpStack } from '../../../src/vtcp/stack.js';
import { collect, pattern, pump, pumpFor, sha256, stackPair, writeAll } from './helpers.js';

/** A TCP segment in an IPv4 packet, checksums right. */
function segment4(src: string, dst: string, srcPort: number, dstPort: number, flags: number, seq = 1000, ack = 0, payload = new Uint8Array(0)): Uint8Array {
  const f = newTcpFields();
  f.srcPort = srcPort;
  f.dstPort = dstPort;
  f.seq = seq;
  f.ack = ack;
  f.flags = flags;
  f.window = 65535;
  if (flags & TCP_FLAG_SYN) f.mss = 1460;
  const thl = tcpEmitLen(f);
  const p = new Uint8Array(20 + thl + payload.length);
  emitTcp(f, p, 20);
  p.set(payload, 20 + thl);
  const ip = newIpv4Fields();
  ip.src = parseIPv4(src);
  ip.dst = parseIPv4(dst);
  ip.protocol = IpProto.TCP;
  ip.payloadLen = thl + payload.length;
  emitIpv4(ip, p, 0);
  setBe16(p, 36, transportChecksumV4(IpProto.TCP, ip.src, ip.dst, p, 20, thl + payload.length));
  return p;
}

async function transfer(t: import('ava').ExecutionContext, family: 4 | 6): Promise<void> {
  const { clock, a, b } = stackPair({ tcb: { timeWaitMs: 500 }, conn: { allowHalfOpen: true } });
  const server = b.listen(8080);
  const N = 1 << 20;
  const up = pattern(N, 1);
  const down = pattern(N, 2);
  let serverGot: Buffer | null = null;
  server.on('connection', (c: Conn) => {
    const got = collect(c);
    c.on('end', () => {
      serverGot = got.bytes();
    });
    void writeAll(c, down);
  });
  const conn = await pumpFor(clock, a.dial(family === 4 ? '10.0.0.2' : 'fd00::2', 8080));
  t.is(conn.remotePort, 8080);
  t.is(conn.remoteAddress, family === 4 ? '10.0.0.2' : 'fd00::2');
  t.is(conn.localAddress, family === 4 ? '10.0.0.1' : 'fd00::1');
  t.true(conn.localPort >= 49152);
  const clientGot = collect(conn);
  let closed = false;
  conn.on('close', () => (closed = true));
  void writeAll(conn, up);
  t.true(await pump(clock, () => serverGot !== null && clientGot.ended && closed, 120_000), 'both directions ended');
  t.is(sha256(serverGot!), sha256(up), 'client -> server byte-exact');
  const cg = clientGot.bytes();
  if (!cg.equals(down)) {
    let i = 0;
    while (i < cg.length && cg[i] === down[i]) i++;
    t.log(`client got ${cg.length} bytes, first difference at ${i}; chunks ${clientGot.chunks.length}`);
  }
  t.is(sha256(cg), sha256(down), 'server -> client byte-exact');
  const sa = a.stats();
  const sb = b.stats();
  t.is(sa.drops.badTcpChecksum + sb.drops.badTcpChecksum, 0);
  t.is(sa.drops.queueFull + sb.drops.queueFull + sa.drops.tooBig + sb.drops.tooBig, 0);
  t.true(sa.packetsOut > N / 1500);
  // TIME-WAIT ends: the table empties and the ephemeral port is free again.
  t.true(await pump(clock, () => a.connectionCount === 0 && b.connectionCount === 0, 5_000));
  t.is(a.ephemeralPortsInUse, 0);
  a.close();
  b.close();
  t.is(clock.pending, 0, 'no timer left');
}

test('IPv4: dial, accept, 1 MB each way byte-exact, orderly close, TIME-WAIT frees the tuple', (t) => transfer(t, 4));
test('IPv6: dial, accept, 1 MB each way byte-exact, orderly close, TIME-WAIT frees the tuple', (t) => transfer(t, 6));

test('what goes on the wire: IPv4/IPv6 headers and checksums verify, MSS from the MTU, options negotiated', async (t) => {
  const seen: Uint8Array[] = [];
  const { clock, a, b } = stackPair({ mtu: 1400 }, (_dir, p) => {
    seen.push(p.slice());
    return true;
  });
  b.listen(80);
  const c4 = await pumpFor(clock, a.dial('10.0.0.2', 80));
  const c6 = await pumpFor(clock, a.dial('fd00::2', 80));
  void c4;
  void c6;
  const syns = seen.filter((p) => {
    const off = p[0]! >>> 4 === 4 ? 20 : 40;
    return (p[off + 13]! & TCP_FLAG_SYN) !== 0;
  });
  t.is(syns.length, 4, 'SYN and SYN-ACK for each family');
  for (const p of seen) {
    t.true(p.length <= 1400);
    if (p[0]! >>> 4 === 4) {
      const ip = decodeIpv4(p);
      t.is(ip.protocol, IpProto.TCP);
      t.true(new Ipv4View().reset(p).verifyChecksum());
      t.is(transportChecksumV4(IpProto.TCP, ip.src, ip.dst, p, 20, ip.payloadLen), 0);
    } else {
      const ip = decodeIpv6(p);
      t.is(ip.nextHeader, IpProto.TCP);
    }
  }
  const syn4 = decodeTcp(syns[0]!, 20);
  t.is(syn4.mss, 1360);
  t.true(syn4.sackPermitted && syn4.hasTimestamps && syn4.windowScale >= 0);
  const syn6 = decodeTcp(syns[2]!, 40);
  t.is(syn6.mss, 1340);
  a.close();
  b.close();
  t.is(clock.pending, 0);
});

test('a SYN to a closed port gets <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>; an ACK gets <SEQ=SEG.ACK><CTL=RST>; a RST gets nothing', (t) => {
  const clock = new ManualClock();
  const sent: Uint8Array[] = [];
  const pipe = new PipeL3('10.0.0.2/24', (p) => sent.push(p.slice()));
  const s = new TcpStack(pipe, { clock });
  pipe.inject(segment4('10.0.0.1', '10.0.0.2', 40000, 81, TCP_FLAG_SYN, 1000));
  t.is(sent.length, 1);
  const r1 = decodeTcp(sent[0]!, 20);
  t.is(r1.flags, TCP_FLAG_RST | TCP_FLAG_ACK);
  t.is(r1.seq, 0);
  t.is(r1.ack, 1001);
  t.is(r1.srcPort, 81);
  t.is(r1.dstPort, 40000);
  t.is(decodeIpv4(sent[0]!).dst, parseIPv4('10.0.0.1'));
  pipe.inject(segment4('10.0.0.1', '10.0.0.2', 40000, 81, TCP_FLAG_ACK, 1000, 777, new Uint8Array(10)));
  t.is(sent.length, 2);
  const r2 = decodeTcp(sent[1]!, 20);
  t.is(r2.flags, TCP_FLAG_RST);
  t.is(r2.seq, 777);
  pipe.inject(segment4('10.0.0.1', '10.0.0.2', 40000, 81, TCP_FLAG_RST | TCP_FLAG_ACK, 1000, 777));
  t.is(sent.length, 2, 'never a RST for a RST');
  t.is(s.stats().resetsSent, 2);
  t.is(s.stats().drops.noListener, 3);
  s.close();
  t.is(clock.pending, 0);
});

test('dial to a closed port rejects with ECONNREFUSED; the ephemeral port is released', async (t) => {
  const { clock, a, b } = stackPair();
  const err = await t.throwsAsync(pumpFor(clock, a.dial('10.0.0.2', 9)));
  t.true(err instanceof ConnError);
  t.is((err as ConnError).code, 'ECONNREFUSED');
  t.is(a.ephemeralPortsInUse, 0);
  t.is(a.connectionCount, 0);
  a.close();
  b.close();
  t.is(clock.pending, 0);
});

test('dial with a timeout to nobody rejects with ETIMEDOUT and clears its timers', async (t) => {
  const clock = new ManualClock();
  const pipe = new PipeL3('10.0.0.1/24', () => {});
  const s = new TcpStack(pipe, { clock });
  const err = await t.throwsAsync(pumpFor(clock, s.dial('10.0.0.9', 80, { timeoutMs: 3000 }), 10_000, ));
  t.is((err as ConnError).code, 'ETIMEDOUT');
  await pump(clock, () => s.connectionCount === 0, 100);
  t.is(s.connectionCount, 0);
  s.close();
  t.is(clock.pending, 0);
});

test('bad packets are dropped and counted by reason: IP checksum, TCP checksum, not ours, fragments, not TCP, truncated', (t) => {
  const clock = new ManualClock();
  const sent: Uint8Array[] = [];
  const pipe = new PipeL3('10.0.0.2/24', (p) => sent.push(p.slice()));
  const s = new TcpStack(pipe, { clock });
  s.listen(80);
  const good = segment4('10.0.0.1', '10.0.0.2', 40000, 80, TCP_FLAG_SYN);
  const badIp = good.slice();
  badIp[8] = 1; // TTL changed, header checksum not
  pipe.inject(badIp);
  const badTcp = good.slice();
  badTcp[good.length - 1]! ^= 0xff;
  pipe.inject(badTcp);
  pipe.inject(segment4('10.0.0.1', '10.0.0.3', 40000, 80, TCP_FLAG_SYN));
  const frag = good.slice();
  frag[6] = 0x20; // MF
  const v = new Ipv4View().reset(frag);
  v.fillChecksum();
  pipe.inject(frag);
  const udp = good.slice();
  udp[9] = IpProto.UDP;
  new Ipv4View().reset(udp).fillChecksum();
  pipe.inject(udp);
  pipe.inject(good.subarray(0, 30));
  pipe.inject(new Uint8Array([0x10, 1, 2]));
  pipe.inject(new Uint8Array(0));
  const d = s.stats().drops;
  t.is(d.badIpChecksum, 1);
  t.is(d.badTcpChecksum, 1);
  t.is(d.notForUs, 1);
  t.is(d.fragment, 1);
  t.is(d.notTcp, 1);
  t.is(d.truncated, 2);
  t.is(d.badVersion, 1);
  t.is(sent.length, 0, 'nothing answered');
  pipe.inject(good);
  t.is(sent.length, 1, 'the good SYN gets a SYN-ACK');
  t.is(decodeTcp(sent[0]!, 20).flags, TCP_FLAG_SYN | TCP_FLAG_ACK);
  s.close();
  t.is(clock.pending, 0);
});

test('bounded: the connection table refuses dials past maxConnections; ephemeral ports run out and come back', async (t) => {
  const { clock, a, b } = stackPair({ maxConnections: 4, ephemeralPorts: [50000, 50002], tcb: { timeWaitMs: 200 } });
  b.listen(80).on('connection', (c: Conn) => c.on('error', () => {}).resume());
  const conns: Conn[] = [];
  for (let i = 0; i < 3; i++) conns.push(await pumpFor(clock, a.dial('10.0.0.2', 80)));
  t.is(a.ephemeralPortsInUse, 3);
  t.throws(() => a.dialConn('10.0.0.2', 80), { message: /no free ephemeral port/ });
  a.dialConn('10.0.0.2', 81, { localPort: 1234 }).on('error', () => {});
  t.throws(() => a.dialConn('10.0.0.2', 82, { localPort: 1235 }), { message: /table full/ });
  // Close them all; after TIME-WAIT the ports are free again.
  for (const c of conns) c.end();
  t.true(await pump(clock, () => a.ephemeralPortsInUse === 0, 10_000));
  const again = await pumpFor(clock, a.dial('10.0.0.2', 80));
  t.true(again.localPort >= 50000 && again.localPort <= 50002);
  a.close();
  b.close();
  t.is(clock.pending, 0);
});

test('listen: the accept queue is bounded; accept() and for-await hand out connections; a second listen on a port throws', async (t) => {
  const { clock, a, b } = stackPair();
  const server = b.listen(80, { acceptQueue: 2 });
  t.throws(() => b.listen(80), { message: /already listening/ });
  const dials = [a.dialConn('10.0.0.2', 80), a.dialConn('10.0.0.2', 80), a.dialConn('10.0.0.2', 80)];
  const errors: string[] = [];
  for (const d of dials) d.on('error', (e: ConnError) => errors.push(e.code));
  await pump(clock, () => errors.length === 1, 5_000);
  t.is(server.pending, 2);
  t.deepEqual(errors, ['ECONNRESET'], 'the third is reset');
  const c1 = await server.accept();
  t.truthy(c1);
  c1!.on('error', () => {});
  const it = server[Symbol.asyncIterator]();
  const c2 = await it.next();
  t.false(c2.done);
  (c2.value as Conn).on('error', () => {});
  const waiting = server.accept();
  server.close();
  t.is(await waiting, null);
  a.close();
  b.close();
  t.is(clock.pending, 0);
});

test('close() aborts established connections with RST to the peer and leaves no timers', async (t) => {
  const { clock, a, b } = stackPair();
  const server = b.listen(80);
  let peer: Conn | null = null;
  server.on('connection', (c: Conn) => {
    peer = c;
    c.on('error', () => {});
  });
  const c = await pumpFor(clock, a.dial('10.0.0.2', 80));
  c.write('hello');
  await pump(clock, () => peer !== null, 1000);
  let peerErr = '';
  peer!.on('error', (e: ConnError) => (peerErr = e.code));
  a.close();
  t.is(c.tcb.state, TcpState.Closed);
  await pump(clock, () => peerErr !== '', 1000);
  t.is(peerErr, 'ECONNRESET');
  t.throws(() => a.dialConn('10.0.0.2', 80), { message: /closed/ });
  b.close();
  t.is(clock.pending, 0, 'no timer left on either side');
});

test('a SYN flood from 2000 ports: the half-open backlog stays bounded, SYN cookies answer the rest, the table stays empty', (t) => {
  const clock = new ManualClock();
  const sent: Uint8Array[] = [];
  const pipe = new PipeL3('10.0.0.2/24', (p) => sent.push(p.slice()));
  const s = new TcpStack(pipe, { clock });
  s.listen(80, { backlog: 16 });
  for (let i = 0; i < 2000; i++) pipe.inject(segment4('10.0.0.1', '10.0.0.2', 10000 + i, 80, TCP_FLAG_SYN, i * 7919));
  t.is(sent.length, 2000, 'a SYN-ACK for every SYN');
  t.true(sent.every((p) => decodeTcp(p, 20).flags === (TCP_FLAG_SYN | TCP_FLAG_ACK)));
  const ls = s.stats().listenersStats[80]!;
  t.is(ls.syns, 2000);
  t.is(ls.cookiesSent, 2000 - 16);
  t.is(s.connectionCount, 0, 'half-open connections are the listener\'s, not the table\'s');
  // A cookie completes: the ACK of a cookie SYN-ACK makes an established connection.
  const last = decodeTcp(sent[sent.length - 1]!, 20);
  pipe.inject(segment4('10.0.0.1', '10.0.0.2', last.dstPort, 80, TCP_FLAG_ACK, (last.ack) >>> 0, (last.seq + 1) >>> 0));
  t.is(s.stats().listenersStats[80]!.cookiesAccepted, 1);
  t.is(s.connectionCount, 1);
  s.close();
  t.is(clock.pending, 0);
});

test('a small output queue (maxQueuedPackets 4) drops bursts, counts them, and TCP still delivers byte-exact', async (t) => {
  const { clock, a, b } = stackPair({ maxQueuedPackets: 4, tcb: { rtoMinMs: 200, timeWaitMs: 100 }, conn: { allowHalfOpen: true } });
  const server = b.listen(80);
  let got: Buffer | null = null;
  server.on('connection', (c: Conn) => {
    const col = collect(c);
    c.on('end', () => {
      got = col.bytes();
      c.end();
    });
  });
  const conn = await pumpFor(clock, a.dial('10.0.0.2', 80));
  conn.resume();
  const data = pattern(200_000, 9);
  void writeAll(conn, data);
  t.true(await pump(clock, () => got !== null, 120_000));
  t.is(sha256(got!), sha256(data));
  t.true(a.stats().drops.queueFull > 0, 'bursts past the bound were dropped');
  t.true(a.stats().queueHighWater <= 4);
  a.close();
  b.close();
  t.is(clock.pending, 0);
});

test('acceptAnyAddr: the stack terminates TCP for any destination and answers from it', (t) => {
  const clock = new ManualClock();
  const sent: Uint8Array[] = [];
  const pipe = new PipeL3(null, (p) => sent.push(p.slice()));
  const s = new TcpStack(pipe, { clock, acceptAnyAddr: true });
  s.listen(80);
  pipe.inject(segment4('10.0.0.1', '192.0.2.99', 40000, 80, TCP_FLAG_SYN));
  t.is(sent.length, 1);
  t.is(decodeIpv4(sent[0]!).src, parseIPv4('192.0.2.99'));
  t.is(decodeTcp(sent[0]!, 20).flags, TCP_FLAG_SYN | TCP_FLAG_ACK);
  s.close();
  t.is(clock.pending, 0);
});

test('a Conn ended after its peer closes finishes in order: autoDestroy does not reset the data still queued', async (t) => {
  // Echo-style half-close, as a proxy does it: the client sends a little and ends; the server
  // writes its answer after the client's FIN (200 KiB, taken at once into the Tcb's 256 KiB send
  // buffer), then ends. Both sides of the server's Conn have ended while the answer is still in
  // the Tcb: the autoDestroy that follows must not abort (RST) it.
  const { clock, a, b } = stackPair();
  const answer = pattern(200 << 10, 7);
  const server = b.listen(8000);
  server.on('connection', (c: Conn) => {
    c.on('data', () => {});
    c.on('end', () => {
      for (let off = 0; off < answer.length; off += 50 << 10) c.write(answer.subarray(off, off + (50 << 10)));
      c.end();
    });
  });
  const conn = await pumpFor(clock, a.dial('10.0.0.2', 8000));
  const got = collect(conn);
  let error: unknown = null;
  conn.on('error', (e) => (error = e));
  conn.end(Buffer.from('question'));
  t.true(await pump(clock, () => got.ended || error !== null), 'the answer ended');
  t.is(error, null, 'no reset reached the client');
  const body = got.bytes();
  t.is(body.length, answer.length);
  t.is(sha256(body), sha256(answer), 'every byte arrived: no reset cut the answer short');
  t.is(b.stats().resetsSent, 0, 'the server sent no RST');
});
