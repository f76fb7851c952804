/**
 * Helpers of the slirp tests: a virtual host (a vtcp TcpStack on a PipeL3) wired to a slirp
 * Stack, either as the Stack's own device side or through connectL3 (a namespace of its own),
 * with a tap that records copies of what slirp sends the host; local TCP/UDP servers.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { PipeL3 } from '../../src/core/pipe.js';
import type { Cleanup } from '../../src/core/device.js';
import { Stack } from '../../src/slirp/stack.js';
import { TcpStack, type TcpStackOptions } from '../../src/vtcp/stack.js';
import type { Conn } from '../../src/vtcp/conn.js';

export interface VHost {
  pipe: PipeL3;
  tcp: TcpStack;
  /** Copies of every packet slirp sent this host. */
  got: Uint8Array[];
  /** Sends a raw packet to slirp as this host. */
  inject(p: Uint8Array): void;
  cleanup: Cleanup | null;
  /** The device given to connectL3 (null for the Stack's own side). */
  dev: PipeL3 | null;
}

/**
 * A virtual host at `addr` (and `addr6`) attached to `slirp`: through connectL3 when `ns`,
 * else as the Stack's own device side.
 */
export function vhost(slirp: Stack, ns: boolean, addr = '10.0.0.2', addr6 = 'fd00::2', opts: TcpStackOptions = {}): VHost {
  const pipe = new PipeL3(`${addr}/24`);
  const got: Uint8Array[] = [];
  let toSlirp: (p: Uint8Array) => void;
  let cleanup: Cleanup | null = null;
  let dev: PipeL3 | null = null;
  if (ns) {
    dev = new PipeL3(null);
    cleanup = slirp.connectL3(dev) as Cleanup;
    dev.onSend = (p) => {
      got.push(p.slice());
      pipe.inject(p);
    };
    const d = dev;
    toSlirp = (p) => d.inject(p);
  } else {
    slirp.setHandler((p) => {
      got.push(p.slice());
      pipe.inject(p);
    });
    toSlirp = (p) => slirp.send(p);
  }
  pipe.onSend = (p) => toSlirp(p);
  const tcp = new TcpStack(pipe, { addrs: [addr, addr6], conn: { allowHalfOpen: true }, ...opts });
  return { pipe, tcp, got, inject: (p) => toSlirp(p), cleanup, dev };
}

/** A TCP echo server on 127.0.0.1 (an ephemeral port). */
export async function echoServer(host = '127.0.0.1', backlog = 511): Promise<{ server: net.Server; port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, host, backlog, r));
  return { server, port: (server.address() as net.AddressInfo).port, sockets };
}

export async function closeServer(server: net.Server, sockets?: Set<net.Socket>): Promise<void> {
  for (const s of sockets ?? []) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
}

/** A UDP echo server on 127.0.0.1. */
export async function udpEcho(transform: (b: Buffer) => Buffer = (b) => b): Promise<{ sock: dgram.Socket; port: number }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (m, r) => sock.send(transform(m), r.port, r.address));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, port: sock.address().port };
}

/** Reads everything from `c` until 'end'. */
export function readAll(c: Conn | net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('end', () => resolve(Buffer.concat(chunks)));
    c.on('error', reject);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 5 ms until true or `ms` pass. */
export async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

/** Deterministic bytes. */
export function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Handles of the kinds slirp opens (TCP sockets, servers, UDP sockets). */
export function socketHandles(): number {
  const hs = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
  return hs.filter((h) => h instanceof net.Socket || h instanceof net.Server || h instanceof dgram.Socket).length;
}
