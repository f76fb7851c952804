/**
 * slirp TCP, in process against local servers on loopback: a virtual host (a vtcp TcpStack on a
 * PipeL3) dials through the Stack to a TCP echo server and an HTTP server, IPv4 and IPv6; a
 * refused port answers with a RST at once; a dial that does not complete gives ICMP unreachable;
 * two namespaces with identical addresses (and ports) stay apart; a slow real reader holds the
 * virtual writer back with bounded buffering; 1000 concurrent flows.
 */
import test from 'ava';
import * as http from 'node:http';
import * as net from 'node:net';
import { Stack } from '../../src/slirp/stack.js';
import { ConnError } from '../../src/vtcp/conn.js';
import { decodeIpv4 } from '../../src/wire/ipv4.js';
import { checksum } from '../../src/wire/checksum.js';
import { closeServer, echoServer, pattern, readAll, sleep, udpEcho, until, vhost } from './helpers.js';
import { readUdp, udp4 } from './packets.js';

const loopbackOk = { allowLoopback: true };

test('IPv4: 1 MiB each way through slirp to a real echo server, byte-exact, orderly close both ways', async (t) => {
  const { server, port, sockets } = await echoServer();
  const slirp = new Stack({ addr: '10.0.0.1/24', policy: loopbackOk });
  const h = vhost(slirp, false);
  const c = await h.tcp.dial('127.0.0.1', port);
  t.is(c.remoteAddress, '127.0.0.1');
  const data = pattern(1 << 20, 1);
  const got = readAll(c);
  c.end(data);
  t.true((await got).equals(data));
  t.true(await until(() => slirp.stats().tcpFlows === 0), 'the flow ends once both sides closed');
  const st = slirp.stats();
  t.is(st.dialsOk, 1);
  t.is(st.bytesToReal, data.length);
  t.is(st.bytesFromReal, data.length);
  h.tcp.close();
  await slirp.close();
  await closeServer(server, sockets);
});

test('IPv6: echo through slirp to [::1]', async (t) => {
  const { server, port, sockets } = await echoServer('::1');
  const slirp = new Stack({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', policy: loopbackOk });
  const h = vhost(slirp, false);
  const c = await h.tcp.dial('::1', port);
  const data = pattern(200_000, 2);
  const got = readAll(c);
  c.end(data);
  t.true((await got).equals(data));
  h.tcp.close();
  await slirp.close();
  await closeServer(server, sockets);
});

test('HTTP: a request up and a 512 KiB response down through slirp', async (t) => {
  const body = pattern(512 * 1024, 3);
  const server = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => {
      res.setHeader('x-got', String(n));
      res.setHeader('content-length', body.length);
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const slirp = new Stack({ addr: '10.0.0.1/24', policy: loopbackOk });
  const h = vhost(slirp, false);
  const c = await h.tcp.dial('127.0.0.1', port);
  const upload = pattern(100_000, 4);
  const got = readAll(c);
  c.write(`POST /x HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: ${upload.length}\r\n\r\n`);
  c.end(upload);
  const resp = await got;
  const sep = resp.indexOf('\r\n\r\n');
  const head = resp.subarray(0, sep).toString();
  t.regex(head, /^HTTP\/1\.1 200 OK/);
  t.regex(head, /x-got: 100000/);
  t.true(resp.subarray(sep + 4).equals(body));
  h.tcp.close();
  await slirp.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

test('a refused port: the virtual dial fails with ECONNREFUSED (a RST) well before any SYN retransmission', async (t) => {
  const { server, port } = await echoServer();
  await closeServer(server);
  const slirp = new Stack({ addr: '10.0.0.1/24', policy: loopbackOk });
  const h = vhost(slirp, false);
  const t0 = Date.now();
  const err = await t.throwsAsync(h.tcp.dial('127.0.0.1', port));
  t.true(err instanceof ConnError && err.code === 'ECONNREFUSED', String(err));
  t.true(Date.now() - t0 < 900, `took ${Date.now() - t0} ms`);
  t.is(slirp.stats().dialsRefused, 1);
  t.is(slirp.stats().pendingDials, 0);
  h.tcp.close();
  await slirp.close();
});

test('a dial that never completes: ICMP host unreachable quoting the SYN after the dial timeout; nothing held after', async (t) => {
  let made: net.Socket | null = null;
  const slirp = new Stack({
    addr: '10.0.0.1/24',
    limits: { dialTimeoutMs: 150 },
    connect: () => (made = new net.Socket()), // never connects
  });
  const h = vhost(slirp, false);
  const keep = setInterval(() => {}, 1000); // the stacks' timers are unref'd
  const p = h.tcp.dial('192.0.2.7', 80, { timeoutMs: 600 });
  await t.throwsAsync(p);
  clearInterval(keep);
  const icmp = h.got.find((q) => q[0]! >>> 4 === 4 && q[9] === 1);
  t.truthy(icmp, 'an ICMP packet came back');
  const ip = decodeIpv4(icmp!);
  t.is(ip.src, 0x0a000001, 'from the gateway');
  t.is(icmp![20], 3);
  t.is(icmp![21], 1, 'host unreachable');
  t.is(checksum(icmp!, 20, icmp!.length - 20), 0);
  t.is(icmp![28 + 9], 6, 'it quotes the TCP SYN');
  t.is(slirp.stats().dialsTimedOut, 1);
  t.is(slirp.stats().pendingDials, 0);
  t.true(made !== null && (made as net.Socket).destroyed);
  h.tcp.close();
  await slirp.close();
});

test('retransmitted SYNs while the dial is under way start no second dial', async (t) => {
  let dials = 0;
  const slirp = new Stack({
    addr: '10.0.0.1/24',
    limits: { dialTimeoutMs: 2500 },
    connect: () => {
      dials++;
      return new net.Socket();
    },
  });
  const h = vhost(slirp, false, '10.0.0.2', 'fd00::2', { tcb: { rtoInitialMs: 100, rtoMinMs: 100 } });
  const keep = setInterval(() => {}, 1000); // the stacks' timers are unref'd
  const p = h.tcp.dial('192.0.2.7', 80, { timeoutMs: 800 });
  await t.throwsAsync(p);
  clearInterval(keep);
  t.is(dials, 1);
  t.true(slirp.stats().synRetransmits >= 2, `${slirp.stats().synRetransmits} retransmissions seen`);
  h.tcp.close();
  await slirp.close();
});

test('two namespaces with identical addresses and ports dial the same server concurrently and stay apart', async (t) => {
  const { server, port, sockets } = await echoServer();
  const slirp = new Stack({ addr: '10.0.0.1/24', policy: loopbackOk });
  const a = vhost(slirp, true);
  const b = vhost(slirp, true);
  const [ca, cb] = await Promise.all([a.tcp.dial('127.0.0.1', port, { localPort: 40000 }), b.tcp.dial('127.0.0.1', port, { localPort: 40000 })]);
  t.is(slirp.stats().namespaces, 2);
  t.is(slirp.stats().tcpFlows, 2);
  const da = pattern(300_000, 10);
  const db = pattern(300_000, 11);
  const ga = readAll(ca);
  const gb = readAll(cb);
  ca.end(da);
  cb.end(db);
  const [ra, rb] = await Promise.all([ga, gb]);
  t.true(ra.equals(da), 'namespace A got its own bytes');
  t.true(rb.equals(db), 'namespace B got its own bytes');
  a.tcp.close();
  b.tcp.close();
  a.cleanup!();
  b.cleanup!();
  t.is(slirp.stats().namespaces, 0);
  await slirp.close();
  await closeServer(server, sockets);
});

test.serial('back-pressure: a real reader that stops holds the virtual writer back; slirp buffers a bounded amount; all bytes arrive once it reads', async (t) => {
  let serverSock: net.Socket | null = null;
  const server = net.createServer((s) => {
    serverSock = s;
    s.pause();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const slirp = new Stack({ addr: '10.0.0.1/24', policy: loopbackOk, limits: { tcpBuffer: 128 * 1024, streamBuffer: 32 * 1024 } });
  const h = vhost(slirp, false);
  const c = await h.tcp.dial('127.0.0.1', port);
  const total = 48 << 20;
  const data = pattern(total, 5);
  let written = 0;
  let writing = true;
  void (async () => {
    for (let off = 0; off < total && writing; off += 65536) {
      const chunk = data.subarray(off, off + 65536);
      if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
      written = off + chunk.length;
    }
    c.end();
  })();
  await until(() => serverSock !== null);
  // Let the pipeline fill up, then watch it stand still.
  let last = -1;
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    const now = slirp.stats().bytesToReal;
    if (now === last) break;
    last = now;
  }
  const st1 = slirp.stats();
  await sleep(300);
  const st2 = slirp.stats();
  t.is(st2.bytesToReal, st1.bytesToReal, 'no progress while the real reader is paused');
  t.true(written < total, `the virtual writer is held back (${written} of ${total} bytes written)`);
  t.true(st2.buffered <= 4 * 32 * 1024 + 65536, `slirp streams hold ${st2.buffered} bytes`);
  t.log(`stalled: ${st2.bytesToReal} bytes forwarded, ${st2.buffered} bytes in slirp streams, ${written} written by the client`);
  // Now read: everything arrives byte-exact.
  const got = readAll(serverSock!);
  serverSock!.resume();
  const all = await got;
  writing = false;
  t.is(all.length, total);
  t.true(all.equals(data));
  h.tcp.close();
  await slirp.close();
  await closeServer(server);
});

test.serial('1000 concurrent flows through slirp to one echo server', async (t) => {
  const { server, port, sockets } = await echoServer('127.0.0.1', 4096);
  const slirp = new Stack({ addr: '10.0.0.1/24', policy: loopbackOk });
  const h = vhost(slirp, false, '10.0.0.2', 'fd00::2', { maxConnections: 4096 });
  const N = 1000;
  const conns = await Promise.all(Array.from({ length: N }, () => h.tcp.dial('127.0.0.1', port, { timeoutMs: 20_000 })));
  t.is(slirp.stats().tcpFlows, N, 'all open at once');
  const results = await Promise.all(
    conns.map((c, i) => {
      const msg = Buffer.from(`flow ${i} `.repeat(20));
      const got = readAll(c);
      c.end(msg);
      return got.then((g) => g.equals(msg));
    }),
  );
  t.is(results.filter(Boolean).length, N);
  t.true(await until(() => slirp.stats().tcpFlows === 0, 10_000));
  t.is(slirp.stats().dialsOk, N);
  h.tcp.close();
  await slirp.close();
  await closeServer(server, sockets);
});

test.serial('back-pressure the other way: a virtual reader that stops holds the real writer back; slirp buffers a bounded amount', async (t) => {
  const total = 32 << 20;
  const data = pattern(total, 6);
  let serverWritten = 0;
  let serverDone = false;
  const server = net.createServer((s) => {
    s.on('error', () => {});
    void (async () => {
      for (let off = 0; off < total; off += 65536) {
        const chunk = data.subarray(off, off + 65536);
        if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
        serverWritten = off + chunk.length;
      }
      s.end();
      serverDone = true;
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const slirp = new Stack({ addr: '10.0.0.1/24', policy: loopbackOk, limits: { tcpBuffer: 128 * 1024, streamBuffer: 32 * 1024 } });
  const h = vhost(slirp, false);
  const c = await h.tcp.dial('127.0.0.1', port);
  c.pause();
  let last = -1;
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    const now = slirp.stats().bytesFromReal;
    if (now === last) break;
    last = now;
  }
  const st1 = slirp.stats();
  await sleep(300);
  const st2 = slirp.stats();
  t.is(st2.bytesFromReal, st1.bytesFromReal, 'slirp stops reading the real socket');
  t.false(serverDone, `the real writer is held back (${serverWritten} of ${total} bytes written)`);
  t.true(st2.buffered <= 4 * 32 * 1024 + 65536, `slirp streams hold ${st2.buffered} bytes`);
  t.log(`stalled: ${st2.bytesFromReal} bytes taken from the real socket, ${st2.buffered} in slirp streams, ${serverWritten} written by the server`);
  const got = readAll(c);
  c.resume();
  const all = await got;
  t.true(all.equals(data), 'all bytes arrive once the virtual side reads');
  h.tcp.close();
  await slirp.close();
  await closeServer(server);
});

test('the Stack\'s own address: refused (RST) without hostLoopback; with it, TCP and UDP reach the host loopback; TCP to the DNS address goes to the resolver', async (t) => {
  const { server, port, sockets } = await echoServer();
  const plain = new Stack({ addr: '10.0.0.1/24', policy: loopbackOk });
  const h1 = vhost(plain, false);
  const err = await t.throwsAsync(h1.tcp.dial('10.0.0.1', port));
  t.is((err as ConnError).code, 'ECONNREFUSED');
  t.is(plain.stats().drops.ownAddr, 1);
  t.is(plain.stats().dials, 0);
  h1.tcp.close();
  await plain.close();

  // The TCP echo server stands in for the upstream resolver (DNS over TCP is a byte stream).
  const alias = new Stack({ addr: '10.0.0.1/24', hostLoopback: true, dns: '10.0.0.3', dnsServers: [`127.0.0.1:${port}`] });
  const h2 = vhost(alias, false);
  for (const [addr, p] of [['10.0.0.1', port], ['10.0.0.3', 53]] as const) {
    const c = await h2.tcp.dial(addr, p);
    const got = readAll(c);
    c.end('via the gateway');
    t.is((await got).toString(), 'via the gateway', `${addr}:${p}`);
  }
  const u = await udpEcho();
  h2.inject(udp4('10.0.0.2', 9100, '10.0.0.1', u.port, new TextEncoder().encode('udp')));
  t.true(await until(() => h2.got.some((q) => readUdp(q)?.data.toString() === 'udp')));
  const reply = h2.got.find((q) => readUdp(q) !== null)!;
  t.deepEqual([...reply.subarray(12, 16)], [10, 0, 0, 1], 'the UDP reply comes from the gateway address');
  u.sock.close();
  h2.tcp.close();
  await alias.close();
  await closeServer(server, sockets);
});
