/** The L2Adapter as a device: framing, filtering, addresses, errors, close, and the DHCP hook. */
import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import { L2Hub } from '../../src/core/l2-hub.js';
import { PipeL3 } from '../../src/core/pipe.js';
import type { L3Device, PacketHandler } from '../../src/core/device.js';
import { L2Adapter } from '../../src/l2/adapter.js';
import type { DhcpClientEngine, DhcpClientHost } from '../../src/l2/dhcp-hook.js';
import { IpPrefix, formatIPv4, formatMac } from '../../src/wire/addr.js';
import { EtherType } from '../../src/wire/ethernet.js';
import { adapterWith, arpRequest, eth, ip4, pair, udp4, udp6 } from './helpers.js';

const MAC_A = 0x0200_0000_000a;
const MAC_B = 0x0200_0000_000b;

test('a random MAC is locally administered unicast; a given one is kept', (t) => {
  const l3 = new PipeL3('10.0.0.1/24');
  const a = new L2Adapter(l3, { clock: new ManualClock() });
  const first = Math.floor(a.hwAddr / 0x100_0000_0000);
  t.is(first & 0x03, 0x02, 'U/L set, I/G clear');
  t.is(new L2Adapter(new PipeL3(null), { mac: '52:54:00:12:34:56', clock: new ManualClock() }).hwAddr, 0x5254_0012_3456);
  const seeded = new L2Adapter(new PipeL3(null), { random: () => 0.999, clock: new ManualClock() });
  t.is(formatMac(seeded.hwAddr), 'fe:ff:ff:ff:ff:ff');
  t.throws(() => new L2Adapter(new PipeL3(null), { mac: '01:00:5e:00:00:01' }), { code: 'ERR_PKT_INVALID_ADDRESS' });
  t.throws(() => new L2Adapter(new PipeL3(null), { mac: 'nope' }), { code: 'ERR_PKT_INVALID_ADDRESS' });
  t.throws(() => new L2Adapter(new PipeL3(null), { maxNeighbors: 0 }), { code: 'ERR_PKT_OUT_OF_RANGE' });
});

test('link-local from modified EUI-64; addrList holds every address; addAddr/removeAddr', (t) => {
  const { a } = adapterWith('10.0.0.1/24', { mac: '52:54:00:12:34:56' });
  t.is(a.linkLocal!.toString(), 'fe80::5054:ff:fe12:3456/64');
  a.addAddr('2001:db8::5/64');
  a.addAddr('2001:db8::5/64'); // twice: once
  t.deepEqual(a.addrList.map(String), ['10.0.0.1/24', 'fe80::5054:ff:fe12:3456/64', '2001:db8::5/64']);
  t.true(a.removeAddr('2001:db8::5/64'));
  t.false(a.removeAddr('2001:db8::5/64'));
  t.deepEqual(a.addrList.map(String), ['10.0.0.1/24', 'fe80::5054:ff:fe12:3456/64']);
  const noLl = adapterWith(null, { linkLocal: false });
  t.is(noLl.a.linkLocal, null);
  t.deepEqual(noLl.a.addrList, []);
  t.throws(() => a.addAddr('10.0.0.300/24'), { code: 'ERR_PKT_INVALID_ADDRESS' });
  for (let i = 0; i < 7; i++) a.addAddr(`10.1.${i}.1/24`);
  t.throws(() => a.addAddr('10.2.0.1/24'), { code: 'ERR_PKT_LIMIT' });
});

test('frames in are filtered by destination MAC', (t) => {
  const { a, l3 } = adapterWith('10.0.0.1/24', { mac: MAC_A });
  const pkt = udp4('10.0.0.2', '10.0.0.1');
  a.send(eth(MAC_A, MAC_B, EtherType.IPv4, pkt));
  a.send(eth(0xffff_ffff_ffff, MAC_B, EtherType.IPv4, pkt));
  a.send(eth(0x0100_5e00_0001, MAC_B, EtherType.IPv4, pkt)); // all-hosts
  a.send(eth(0x3333_0000_0001, MAC_B, EtherType.IPv6, udp6('fe80::b', 'ff02::1'))); // all-nodes
  t.is(l3.got.length, 4);
  a.send(eth(0x0200_0000_00cc, MAC_B, EtherType.IPv4, pkt)); // another host
  a.send(eth(0x0100_5e00_00fb, MAC_B, EtherType.IPv4, pkt)); // a group not joined
  t.is(l3.got.length, 4);
  t.is(a.stats().drops['not-for-us'], 2);
  a.joinGroup(0x0100_5e00_00fb);
  a.send(eth(0x0100_5e00_00fb, MAC_B, EtherType.IPv4, pkt));
  t.is(l3.got.length, 5);
  a.leaveGroup('01:00:5e:00:00:fb');
  a.send(eth(0x0100_5e00_00fb, MAC_B, EtherType.IPv4, pkt));
  t.is(l3.got.length, 5);
  t.throws(() => a.joinGroup(MAC_B), { code: 'ERR_PKT_INVALID_ADDRESS' });
});

test('the L3 device gets the IP packet without Ethernet padding', (t) => {
  const { a, l3 } = adapterWith('10.0.0.1/24', { mac: MAC_A });
  const pkt = udp4('10.0.0.2', '10.0.0.1', 7, 2); // 30 bytes: a 44-byte frame, padded to 60
  const f = new Uint8Array(60);
  f.set(eth(MAC_A, MAC_B, EtherType.IPv4, pkt));
  a.send(f);
  t.is(l3.got.length, 1);
  t.deepEqual(l3.got[0], pkt);
});

test('bad frames are dropped and counted by reason, never thrown', (t) => {
  const { a, l3 } = adapterWith('10.0.0.1/24', { mac: MAC_A });
  a.send(new Uint8Array(5));
  a.send(eth(MAC_A, MAC_B, EtherType.IPv4, new Uint8Array(10)));
  a.send(eth(MAC_A, MAC_B, EtherType.IPv6, new Uint8Array(30)));
  a.send(eth(MAC_A, MAC_B, 0x88b5, new Uint8Array(30)));
  a.send(eth(MAC_A, MAC_B, EtherType.VLAN, new Uint8Array(50)));
  const bad = udp4('10.0.0.2', '10.0.0.1');
  bad[0] = 0x65;
  a.send(eth(MAC_A, MAC_B, EtherType.IPv4, bad));
  const s = a.stats();
  t.is(s.drops.truncated, 3);
  t.is(s.drops['unknown-protocol'], 2);
  t.is(s.drops['bad-version'], 1);
  t.is(s.rxFrames, 6);
  t.is(l3.got.length, 0);
});

test('packets out before a handler, or of an unknown version, are counted', (t) => {
  const l3 = new PipeL3('10.0.0.1/24');
  const a = new L2Adapter(l3, { clock: new ManualClock() });
  l3.inject(udp4('10.0.0.1', '10.0.0.2'));
  t.is(a.stats().drops['no-handler'], 1);
  a.setHandler(() => {});
  l3.inject(new Uint8Array([0x50, 0, 0, 0]));
  l3.inject(new Uint8Array(0));
  l3.inject(new Uint8Array([0x45, 0, 0]));
  t.is(a.stats().drops['unknown-protocol'], 2);
  t.is(a.stats().drops.truncated, 1);
});

test('close() cancels every timer, empties the caches and detaches', (t) => {
  const { l3a, l3b } = pair();
  const c2 = new ManualClock();
  const s = adapterWith('10.0.0.1/24', { clock: c2 });
  s.a.addAddr('fd00::1/64');
  s.l3.inject(udp4('10.0.0.1', '10.0.0.9'));
  s.l3.inject(udp6('fd00::1', 'fd00::9'));
  s.a.probe(ip4('10.0.0.77'), () => t.fail('a cancelled probe must not call back'));
  s.a.send(arpRequest(MAC_B, '10.0.0.2', '10.0.0.1'));
  t.true(c2.pending >= 4, `${c2.pending} timers armed`);
  s.a.close();
  t.is(c2.pending, 0);
  t.is(s.a.stats().arpEntries, 0);
  t.is(s.a.stats().ndpEntries, 0);
  t.is(s.a.stats().pendingPackets, 0);
  t.is(s.a.stats().drops.closed, 2, 'the two queued packets');
  s.a.close(); // idempotent
  s.a.send(arpRequest(MAC_B, '10.0.0.2', '10.0.0.1'));
  s.l3.inject(udp4('10.0.0.1', '10.0.0.9'));
  t.is(s.a.stats().drops.closed, 3, 'a frame after close; the L3 handler was detached');
  s.l3.setAddr('10.0.0.5/24'); // the address watcher was removed
  t.is(c2.pending, 0);
  t.throws(() => s.a.probe(1, () => {}), { code: 'ERR_PKT_CLOSED' });
  t.throws(() => s.a.startDHCP(), { code: 'ERR_PKT_CLOSED' });
  // The pair still works: closing one adapter touches nothing else.
  l3a.inject(udp4('10.0.0.1', '10.0.0.2'));
  t.is(l3b.got.length, 1);
});

test('an L3 device without watchAddr has its address read before each packet', (t) => {
  class Plain implements L3Device {
    addr: IpPrefix | null = IpPrefix.parse('10.0.0.1/24');
    handler: PacketHandler = () => {};
    setHandler(h: PacketHandler) {
      this.handler = h;
    }
    send() {}
    setAddr(p: IpPrefix | string | null) {
      this.addr = p === null ? null : IpPrefix.from(p);
    }
    close() {}
  }
  const dev = new Plain();
  const out: Uint8Array[] = [];
  const a = new L2Adapter(dev, { clock: new ManualClock(), mac: MAC_A });
  a.setHandler((f) => out.push(f.slice()));
  dev.setAddr('10.5.0.1/24');
  t.is(out.length, 1, 'only the link-up announcement of 10.0.0.1');
  dev.handler(udp4('10.5.0.1', '10.5.0.2'));
  t.deepEqual(a.addrList.map(String).slice(0, 1), ['10.5.0.1/24']);
  t.is(a.stats().drops['no-route'] ?? 0, 0, '10.5.0.2 is on-link under the new address');
  t.is(a.stats().events.arpAnnouncementsSent, 2);
});

test('startDHCP without a factory throws a typed error', (t) => {
  const { a } = adapterWith(null);
  const err = t.throws(() => a.startDHCP(), { code: 'ERR_PKT_CONFIG' });
  t.regex(err!.message, /dhcp/);
  t.notThrows(() => a.stopDHCP());
});

class FakeDhcp implements DhcpClientEngine {
  readonly host: DhcpClientHost;
  started = 0;
  stopped = 0;
  frames: Uint8Array[] = [];
  consume = true;
  constructor(host: DhcpClientHost) {
    this.host = host;
  }
  start(): void {
    this.started++;
    const f = eth(0xffff_ffff_ffff, this.host.mac, EtherType.IPv4, udp4('0.0.0.0', '255.255.255.255', 1, 8, 67));
    this.host.sendFrame(f);
  }
  stop(): void {
    this.stopped++;
  }
  handleFrame(frame: Uint8Array): boolean {
    this.frames.push(frame.slice());
    return this.consume;
  }
}

test('DHCP hook: the engine gets the host, port-68 frames, a probe, and applies its lease', (t) => {
  let engine: FakeDhcp | null = null;
  const made: FakeDhcp[] = [];
  const { a, l3, out, clock } = adapterWith(null, {
    mac: MAC_A,
    dhcp: (host) => {
      engine = new FakeDhcp(host);
      made.push(engine);
      return engine;
    },
  });
  out.length = 0;
  a.startDHCP();
  a.startDHCP(); // already running: no second start
  const e = engine!;
  t.is(made.length, 1);
  t.is(e.started, 1);
  t.is(e.host.mac, MAC_A);
  t.is(e.host.clock, clock);
  t.is(e.host.random(), 0.5);
  t.is(out.length, 1, 'the engine put its DISCOVER on the link');
  t.true(a.dhcpRunning);
  // Port 68 goes to the engine, other UDP to the L3 device.
  a.send(eth(MAC_A, MAC_B, EtherType.IPv4, udp4('10.0.0.254', '10.0.0.50', 2, 8, 68)));
  a.send(eth(0xffff_ffff_ffff, MAC_B, EtherType.IPv4, udp4('10.0.0.254', '255.255.255.255', 3, 8, 68)));
  a.send(eth(MAC_A, MAC_B, EtherType.IPv4, udp4('10.0.0.254', '10.0.0.50', 4, 8, 53)));
  t.is(e.frames.length, 2);
  t.is(l3.got.length, 1);
  e.consume = false;
  a.send(eth(MAC_A, MAC_B, EtherType.IPv4, udp4('10.0.0.254', '10.0.0.50', 5, 8, 68)));
  t.is(l3.got.length, 2, 'not consumed: on to the L3 device');
  // The probe.
  let inUse: boolean | undefined;
  e.host.probe(ip4('10.0.0.50'), (u) => (inUse = u));
  clock.advance(3000);
  t.is(inUse, false);
  // The lease.
  const leases: unknown[] = [];
  a.onLease((l) => leases.push(l));
  e.host.applyLease({ addr: ip4('10.0.0.50'), prefixLen: 24, router: ip4('10.0.0.254'), dns: [ip4('10.0.0.254'), ip4('1.1.1.1')] });
  t.is(l3.addr!.toString(), '10.0.0.50/24');
  t.is(a.gateway4!.toString(), '10.0.0.254');
  t.deepEqual(a.dnsServers.map(formatIPv4), ['10.0.0.254', '1.1.1.1']);
  t.is(a.lease!.toString(), '10.0.0.50/24');
  t.is(leases.length, 1);
  t.true(a.stats().events.arpAnnouncementsSent >= 1, 'the new address is announced');
  t.throws(() => e.host.applyLease({ addr: -1, prefixLen: 24, router: null, dns: [] }), { code: 'ERR_PKT_OUT_OF_RANGE' });
  e.host.applyLease(null);
  t.is(l3.addr, null);
  t.is(a.gateway4, null);
  t.deepEqual(a.dnsServers, []);
  t.is(leases.at(-1), null);
  a.stopDHCP();
  t.is(e.stopped, 1);
  t.false(a.dhcpRunning);
  // Stopped: port 68 goes to the L3 device.
  a.send(eth(MAC_A, MAC_B, EtherType.IPv4, udp4('10.0.0.254', '10.0.0.50', 6, 8, 68)));
  t.is(e.frames.length, 3);
  a.startDHCP();
  t.is(e.started, 2, 'the same engine restarted');
  a.close();
  t.is(e.stopped, 2, 'close stops the engine');
  t.is(clock.pending, 0);
});

test('a frame sent while an earlier one is still out is built in its own buffer', (t) => {
  // A floods a broadcast; B's L3 device answers from inside its send, and A's answers that, so
  // A builds a second frame while the hub still has the first to deliver to C. With one shared
  // buffer C would see A's second frame twice and never the first.
  const clock = new ManualClock();
  const hub = new L2Hub({ clock, hashSeed: 1 });
  const mk = (addr: string, mac: number) => {
    const l3 = new PipeL3(`${addr}/24`);
    const a = new L2Adapter(l3, { clock, mac, random: () => 0.5 });
    l3.onSend = (p) => {
      if (p[28]! < 3) l3.inject(udp4(addr, '10.0.0.255', p[28]! + 1));
    };
    hub.connect(a);
    return { l3, a };
  };
  const A = mk('10.0.0.1', MAC_A);
  mk('10.0.0.2', MAC_B);
  const C = adapterWith('10.0.0.3/24', { clock });
  hub.connect(C.a);
  A.l3.inject(udp4('10.0.0.1', '10.0.0.255', 0));
  const seen = C.l3.got.map((p) => `${formatIPv4(((p[12]! << 24) | (p[13]! << 16) | (p[14]! << 8) | p[15]!) >>> 0)}:${p[28]}`);
  t.deepEqual(seen, ['10.0.0.2:3', '10.0.0.1:2', '10.0.0.2:1', '10.0.0.1:0']);
  t.is(A.a.stats().drops.loop ?? 0, 0);
  hub.close();
});

test('a packet larger than IP allows is dropped as too big, not framed', (t) => {
  const { a, l3, out } = adapterWith('10.0.0.1/24');
  out.length = 0;
  const huge = new Uint8Array(70_000);
  huge[0] = 0x45;
  huge.set([255, 255, 255, 255], 16);
  l3.inject(huge);
  t.is(out.length, 0);
  t.is(a.stats().drops['too-big'], 1);
});

test('the second argument may be the MAC alone, as in the Go API', (t) => {
  const a = new L2Adapter(new PipeL3('10.0.0.2/24'), '02:00:00:00:00:2a');
  t.is(a.hwAddr, 0x02000000002a);
  const b = new L2Adapter(new PipeL3('10.0.0.3/24'), 0x02000000002b);
  t.is(b.hwAddr, 0x02000000002b);
  a.close();
  b.close();
});
