#!/usr/bin/env node
/**
 * `npm start`: the pktkit demo. Builds a small topology in one process and narrates it:
 *
 *   L2 segment                                   L3 segment
 *   alice ─┐                                      lan  10.0.0.1/24 ─┐
 *   bob   ─┼─ L2Hub (learning switch)             peer 10.0.0.2/24 ─┼─ L3Hub ── gateway (default route)
 *   carol ─┘                                      v6   fd00::2/64  ─┘
 *
 * Alice resolves Bob with ARP (a broadcast, then a unicast reply the switch has learned to
 * deliver), sends him a UDP datagram, and Carol sends a truncated frame that the switch drops
 * and counts. On the L3 side packets are routed by longest prefix, fall to the default route, or
 * are dropped with a reason. Every hub port is recorded into one pcapng file, which the demo
 * names at the end (`tshark -r <file>` reads it).
 *
 * Later issues grow this into the virtual LAN with DHCP and NAT across worker threads.
 */

import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CaptureFile, LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../capture/index.js';
import { L2Hub } from '../core/l2-hub.js';
import { L3Hub } from '../core/l3-hub.js';
import { PipeL2, PipeL3 } from '../core/pipe.js';
import { Frame } from '../core/frame.js';
import { Packet } from '../core/packet.js';
import { IpAddr, formatIPv4, formatMac, parseIPv4 } from '../wire/addr.js';
import { ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, ArpView, emitArp, newArpFields, parseArp } from '../wire/arp.js';
import { ETH_HEADER_LEN, EtherType, emitEthernet, newEthernetFields } from '../wire/ethernet.js';
import { IpProto, emitIpv4, ipv4EmitLen, newIpv4Fields } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, emitIpv6, newIpv6Fields } from '../wire/ipv6.js';
import { UDP_HEADER_LEN, emitUdpV4, emitUdpV6, newUdpFields } from '../wire/udp.js';
import { WireStatus } from '../wire/status.js';

const say = (s: string) => console.log(s);

// --- Packet builders (cold path: the demo allocates freely) -------------------------------------

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
  Object.assign(a, { op, senderMac, senderIp, targetMac, targetIp });
  const out = new Uint8Array(ARP_LEN);
  emitArp(a, out, 0);
  return out;
}

function udp4(src: string, dst: string, sport: number, dport: number, text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const ip = newIpv4Fields();
  ip.src = parseIPv4(src);
  ip.dst = parseIPv4(dst);
  ip.protocol = IpProto.UDP;
  ip.payloadLen = UDP_HEADER_LEN + data.length;
  const hl = ipv4EmitLen(ip);
  const out = new Uint8Array(hl + ip.payloadLen);
  emitIpv4(ip, out, 0);
  out.set(data, hl + UDP_HEADER_LEN);
  const u = newUdpFields();
  Object.assign(u, { srcPort: sport, dstPort: dport, payloadLen: data.length });
  emitUdpV4(u, out, hl, ip.src, ip.dst);
  return out;
}

function udp6(src: string, dst: string, sport: number, dport: number, text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const ip = newIpv6Fields();
  ip.src.set(IpAddr.parse(src).bytes);
  ip.dst.set(IpAddr.parse(dst).bytes);
  ip.nextHeader = IpProto.UDP;
  ip.payloadLen = UDP_HEADER_LEN + data.length;
  const out = new Uint8Array(IPV6_HEADER_LEN + ip.payloadLen);
  emitIpv6(ip, out, 0);
  out.set(data, IPV6_HEADER_LEN + UDP_HEADER_LEN);
  const u = newUdpFields();
  Object.assign(u, { srcPort: sport, dstPort: dport, payloadLen: data.length });
  emitUdpV6(u, out, IPV6_HEADER_LEN, out, 8, 24);
  return out;
}

// --- A tiny host on the L2 segment: answers ARP for its address, reports what it receives -------

class Host {
  readonly dev: PipeL2;
  readonly name: string;
  readonly ip: number;
  readonly received: string[] = [];
  private readonly frame = new Frame();
  private readonly arpView = new ArpView();
  private readonly arpFields = newArpFields();
  private readonly packet = new Packet();

  constructor(name: string, mac: string, ip: string) {
    this.name = name;
    this.ip = parseIPv4(ip);
    this.dev = new PipeL2(mac, (frame) => this.receive(frame));
  }

  private receive(bytes: Uint8Array): void {
    const f = this.frame.reset(bytes);
    if (f.check() !== WireStatus.Ok) return;
    if (f.etherType === EtherType.ARP) {
      if (parseArp(this.arpView.reset(bytes, f.payloadOff, f.payloadLen), this.arpFields) !== WireStatus.Ok) return;
      const a = this.arpFields;
      if (a.op === ARP_OP_REQUEST && a.targetIp === this.ip) {
        this.received.push(`ARP request from ${formatMac(a.senderMac)}: who has ${formatIPv4(a.targetIp)}? (answering)`);
        this.dev.inject(ethernet(a.senderMac, this.dev.hwAddr, EtherType.ARP, arp(ARP_OP_REPLY, this.dev.hwAddr, this.ip, a.senderMac, a.senderIp)));
      } else if (a.op === ARP_OP_REPLY) {
        this.received.push(`ARP reply: ${formatIPv4(a.senderIp)} is at ${formatMac(a.senderMac)}`);
      } else {
        this.received.push(`ARP request for ${formatIPv4(a.targetIp)} (not mine)`);
      }
      return;
    }
    if (f.etherType === EtherType.IPv4) {
      const p = this.packet.reset(bytes, f.payloadOff, f.payloadLen);
      if (p.check() !== WireStatus.Ok || p.ipProtocol !== IpProto.UDP) return;
      const text = new TextDecoder().decode(p.payload.subarray(UDP_HEADER_LEN));
      this.received.push(`UDP from ${formatIPv4(p.ipv4SrcAddr)}: "${text}"`);
    }
  }
}

/** Runs the demo with command-line arguments `argv` (`pktkit demo` passes its own). */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', short: 'o' },
      format: { type: 'string', default: 'pcapng' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (args.help) {
    console.log('usage: npm start -- [--out FILE] [--format pcapng|pcap]\n  Runs the pktkit demo and writes every hub port to a capture file.');
    process.exit(0);
  }
  const format = args.format === 'pcap' ? 'pcap' : 'pcapng';
  if (format === 'pcap') {
    // Classic pcap holds one link type; the demo records Ethernet and raw IP ports.
    console.error('the demo records Ethernet and IP ports together, which needs pcapng; use --format pcapng');
    process.exit(2);
  }
  const path = args.out ?? join(tmpdir(), `pktkit-demo-${process.pid}.pcapng`);
  const capture = await CaptureFile.open(path, { format });
  say('pktkit demo: an L2 switch and an L3 hub in one process, every port recorded\n');

  // --- L2 segment ---------------------------------------------------------------------------------
  const hub = new L2Hub();
  const alice = new Host('alice', '02:00:00:00:00:0a', '10.0.0.1');
  const bob = new Host('bob', '02:00:00:00:00:0b', '10.0.0.2');
  const carol = new Host('carol', '02:00:00:00:00:0c', '10.0.0.3');
  const hosts = [alice, bob, carol];
  for (const h of hosts) hub.connect(h.dev).capture(capture.addInterface(`l2hub:${h.name}`, LINKTYPE_ETHERNET));
  say('L2Hub with three hosts:');
  for (const h of hosts) say(`  ${h.name.padEnd(6)} ${formatMac(h.dev.hwAddr)}  ${formatIPv4(h.ip)}`);

  say('\n1. alice broadcasts an ARP request for 10.0.0.2; bob answers with a unicast reply');
  alice.dev.inject(ethernet(0xffff_ffff_ffff, alice.dev.hwAddr, EtherType.ARP, arp(ARP_OP_REQUEST, alice.dev.hwAddr, alice.ip, 0, bob.ip)));
  say('\n2. alice sends bob a UDP datagram: the switch has learned bob, so carol does not see it');
  alice.dev.inject(ethernet(bob.dev.hwAddr, alice.dev.hwAddr, EtherType.IPv4, udp4('10.0.0.1', '10.0.0.2', 40000, 7, 'hello bob')));
  say('\n3. carol sends a 10-byte runt frame: dropped and counted, never thrown');
  carol.dev.inject(new Uint8Array(10));

  say('\nWhat each host received:');
  for (const h of hosts) {
    say(`  ${h.name}:`);
    for (const r of h.received.length > 0 ? h.received : ['(nothing)']) say(`    ${r}`);
  }
  const l2 = hub.stats();
  say(`\nL2Hub: ${l2.macs} MACs learned (of at most ${l2.maxMacs}, aging 5 min)`);
  for (const p of l2.ports) {
    const drops = Object.entries(p.drops).map(([k, v]) => `${k}=${v}`).join(' ');
    say(`  port ${p.port} ${p.hwAddr}: in ${p.rxFrames} frames/${p.rxBytes} B, out ${p.txFrames} frames/${p.txBytes} B${drops ? `, dropped ${drops}` : ''}`);
  }

  // --- L3 segment ---------------------------------------------------------------------------------
  const l3 = new L3Hub();
  const seen = new Map<string, string[]>();
  const l3dev = (name: string, addr: string | null) => {
    const d = new PipeL3(addr, (p) => {
      const pk = Packet.from(p);
      pk.check();
      seen.get(name)!.push(`${pk.srcAddr.toString()} -> ${pk.dstAddr.toString()}`);
    });
    seen.set(name, []);
    return d;
  };
  const lan = l3dev('lan', '10.0.0.1/24');
  const peer = l3dev('peer', '10.0.0.2/24');
  const v6 = l3dev('v6', 'fd00::2/64');
  const gateway = l3dev('gateway', null);
  const l3handles = new Map([lan, peer, v6, gateway].map((d, i) => [d, l3.connect(d)] as const));
  const names = ['lan', 'peer', 'v6', 'gateway'];
  [...l3handles.values()].forEach((h, i) => h.capture(capture.addInterface(`l3hub:${names[i]}`, LINKTYPE_RAW)));
  l3.setDefaultRoute(gateway);
  l3handles.get(lan)!.addRoute('fd00::1/128');
  say('\nL3Hub with four devices: lan 10.0.0.1/24 (+ fd00::1/128), peer 10.0.0.2/24, v6 fd00::2/64, gateway (default route)');

  say('\n4. lan -> 10.0.0.2 (peer\'s host route), lan -> 192.0.2.7 (no prefix: the default route)');
  lan.inject(udp4('10.0.0.1', '10.0.0.2', 40001, 7, 'to peer'));
  lan.inject(udp4('10.0.0.1', '192.0.2.7', 40001, 7, 'off-net'));
  say('5. v6 -> fd00::1 (explicit route to lan), v6 -> 2001:db8::1 (default route)');
  v6.inject(udp6('fd00::2', 'fd00::1', 40001, 7, 'to lan over IPv6'));
  v6.inject(udp6('fd00::2', '2001:db8::1', 40001, 7, 'off-net v6'));
  say('6. peer sends a packet with IP version 7: dropped with reason bad-version');
  peer.inject(new Uint8Array([0x70, 0, 0, 20]));

  say('\nWhere packets went:');
  for (const [name, list] of seen) say(`  ${name.padEnd(8)} ${list.length === 0 ? '(nothing)' : list.join(', ')}`);
  say('\nL3Hub ports:');
  for (const p of l3.stats().ports) {
    const drops = Object.entries(p.drops).map(([k, v]) => `${k}=${v}`).join(' ');
    say(`  ${(p.addr ?? '(no address)').padEnd(14)} routes ${p.routes.join(' ') || '-'}; in ${p.rxFrames}, out ${p.txFrames}${drops ? `, dropped ${drops}` : ''}`);
  }

  hub.close();
  l3.close();
  await capture.close();
  const cs = capture.stats();
  say(`\nCapture: ${cs.packets} packets (${cs.bytes} B) on ${cs.interfaces.length} interfaces, ${cs.drops} dropped`);
  say(`  written to ${path}`);
  say(`  read it with: tshark -r ${path}`);
}

// Run when this file is the program (node dist/src/cli/demo.js, or the pktkit-demo bin through
// its symlink), not when `pktkit demo` imports it.
function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (isEntryPoint()) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
