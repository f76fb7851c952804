/**
 * Stack.close() releases the real socket of a proxied flow whose virtual side has just sent its
 * FIN: the FIN is carried across as `end()` on the net.Socket, and a reset of a socket whose
 * shutdown libuv has not yet performed fails (EINVAL). Node then drops the handle without closing
 * it, and it kept the process alive until the real server closed the connection (found by the
 * vclient tests: a keep-alive HTTP agent closed before the Stack). Alone in its file: it counts
 * the process's TCP handles.
 */
import test from 'ava';
import * as net from 'node:net';
import { Stack } from '../../src/slirp/stack.js';
import { until, vhost } from './helpers.js';

const tcpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

/** Lets the nextTick and microtask queues run `n` times, without giving libuv a turn. */
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => process.nextTick(r));
}

test.serial('close() right after the virtual side ended a flow leaves no TCP handle behind (the keep-alive server never closes)', async (t) => {
  // A keep-alive server: it reads, never ends or closes its side.
  const conns = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
    s.on('error', () => {});
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const before = tcpHandles();

  const slirp = new Stack({ addr: '10.0.0.1/24', policy: { allowLoopback: true } });
  const h = vhost(slirp, false);
  const c = await h.tcp.dial('127.0.0.1', port);
  c.on('error', () => {});
  c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  t.true(await until(() => conns.size === 1 && slirp.stats().bytesToReal > 0));
  t.is(tcpHandles(), before + 2, 'the proxied socket and the server side');

  c.end();
  // The FIN crosses to the real socket as end() within these ticks; libuv performs the shutdown
  // only on its next I/O poll, so close() below runs while it is still pending.
  await ticks(50);
  await slirp.close();
  h.tcp.close();

  // Our side's handle is gone; the server sees its connection end (FIN or RST) and closes too.
  t.true(await until(() => tcpHandles() === before + conns.size, 2000), 'the proxied socket is released');
  for (const s of conns) s.destroy();
  t.true(await until(() => tcpHandles() === before, 2000), `handles left: ${process.getActiveResourcesInfo().join(', ')}`);
  await new Promise<void>((r) => server.close(() => r()));
});
