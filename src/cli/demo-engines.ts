/**
 * The demo's engines, a dataplane plugin module loaded in every port worker (see demo.ts):
 *
 *   demo-host  L2  a host on an Ethernet segment: answers ARP for its address, logs the ARP and
 *                  UDP it receives, and on command sends an ARP request, a UDP datagram, or a
 *                  runt frame (to show that bad input is dropped and counted, never thrown)
 *   demo-l3    L3  an IP endpoint: on command sends a UDP datagram over IPv4 or IPv6 (or a packet
 *                  of IP version 7), and logs "src -> dst" for what it receives
 *
 * Logs are strings on purpose: the demo narrates. Real engines count by number.
 */

import type { L2Device, L3Device } from '../core/device.js';
import { Frame } from '../core/frame.js';
import { Packet } from '../core/packet.js';
import type { DataplaneModule, Engine } from '../dataplane/index.js';
import { IpAddr, formatIPv4, formatMac, parseIPv4, toMac } from '../wire/addr.js';
import { ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, ArpView, emitArp, newArpFields, parseArp } from '../wire/arp.js';
import { ETH_HEADER_LEN, EtherType, emitEthernet, newEthernetFields } from '../wire/ethernet.js';
import { IpProto, emitIpv4, ipv4EmitLen, newIpv4Fields } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, emitIpv6, newIpv6Fields } from '../wire/ipv6.js';
import { WireStatus } from '../wire/status.js';
import { UDP_HEADER_LEN, emitUdpV4, emitUdpV6, newUdpFields } from '../wire/udp.js';
import { PktTypeError } from '../errors.js';

const BROADCAST = 0xffff_ffff_ffff;
const IPV6_SRC = 8;
const IPV6_DST = 24;

function ethernet(dst: number, src: number, type: number, payload: Uint8Array): Uint8Array {
  const f = newEthernetFields();
  f.dst = dst;
  f.src = src;
  f.etherType = type;
  const out = new Uint8Array(ETH_HEADER_LEN + payload.length);
  emitEthernet(f, out, 0);
  out.set(payload, ETH_HEADER_LEN);
  return out;
}

function arp(op: number, senderMac: number, senderIp: number, targetMac: number, targetIp: number): Uint8Array {
  const a = newArpFields();
  a.op = op;
  a.senderMac = senderMac;
  a.senderIp = senderIp;
  a.targetMac = targetMac;
  a.targetIp = targetIp;
  const out = new Uint8Array(ARP_LEN);
  emitArp(a, out, 0);
  return out;
}

/** A UDP datagram in an IPv4 or IPv6 packet, per the family of `src`. */
export function udpPacket(src: string, dst: string, srcPort: number, dstPort: number, text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const s = IpAddr.parse(src);
  const d = IpAddr.parse(dst);
  const u = newUdpFields();
  u.srcPort = srcPort;
  u.dstPort = dstPort;
  u.payloadLen = data.length;
  if (s.family === 4) {
    const ip = newIpv4Fields();
    ip.src = s.v4;
    ip.dst = d.v4;
    ip.protocol = IpProto.UDP;
    ip.payloadLen = UDP_HEADER_LEN + data.length;
    const hl = ipv4EmitLen(ip);
    const out = new Uint8Array(hl + ip.payloadLen);
    emitIpv4(ip, out, 0);
    out.set(data, hl + UDP_HEADER_LEN);
    emitUdpV4(u, out, hl, ip.src, ip.dst);
    return out;
  }
  const ip = newIpv6Fields();
  ip.src.set(s.bytes);
  ip.dst.set(d.bytes);
  ip.nextHeader = IpProto.UDP;
  ip.payloadLen = UDP_HEADER_LEN + data.length;
  const out = new Uint8Array(IPV6_HEADER_LEN + ip.payloadLen);
  emitIpv6(ip, out, 0);
  out.set(data, IPV6_HEADER_LEN + UDP_HEADER_LEN);
  emitUdpV6(u, out, IPV6_HEADER_LEN, out, IPV6_SRC, IPV6_DST);
  return out;
}

interface HostOptions {
  name: string;
  mac: string;
  ip: string;
}

/** An Ethernet host (see the file header). */
class DemoHost implements Engine<L2Device> {
  private dev: L2Device | null = null;
  private readonly mac: number;
  private readonly ip: number;
  private readonly log: string[] = [];
  private readonly frame = new Frame();
  private readonly arpView = new ArpView();
  private readonly arpFields = newArpFields();
  private readonly packet = new Packet();

  constructor(options: unknown) {
    const o = options as Partial<HostOptions> | undefined;
    if (o === undefined || typeof o.mac !== 'string' || typeof o.ip !== 'string') {
      throw new PktTypeError('demo-host: expected options { name, mac, ip }');
    }
    this.mac = toMac(o.mac);
    this.ip = parseIPv4(o.ip);
  }

  attach(dev: L2Device): () => void {
    this.dev = dev;
    dev.setHandler((bytes) => this.receive(bytes));
    return () => {
      this.dev = null;
    };
  }

  private send(frame: Uint8Array): void {
    this.dev?.send(frame);
  }

  private receive(bytes: Uint8Array): void {
    const f = this.frame.reset(bytes);
    if (f.check() !== WireStatus.Ok) return;
    if (f.etherType === EtherType.ARP) {
      if (parseArp(this.arpView.reset(bytes, f.payloadOff, f.payloadLen), this.arpFields) !== WireStatus.Ok) return;
      const a = this.arpFields;
      if (a.op === ARP_OP_REQUEST && a.targetIp === this.ip) {
        this.log.push(`ARP request from ${formatMac(a.senderMac)}: who has ${formatIPv4(a.targetIp)}? (answering)`);
        this.send(ethernet(a.senderMac, this.mac, EtherType.ARP, arp(ARP_OP_REPLY, this.mac, this.ip, a.senderMac, a.senderIp)));
      } else if (a.op === ARP_OP_REPLY) {
        this.log.push(`ARP reply: ${formatIPv4(a.senderIp)} is at ${formatMac(a.senderMac)}`);
      } else {
        this.log.push(`ARP request for ${formatIPv4(a.targetIp)} (not mine)`);
      }
      return;
    }
    if (f.etherType === EtherType.IPv4) {
      const p = this.packet.reset(bytes, f.payloadOff, f.payloadLen);
      if (p.check() !== WireStatus.Ok || p.ipProtocol !== IpProto.UDP) return;
      const text = new TextDecoder().decode(p.payload.subarray(UDP_HEADER_LEN));
      this.log.push(`UDP from ${formatIPv4(p.ipv4SrcAddr)}: "${text}"`);
    }
  }

  stats(): unknown {
    return { received: this.log.length };
  }

  command(name: string, payload: unknown): unknown {
    const p = (payload ?? {}) as { ip?: string; mac?: string; text?: string };
    switch (name) {
      case 'arp':
        this.send(ethernet(BROADCAST, this.mac, EtherType.ARP, arp(ARP_OP_REQUEST, this.mac, this.ip, 0, parseIPv4(String(p.ip)))));
        return true;
      case 'udp':
        this.send(ethernet(toMac(String(p.mac)), this.mac, EtherType.IPv4, udpPacket(formatIPv4(this.ip), String(p.ip), 40000, 7, String(p.text))));
        return true;
      case 'runt':
        this.send(new Uint8Array(10));
        return true;
      case 'log':
        return this.log;
      default:
        throw new PktTypeError(`demo-host: unknown command '${name}' (expected arp, udp, runt, log)`);
    }
  }

  close(): void {
    this.dev = null;
  }
}

/** An IP endpoint (see the file header). */
class DemoL3 implements Engine<L3Device> {
  private dev: L3Device | null = null;
  private readonly log: string[] = [];
  private readonly packet = new Packet();

  attach(dev: L3Device): () => void {
    this.dev = dev;
    dev.setHandler((bytes) => {
      const p = this.packet.reset(bytes);
      if (p.check() === WireStatus.Ok) this.log.push(`${p.srcAddr.toString()} -> ${p.dstAddr.toString()}`);
    });
    return () => {
      this.dev = null;
    };
  }

  stats(): unknown {
    return { received: this.log.length };
  }

  command(name: string, payload: unknown): unknown {
    const p = (payload ?? {}) as { src?: string; dst?: string; text?: string };
    switch (name) {
      case 'udp':
        this.dev?.send(udpPacket(String(p.src), String(p.dst), 40001, 7, String(p.text ?? '')));
        return true;
      case 'bad-version':
        this.dev?.send(new Uint8Array([0x70, 0, 0, 20]));
        return true;
      case 'log':
        return this.log;
      default:
        throw new PktTypeError(`demo-l3: unknown command '${name}' (expected udp, bad-version, log)`);
    }
  }

  close(): void {
    this.dev = null;
  }
}

const register: DataplaneModule = (registry) => {
  registry.define('demo-host', { layer: 2, create: (options) => new DemoHost(options) });
  registry.define('demo-l3', { layer: 3, create: () => new DemoL3() });
};
export default register;
