/**
 * Test doubles for the DHCP engines: a client host on an L2Hub port (what the L2Adapter will
 * be), a seeded random source, and a decoder for DHCP frames that always verifies checksums.
 */

import type { ExecutionContext } from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import type { FrameHandler, L2Device } from '../../src/core/device.js';
import { L2Hub } from '../../src/core/l2-hub.js';
import { DhcpClient, type DhcpClientOptions } from '../../src/dhcp/client.js';
import type { DhcpAppliedLease, DhcpClientHost } from '../../src/dhcp/host.js';
import { DHCPServer } from '../../src/dhcp/server.js';
import type { DHCPServerOptions } from '../../src/dhcp/server-config.js';
import type { DhcpLeaseRecord, DhcpLeaseStore } from '../../src/dhcp/lease-table.js';
import { decodeDhcp, type DhcpFields } from '../../src/wire/dhcp.js';
import { EthernetView } from '../../src/wire/ethernet.js';
import { Ipv4View } from '../../src/wire/ipv4.js';
import { UdpView } from '../../src/wire/udp.js';
import { WireStatus } from '../../src/wire/status.js';
import { parseIPv4 } from '../../src/wire/addr.js';

export const ip = parseIPv4;

/** mulberry32: a seeded uniform [0, 1) source. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** A decoded DHCP frame. */
export interface DhcpFrame {
  ethDst: number;
  ethSrc: number;
  ipSrc: number;
  ipDst: number;
  srcPort: number;
  dstPort: number;
  dhcp: DhcpFields;
}

/**
 * Decodes an Ethernet/IPv4/UDP/DHCP frame, or returns null when it is not one. With `t`, asserts
 * that the IPv4 header checksum and the UDP checksum (not zero) verify.
 */
export function decodeFrame(frame: Uint8Array, t?: ExecutionContext): DhcpFrame | null {
  const eth = new EthernetView().reset(frame);
  if (eth.check() !== WireStatus.Ok || eth.etherType !== 0x0800) return null;
  const ipv = new Ipv4View().reset(frame, eth.payloadOff);
  if (ipv.check() !== WireStatus.Ok || ipv.protocol !== 17) return null;
  const udp = new UdpView().reset(frame, ipv.payloadOff, ipv.payloadLen);
  if (udp.check() !== WireStatus.Ok) return null;
  if (t !== undefined) {
    t.true(ipv.verifyChecksum(), 'IPv4 header checksum');
    t.not(udp.checksum, 0, 'UDP checksum present');
    t.true(udp.verifyChecksumV4(ipv.src, ipv.dst), 'UDP checksum');
  }
  return {
    ethDst: eth.dstMAC,
    ethSrc: eth.srcMAC,
    ipSrc: ipv.src,
    ipDst: ipv.dst,
    srcPort: udp.srcPort,
    dstPort: udp.dstPort,
    dhcp: decodeDhcp(frame.subarray(udp.payloadOff, udp.payloadOff + udp.payloadLen)),
  };
}

/** True for an IPv4/UDP frame to `port` (what the L2Adapter hands its DHCP hook). */
export function isUdpTo(frame: Uint8Array, port: number): boolean {
  if (frame.length < 42 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 17) return false;
  const l4 = 14 + (frame[14]! & 0x0f) * 4;
  return frame.length >= l4 + 4 && ((frame[l4 + 2]! << 8) | frame[l4 + 3]!) === port;
}

/**
 * A DhcpClientHost on an L2Hub port: what the L2Adapter will be to the engine. Frames the engine
 * sends go to the hub (and are recorded); IPv4/UDP frames to port 68 from the hub go to the
 * engine. ARP probes are answered after `probeDelayMs` by `inUse`.
 */
export class TestHost implements DhcpClientHost, L2Device {
  readonly mac: number;
  readonly clock: ManualClock;
  readonly random: () => number;
  readonly sent: Uint8Array[] = [];
  readonly applied: (DhcpAppliedLease | null)[] = [];
  readonly probes: number[] = [];
  inUse: (addr: number) => boolean = () => false;
  probeDelayMs = 1000;
  /** While false, frames from the hub are not delivered (a cable pulled). */
  connected = true;
  engine: DhcpClient;
  private handler: FrameHandler | null = null;

  constructor(mac: number, clock: ManualClock, opts: DhcpClientOptions = {}, seed = mac % 1000) {
    this.mac = mac;
    this.clock = clock;
    this.random = seededRandom(seed);
    this.engine = new DhcpClient(this, opts);
  }

  get hwAddr(): number {
    return this.mac;
  }
  setHandler(h: FrameHandler): void {
    this.handler = h;
  }
  send(frame: Uint8Array): void {
    if (this.connected && isUdpTo(frame, 68)) this.engine.handleFrame(frame);
  }
  close(): void {
    this.handler = null;
  }

  sendFrame(frame: Uint8Array): void {
    this.sent.push(frame.slice());
    if (this.connected) this.handler?.(frame);
  }
  probe(addr: number, cb: (inUse: boolean) => void): void {
    this.probes.push(addr);
    this.clock.setTimer(() => cb(this.inUse(addr)), this.probeDelayMs);
  }
  applyLease(lease: DhcpAppliedLease | null): void {
    this.applied.push(lease);
  }

  /** The DHCP messages this host sent, decoded (checksums asserted with `t`). */
  messages(t?: ExecutionContext): DhcpFrame[] {
    return this.sent.map((f) => decodeFrame(f, t)!);
  }
}

/** An in-memory lease store that keeps what it was last given (JSON round trip, as a file would). */
export class MemoryStore implements DhcpLeaseStore {
  json = '[]';
  saves = 0;
  load(): readonly DhcpLeaseRecord[] {
    return JSON.parse(this.json) as DhcpLeaseRecord[];
  }
  save(leases: readonly DhcpLeaseRecord[]): void {
    this.saves++;
    this.json = JSON.stringify(leases);
  }
}

/** The usual test server options: 10.0.0.1/24, pool .100-.109, 1 h leases. */
export function serverOptions(clock: ManualClock, extra: Partial<DHCPServerOptions> = {}): DHCPServerOptions {
  return {
    serverIp: '10.0.0.1',
    prefixLen: 24,
    rangeStart: '10.0.0.100',
    rangeEnd: '10.0.0.109',
    router: '10.0.0.1',
    dns: ['10.0.0.53', '10.0.0.54'],
    domain: 'pktkit.test',
    clock,
    epochMs: () => 1_700_000_000_000 + clock.now(),
    ...extra,
  };
}

/** A hub, a server and the attached client hosts, on one ManualClock. */
export class Net {
  readonly clock = new ManualClock(0);
  readonly hub = new L2Hub({ clock: this.clock });
  readonly servers: DHCPServer[] = [];
  readonly hosts: TestHost[] = [];
  private readonly detach = new Map<object, () => void>();

  addServer(extra: Partial<DHCPServerOptions> = {}): DHCPServer {
    const s = new DHCPServer(serverOptions(this.clock, extra));
    this.servers.push(s);
    this.detach.set(s, this.hub.connectL2(s));
    return s;
  }

  addClient(mac: number, opts: DhcpClientOptions = {}): TestHost {
    const h = new TestHost(mac, this.clock, opts);
    this.hosts.push(h);
    this.detach.set(h, this.hub.connectL2(h));
    return h;
  }

  /** Takes a device off the hub (unreachable). */
  unplug(dev: object): void {
    this.detach.get(dev)?.();
  }

  close(): void {
    for (const h of this.hosts) h.engine.stop();
    for (const s of this.servers) s.close();
    this.hub.close();
  }
}
