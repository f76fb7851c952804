import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import type { L3Connector, L3Device } from '../../src/core/device.js';
import { L3Hub } from '../../src/core/l3-hub.js';
import { Namespaces } from '../../src/core/namespace.js';
import { MemoryLink } from '../../src/wg/bind.js';
import { WgConcentrator } from '../../src/wg/concentrator.js';
import { keyPairFromPrivate, keyToBase64 } from '../../src/wg/crypto.js';
import { WgDevice } from '../../src/wg/device.js';
import { WgDrop } from '../../src/wg/stats.js';
import { WALL0, ping } from './device-helpers.js';
import { seededRandom } from './helpers.js';

const C_ADDR = '192.0.2.1:51820';
const skC = new Uint8Array(32).fill(0x51);
const pubC = keyToBase64(keyPairFromPrivate(skC).publicKey);

function key(n: number): { sk: Uint8Array; pub: string } {
  const sk = new Uint8Array(32).fill(n);
  return { sk, pub: keyToBase64(keyPairFromPrivate(sk).publicKey) };
}

/** The ICMP sequence number of a ping() packet. */
const seqOf = (p: Uint8Array): number => (p[26]! << 8) | p[27]!;
const srcOf = (p: Uint8Array): string => p.subarray(12, 16).join('.');
const dstOf = (p: Uint8Array): string => p.subarray(16, 20).join('.');

interface Client {
  dev: WgDevice;
  inbox: Uint8Array[];
  pub: string;
}

function client(link: MemoryLink, clock: ManualClock, n: number, addr: string, allowed = ['10.0.0.0/24']): Client {
  const k = key(n);
  const dev = new WgDevice({
    privateKey: k.sk,
    bind: link.bind(addr),
    clock,
    wallClock: () => WALL0 + clock.now(),
    random: seededRandom(n),
    peers: [{ publicKey: pubC, endpoint: C_ADDR, allowedIps: allowed }],
  });
  const inbox: Uint8Array[] = [];
  dev.setHandler((p) => inbox.push(p.slice()));
  return { dev, inbox, pub: k.pub };
}

/**
 * A connector giving each device a namespace of its own (core Namespaces, as slirp and NAT do):
 * it records what each namespace received and answers every packet with a ping from 10.0.0.1 to
 * 10.0.0.2 whose sequence number is the namespace id.
 */
class EchoNamespaces implements L3Connector {
  readonly spaces = new Namespaces<{ id: number; got: Uint8Array[]; dev: L3Device }>({ max: 8, name: 'echo' });
  readonly disposed: number[] = [];
  connectL3(dev: L3Device): () => void {
    return this.spaces.attach(
      dev,
      (id) => ({ id, got: [], dev }),
      (st, pkt) => {
        st.got.push(pkt.slice());
        st.dev.send(ping('10.0.0.1', '10.0.0.2', st.id));
      },
      (st) => this.disposed.push(st.id),
    ).cleanup;
  }
}

test('concentrator: two peers with the same inner address are kept apart by per-peer namespaces; an unknown key is authorised at run time', (t) => {
  const clock = new ManualClock(0);
  const link = new MemoryLink(() => clock.now());
  const echo = new EchoNamespaces();
  const p1 = client(link, clock, 0x61, '192.0.2.11:40001');
  const p2 = client(link, clock, 0x62, '192.0.2.12:40002');
  const asked: string[] = [];
  const c = new WgConcentrator({
    privateKey: skC,
    bind: link.bind(C_ADDR),
    clock,
    wallClock: () => WALL0 + clock.now(),
    random: seededRandom(9),
    inner: echo,
    peers: [{ publicKey: p1.pub, allowedIps: ['10.0.0.2/32'] }],
    // p2 is not configured: enrolled when it first shakes hands, with the same inner address.
    onUnknownPeer: (pub, endpoint) => {
      asked.push(`${keyToBase64(pub)} ${endpoint}`);
      return { allowedIps: ['10.0.0.2/32'] };
    },
  });
  t.is(c.stats().ports, 0, 'no port before a handshake');

  p1.dev.send(ping('10.0.0.2', '10.0.0.1', 100));
  p2.dev.send(ping('10.0.0.2', '10.0.0.1', 200));
  link.pump();

  t.deepEqual(asked, [`${p2.pub} 192.0.2.12:40002`]);
  t.is(c.stats().ports, 2);
  t.is(echo.spaces.size, 2);
  const [ns1, ns2] = [...echo.spaces];
  // Each namespace saw exactly its own peer's packet (same source address, different payloads).
  const byPeer = new Map([...echo.spaces].map((ns) => [ns.state.got.map(seqOf).join(','), ns.id]));
  t.deepEqual([...byPeer.keys()].sort(), ['100', '200']);
  for (const ns of [ns1!, ns2!]) t.deepEqual(ns.state.got.map(srcOf), ['10.0.0.2']);
  // Each reply reached only the peer behind the namespace that made it.
  t.deepEqual(p1.inbox.map(seqOf), [byPeer.get('100')]);
  t.deepEqual(p2.inbox.map(seqOf), [byPeer.get('200')]);
  t.not(byPeer.get('100'), byPeer.get('200'));
  t.deepEqual(p1.inbox.map(dstOf), ['10.0.0.2']);
  t.is(c.device.drops.of(WgDrop.SourceNotAllowed), 0);
  t.is(c.stats().unrouted, 0);
  // Both peers hold 10.0.0.2/32 in their own tables.
  t.deepEqual(c.show().peers.map((p) => p.allowedIps), [['10.0.0.2/32'], ['10.0.0.2/32']]);

  // A spoofed source is still refused per peer: 10.0.0.9 is in neither table.
  p1.dev.send(ping('10.0.0.9', '10.0.0.1', 101));
  link.pump();
  t.is(c.device.drops.of(WgDrop.SourceNotAllowed), 1);
  t.is(byPeerGot(echo, byPeer.get('100')!), 1, 'nothing more reached p1 namespace');
  c.close();
  t.is(echo.spaces.size, 0, 'close releases every port');
  t.is(echo.disposed.length, 2);
});

function byPeerGot(echo: EchoNamespaces, id: number): number {
  return echo.spaces.get(id)?.state.got.length ?? -1;
}

test('concentrator: removing a peer releases its device (its namespace disposed) and its traffic stops; others go on', (t) => {
  const clock = new ManualClock(0);
  const link = new MemoryLink(() => clock.now());
  const echo = new EchoNamespaces();
  const p1 = client(link, clock, 0x63, '192.0.2.13:40003');
  const p2 = client(link, clock, 0x64, '192.0.2.14:40004');
  const c = new WgConcentrator({
    privateKey: skC,
    bind: link.bind(C_ADDR),
    clock,
    wallClock: () => WALL0 + clock.now(),
    random: seededRandom(10),
    inner: echo,
    peers: [
      { publicKey: p1.pub, allowedIps: ['10.0.0.2/32'] },
      { publicKey: p2.pub, allowedIps: ['10.0.0.2/32'] },
    ],
  });
  p1.dev.send(ping('10.0.0.2', '10.0.0.1', 1));
  p2.dev.send(ping('10.0.0.2', '10.0.0.1', 2));
  link.pump();
  t.is(echo.spaces.size, 2);
  const port1 = c.portOf(p1.pub)!;
  t.truthy(port1);
  t.is(port1.addr?.toString(), '10.0.0.2/32');
  const ns1 = [...echo.spaces].find((ns) => ns.device === port1)!;

  t.true(c.removePeer(p1.pub));
  t.deepEqual(echo.disposed, [ns1.id], 'the removed peer namespace was disposed, once');
  t.is(echo.spaces.size, 1);
  t.is(c.portOf(p1.pub), null);
  t.true(port1.closed);
  t.like(c.stats(), { ports: 1, attached: 2, released: 1 });
  // A send into the released device goes nowhere (and throws nothing).
  port1.send(ping('10.0.0.1', '10.0.0.2', 9));

  const unknownBefore = c.device.drops.of(WgDrop.UnknownIndex);
  p1.dev.send(ping('10.0.0.2', '10.0.0.1', 3));
  p2.dev.send(ping('10.0.0.2', '10.0.0.1', 4));
  link.pump();
  t.true(c.device.drops.of(WgDrop.UnknownIndex) > unknownBefore, 'the removed peer keys are gone');
  t.deepEqual(p1.inbox.length, 1, 'no reply for the removed peer');
  t.deepEqual(p2.inbox.length, 2, 'the other peer still gets its replies');
  c.close();
});

test('concentrator: peers on a shared L3Hub reach each other by their allowed IPs; a removed peer leaves the hub', (t) => {
  const clock = new ManualClock(0);
  const link = new MemoryLink(() => clock.now());
  const hub = new L3Hub();
  const p1 = client(link, clock, 0x65, '192.0.2.15:40005', ['10.0.0.0/24', '10.9.0.0/16']);
  const p2 = client(link, clock, 0x66, '192.0.2.16:40006');
  const c = new WgConcentrator({
    privateKey: skC,
    bind: link.bind(C_ADDR),
    clock,
    wallClock: () => WALL0 + clock.now(),
    random: seededRandom(11),
    inner: hub,
    peers: [
      { publicKey: p1.pub, allowedIps: ['10.0.0.2/32'] },
      { publicKey: p2.pub, allowedIps: ['10.0.0.3/32', '10.9.0.0/16'] },
    ],
  });
  // p2 shakes hands first (its port joins the hub with its routes), then p1 pings it.
  p2.dev.connect(pubC);
  link.pump();
  t.is(hub.stats().ports.length, 1);
  t.deepEqual(hub.stats().ports[0]!.routes.sort(), ['10.0.0.3/32', '10.9.0.0/16']);

  p1.dev.send(ping('10.0.0.2', '10.0.0.3', 7));
  p1.dev.send(ping('10.0.0.2', '10.9.1.1', 8)); // behind p2: its /16
  p1.dev.send(ping('10.0.0.2', '10.0.0.77', 9)); // nobody's
  link.pump();
  t.deepEqual(p2.inbox.map(seqOf), [7, 8]);
  t.deepEqual(p2.inbox.map(srcOf), ['10.0.0.2', '10.0.0.2']);
  t.is(hub.stats().ports.length, 2);
  // And back: p2 answers p1 through the hub.
  p2.dev.send(ping('10.0.0.3', '10.0.0.2', 70));
  link.pump();
  t.deepEqual(p1.inbox.map(seqOf), [70]);
  // One AllowedIPs table in hub mode: p2 cannot use p1's address as its source.
  p2.dev.send(ping('10.0.0.2', '10.0.0.2', 71));
  link.pump();
  t.is(c.device.drops.of(WgDrop.SourceNotAllowed), 1);
  t.deepEqual(p1.inbox.map(seqOf), [70]);

  // Allowed IPs changed at run time: the hub's routes follow.
  c.setAllowedIps(p2.pub, ['10.0.0.4/32']);
  t.deepEqual(hub.stats().ports.find((p) => p.addr === '10.0.0.4/32')?.routes, ['10.0.0.4/32']);
  t.is(hub.lookup('10.9.1.1'), null);
  p1.dev.send(ping('10.0.0.2', '10.0.0.4', 11));
  link.pump();
  t.deepEqual(p2.inbox.map(seqOf), [7, 8, 11]);
  c.setAllowedIps(p2.pub, ['10.0.0.3/32']);

  c.removePeer(p2.pub);
  t.is(hub.stats().ports.length, 1, 'the removed peer port left the hub');
  t.is(hub.lookup('10.0.0.3'), null);
  p1.dev.send(ping('10.0.0.2', '10.0.0.3', 10));
  link.pump();
  t.deepEqual(p2.inbox.map(seqOf), [7, 8, 11], 'nothing reaches a removed peer');
  c.close();
  t.is(hub.stats().ports.length, 0);
});

test('concentrator: a connector that refuses a port is counted, and that peer packets are dropped, not delivered elsewhere', (t) => {
  const clock = new ManualClock(0);
  const link = new MemoryLink(() => clock.now());
  const echo = new EchoNamespaces();
  const refusing: L3Connector = {
    connectL3: (dev) => {
      if (echo.spaces.size >= 1) throw new Error('full');
      return echo.connectL3(dev);
    },
  };
  const p1 = client(link, clock, 0x67, '192.0.2.17:40007');
  const p2 = client(link, clock, 0x68, '192.0.2.18:40008');
  const c = new WgConcentrator({
    privateKey: skC,
    bind: link.bind(C_ADDR),
    clock,
    random: seededRandom(12),
    inner: refusing,
    peers: [
      { publicKey: p1.pub, allowedIps: ['10.0.0.2/32'] },
      { publicKey: p2.pub, allowedIps: ['10.0.0.2/32'] },
    ],
  });
  p1.dev.send(ping('10.0.0.2', '10.0.0.1', 1));
  link.pump();
  p2.dev.send(ping('10.0.0.2', '10.0.0.1', 2));
  link.pump();
  t.like(c.stats(), { ports: 1, connectErrors: 1, unrouted: 1 });
  t.is(p1.inbox.length, 1);
  t.is(p2.inbox.length, 0);
  t.throws(() => new WgConcentrator({ privateKey: skC, bind: link.bind('192.0.2.1:1'), inner: {} as L3Connector }), { message: /inner must be an L3Connector/ });
  c.close();
});
