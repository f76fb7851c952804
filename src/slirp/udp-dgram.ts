/**
 * slirp UDP over node:dgram (forced with `udp: 'dgram'`, or when the addon has no `udp` feature):
 * the kernel side of the flows of one Stack (a `UdpIo`, udp-flow.ts), a dgram socket per flow. A
 * Buffer copy per datagram out, dgram's Buffer and rinfo per datagram in: about 3 us a datagram,
 * the compatibility path (udp-batched.ts is the fast one).
 *
 * Not concurrent: one thread owns the Stack, its flows and their sockets.
 */

import * as dgram from 'node:dgram';
import { UDP_MAX_PAYLOAD4, UDP_MAX_PAYLOAD6, type PacketBuilder } from './packets.js';
import type { UdpFlow, UdpIo, UdpIoHost, UdpTarget } from './udp-flow.js';

/** node:dgram: the compatibility path (allocates per datagram: dgram's own objects and a copy). */
export class DgramUdpIo implements UdpIo {
  readonly kind = 'dgram' as const;
  private readonly host: UdpIoHost;
  private readonly build: PacketBuilder;

  constructor(host: UdpIoHost, build: PacketBuilder) {
    this.host = host;
    this.build = build;
  }

  open(f: UdpFlow, t: UdpTarget): boolean {
    const sock = dgram.createSocket(t.family === 6 ? 'udp6' : 'udp4');
    f.sock = sock;
    sock.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => this.reply(f, msg, rinfo));
    sock.on('error', () => {
      this.host.drop('sendFailed');
      f.space.udp.remove(f);
    });
    return true;
  }

  send(f: UdpFlow, p: Uint8Array, off: number, len: number): void {
    f.lastActiveMs = this.host.clock.now();
    // dgram sends asynchronously and the packet is borrowed: one copy.
    const data = Buffer.allocUnsafe(len);
    data.set(p.subarray(off, off + len));
    f.sock!.send(data, f.realPort, f.realAddr, (err) => {
      if (err) this.host.drop('sendFailed');
    });
  }

  /** A datagram from the real side: back to the virtual host as from the flow's destination. */
  private reply(f: UdpFlow, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const s = f.space;
    if (f.closed || s.closed) return;
    // Endpoint-dependent filtering: only the flow's own peer may answer on it.
    if (rinfo.port !== f.realPort || rinfo.address !== f.realAddr) return;
    f.lastActiveMs = this.host.clock.now();
    this.host.counters.datagramsIn++;
    if (f.family === 4) {
      if (msg.length > UDP_MAX_PAYLOAD4) return this.host.drop('badUdp');
      s.out(this.build.udp4(f.dst4, f.dport, f.src4, f.sport, msg, 0, msg.length));
    } else {
      if (msg.length > UDP_MAX_PAYLOAD6) return this.host.drop('badUdp');
      s.out(this.build.udp6(f.dst, 0, f.dport, f.src, 0, f.sport, msg, 0, msg.length));
    }
  }

  close(f: UdpFlow): void {
    try {
      f.sock?.close();
    } catch {
      // already closed
    }
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
