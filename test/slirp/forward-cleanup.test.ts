/**
 * slirp port forwarding (a host port to a virtual listener, in the Stack's own namespace and in
 * an attached one), and the release of every socket: by a namespace's cleanup (IPv4 and IPv6
 * flows alike, the Go slirp leaked the IPv6 ones) and by close(), checked on Node's handle list.
 */
import test from 'ava';
import * as net from 'node:net';
import { Stack } from '../../src/slirp/stack.js';
import type { Conn } from '../../src/vtcp/conn.js';
import { udp4, udp6 } from './packets.js';
import { closeServer, echoServer, readAll, sleep, socketHandles, until, vhost } from './helpers.js';
import * as dgram from 'node:dgram';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function hostRoundTrip(port: number, msg: Buffer): Promise<Buffer> {
  const s = net.connect(port, '127.0.0.1');
  const got = readAll(s);
  s.end(msg);
  return got;
}

test('port forwarding: a host port reaches a virtual listener (own namespace and an attached one), bytes both ways', async (t) => {
  const slirp = new Stack({ addr: '10.0.0.1/24' });
  const own = vhost(slirp, false);
  const other = vhost(slirp, true, '10.0.0.2');
  for (const [h, tag] of [[own, 'own'], [other, 'ns']] as const) {
    const srv = h.tcp.listen(8080);
    srv.on('connection', (c: Conn) => {
      c.write(`${tag}:`);
      c.pipe(c);
    });
  }
  const f1 = await slirp.forward({ hostPort: 0, virtualAddr: '10.0.0.2', virtualPort: 8080 });
  const f2 = await slirp.forward({ hostPort: 0, virtualAddr: '10.0.0.2', virtualPort: 8080, namespace: other.dev! });
  t.not(f1.port, 0);
  const big = Buffer.alloc(300_000, 7);
  const [a, b] = await Promise.all([hostRoundTrip(f1.port, Buffer.from('hello')), hostRoundTrip(f2.port, big)]);
  t.is(a.toString(), 'own:hello');
  t.true(b.subarray(0, 3).equals(Buffer.from('ns:')));
  t.true(b.subarray(3).equals(big));
  t.is(f1.stats.connected, 1);
  t.is(slirp.stats().forwards, 2);
  // Nobody listening on the virtual port: the host socket is reset.
  const f3 = await slirp.forward({ hostPort: 0, virtualAddr: '10.0.0.2', virtualPort: 9999 });
  const err = await t.throwsAsync(hostRoundTrip(f3.port, Buffer.from('x')));
  t.is((err as NodeJS.ErrnoException).code, 'ECONNRESET');
  t.is(f3.stats.failed, 1);
  own.tcp.close();
  other.tcp.close();
  await slirp.close();
  t.is(slirp.stats().forwards, 0);
});

test.serial('cleanup of a namespace releases its TCP and UDP sockets, IPv4 and IPv6; close() releases the rest', async (t) => {
  const { server, port, sockets } = await echoServer();
  const server6 = await echoServer('::1');
  const u6 = dgram.createSocket('udp6');
  await new Promise<void>((r) => u6.bind(0, '::1', r));
  const u4 = dgram.createSocket('udp4');
  await new Promise<void>((r) => u4.bind(0, '127.0.0.1', r));
  await sleep(20);
  const base = socketHandles();
  const slirp = new Stack({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', policy: { allowLoopback: true } });
  const a = vhost(slirp, true);
  const b = vhost(slirp, true);
  const conns: Conn[] = [];
  for (const h of [a, b]) {
    conns.push(await h.tcp.dial('127.0.0.1', port), await h.tcp.dial('::1', server6.port));
    h.inject(udp4('10.0.0.2', 9000, '127.0.0.1', u4.address().port, enc('x')));
    h.inject(udp6('fd00::2', 9000, '::1', u6.address().port, enc('x')));
  }
  for (const c of conns) c.on('error', () => {});
  const st = slirp.stats();
  t.is(st.tcpFlows, 4);
  t.is(st.udpFlowsOpen, 4);
  await sleep(50);
  const open = socketHandles();
  t.true(open >= base + 8, `${open - base} more handles while flows are open`);
  t.is(slirp.flowCount(a.dev!), 4);
  a.tcp.close();
  a.cleanup!();
  t.is(slirp.flowCount(a.dev!), 0);
  t.is(slirp.stats().tcpFlows, 2, "only b's TCP flows are left");
  t.is(slirp.stats().udpFlowsOpen, 2, "only b's UDP flows are left");
  t.true(await until(() => socketHandles() <= open - 4, 3000), `handles after cleanup: ${socketHandles() - base} over the baseline`);
  b.tcp.close();
  await slirp.close();
  t.true(await until(() => socketHandles() <= base, 3000), `handles after close: ${socketHandles() - base} over the baseline`);
  u4.close();
  u6.close();
  await closeServer(server, sockets);
  await closeServer(server6.server, server6.sockets);
});
