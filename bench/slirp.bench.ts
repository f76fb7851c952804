/**
 * slirp rows: UDP through a slirp Stack to a real echo server on 127.0.0.1 and back, with the
 * Stack's two kinds of flow socket in the same run (issue 7): node:dgram (the baseline) and the
 * addon's batched sockets. One operation is one datagram's round trip: 32 datagrams of 64 or
 * 1400 bytes sent by the virtual host in one synchronous run (one flow), the operation done when
 * all 32 replies have come back out of the Stack. The echo server is the same for both rows: a
 * batched UdpSocket on this thread (nothing allocated per datagram), so the difference is the
 * Stack's side. Asynchronous (event loop, poll thread): the rows allocate by design (promises,
 * and dgram's objects in the baseline), so the allocation column is n/a; test/slirp/udp-alloc.test.ts
 * checks the batched datagram path itself.
 */

import { hasNative } from '../src/native/index.js';
import { Stack } from '../src/slirp/stack.js';
import { UdpSocket } from '../src/udp/socket.js';
import type { UdpAddrView } from '../src/udp/address.js';
import { IpProto, emitIpv4, newIpv4Fields } from '../src/wire/ipv4.js';
import { emitUdpV4, newUdpFields } from '../src/wire/udp.js';
import { parseIPv4 } from '../src/wire/addr.js';
import type { Row } from './harness.js';

const BATCH = 32;

function udp4(src: string, sport: number, dst: string, dport: number, len: number): Uint8Array {
  const p = new Uint8Array(28 + len).fill(0x5a, 28);
  const u = newUdpFields();
  u.srcPort = sport;
  u.dstPort = dport;
  u.payloadLen = len;
  emitUdpV4(u, p, 20, parseIPv4(src), parseIPv4(dst));
  const ip = newIpv4Fields();
  ip.src = parseIPv4(src);
  ip.dst = parseIPv4(dst);
  ip.protocol = IpProto.UDP;
  ip.payloadLen = 8 + len;
  emitIpv4(ip, p, 0);
  return p;
}

/** The echo server, made on the first run of a row (the suite is also built just for its names). */
let echoPort = -1;

function echoServer(): number {
  if (echoPort >= 0) return echoPort;
  const echo = UdpSocket.open({ bind: '127.0.0.1:0' });
  const reply = (d: Uint8Array, from: UdpAddrView): void => {
    echo.send(d, from);
  };
  // A bounded wait rather than echo.start(): a worker's terminate() waits for libuv pool work,
  // and a wait with no timeout would never end.
  void (async () => {
    for (;;) {
      while (echo.recv(reply) > 0);
      await echo.waitAsync(200);
    }
  })();
  echoPort = echo.localAddress.port;
  return echoPort;
}

export function slirpRows(): Row[] {
  if (!hasNative('udp')) return [];
  const rows: Row[] = [];
  for (const len of [64, 1400]) {
    for (const mode of ['dgram', 'batched'] as const) {
      let slirp: Stack | null = null;
      let pkt: Uint8Array | null = null;
      let got = 0;
      let wake: (() => void) | null = null;
      const done = (): Promise<void> =>
        new Promise<void>((resolve) => {
          wake = resolve;
        });
      rows.push({
        name: `slirp UDP round trip ${len}B x${BATCH}, ${mode}`,
        fn: async () => {
          if (slirp === null) {
            slirp = new Stack({ addr: '10.0.0.1/24', udp: mode, policy: { allowLoopback: true } });
            slirp.setHandler(() => {
              if (++got === BATCH && wake !== null) wake();
            });
            pkt = udp4('10.0.0.2', 5000, '127.0.0.1', echoServer(), len);
          }
          got = 0;
          const p = done();
          for (let i = 0; i < BATCH; i++) slirp.send(pkt!);
          await p;
          wake = null;
        },
        inner: BATCH,
        bytes: len,
        baseline: mode === 'batched' ? `slirp UDP round trip ${len}B x${BATCH}, dgram` : undefined,
        allocates: true,
      });
    }
  }
  return rows;
}
