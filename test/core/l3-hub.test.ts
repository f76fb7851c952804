import test from 'ava';
import { L3Hub } from '../../src/core/l3-hub.js';
import { TapDirection } from '../../src/core/device.js';
import { PipeL3 } from '../../src/core/pipe.js';
import { fromHex, toHex } from '../helpers/bytes.js';
import { RecordingL3 } from '../helpers/devices.js';
import { KERNEL_IPV4_UDP, KERNEL_IPV6_UDP } from '../vectors/kernel-tun.js';

/** The kernel UDP packet re-addressed to `dst` (IPv4 text). */
function v4To(dst: string): Uint8Array {
  const p = fromHex(KERNEL_IPV4_UDP);
  p.set(dst.split('.').map(Number), 16);
  return p;
}
/** The kernel IPv6 UDP packet with its destination's last two bytes set. */
function v6To(hi: number[], lastWord: number): Uint8Array {
  const p = fromHex(KERNEL_IPV6_UDP);
  p.set(hi, 24);
  p[38] = lastWord >>> 8;
  p[39] = lastWord & 0xff;
  return p;
}

test('two devices on one /24 reach each other through host routes', (t) => {
  const hub = new L3Hub();
  const a = new RecordingL3('10.0.0.1/24');
  const b = new RecordingL3('10.0.0.2/24');
  hub.connect(a);
  hub.connect(b);
  a.inject(v4To('10.0.0.2'));
  b.inject(v4To('10.0.0.1'));
  t.is(b.got.length, 1);
  t.is(a.got.length, 1);
  // Another host on the /24: goes to the first device that claimed the prefix.
  b.inject(v4To('10.0.0.77'));
  t.is(a.got.length, 2);
});

test('longest prefix match with overlapping IPv4 and IPv6 prefixes, and a default', (t) => {
  const hub = new L3Hub();
  const wide = new RecordingL3('10.0.0.1/8');
  const narrow = new RecordingL3('10.1.0.1/16');
  const v6wide = new RecordingL3('fd99::1/16');
  const v6narrow = new RecordingL3('fd99:0:0:5::1/64');
  const gw = new RecordingL3(null);
  const src = new RecordingL3('192.168.0.2/24');
  for (const d of [wide, narrow, v6wide, v6narrow, src]) hub.connect(d);
  hub.setDefaultRoute(hub.connect(gw));
  src.inject(v4To('10.1.2.3'));
  src.inject(v4To('10.200.0.1'));
  src.inject(v4To('8.8.8.8'));
  src.inject(v6To([0xfd, 0x99, 0, 0, 0, 0, 0, 5], 0x42));
  src.inject(v6To([0xfd, 0x99, 0, 0, 0, 0, 0, 6], 0x42));
  src.inject(v6To([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0], 1));
  t.is(narrow.got.length, 1);
  t.is(wide.got.length, 1);
  t.is(v6narrow.got.length, 1);
  t.is(v6wide.got.length, 1);
  t.is(gw.got.length, 2, 'one IPv4 and one IPv6 packet took the default route');
  t.is(hub.lookup('10.1.9.9'), narrow);
});

test('broadcast and multicast go to every port but the source', (t) => {
  const hub = new L3Hub();
  const a = new RecordingL3('10.0.0.1/24');
  const b = new RecordingL3('10.0.0.2/24');
  const c = new RecordingL3('fd00::3/64');
  for (const d of [a, b, c]) hub.connect(d);
  a.inject(v4To('255.255.255.255'));
  a.inject(v4To('224.0.0.251'));
  a.inject(v6To([0xff, 0x02, 0, 0, 0, 0, 0, 0], 1));
  t.is(a.got.length, 0);
  t.is(b.got.length, 3);
  t.is(c.got.length, 3);
});

test('routes follow a device\'s address changes (watchAddr)', (t) => {
  const hub = new L3Hub();
  const a = new RecordingL3(null);
  const src = new RecordingL3('192.168.0.2/24');
  hub.connect(a);
  const hs = hub.connect(src);
  src.inject(v4To('10.9.0.5'));
  t.is(a.got.length, 0);
  t.is(hs.stats().drops['no-route'], 1);
  a.setAddr('10.9.0.5/16'); // e.g. from DHCP
  src.inject(v4To('10.9.0.5'));
  t.is(a.got.length, 1);
  a.setAddr('172.16.0.1/12');
  src.inject(v4To('10.9.0.5'));
  t.is(a.got.length, 1, 'old routes withdrawn');
  src.inject(v4To('172.20.0.1'));
  t.is(a.got.length, 2);
});

test('explicit routes, route removal, detach and the loop check', (t) => {
  const hub = new L3Hub();
  const peer = new RecordingL3('10.10.0.2/32');
  const src = new RecordingL3('10.0.0.1/24');
  const hp = hub.connect(peer, { routes: ['192.168.50.0/24', 'fd50::/64'] });
  const hs = hub.connect(src);
  src.inject(v4To('192.168.50.9'));
  src.inject(v6To([0xfd, 0x50, 0, 0, 0, 0, 0, 0], 9));
  t.is(peer.got.length, 2);
  hp.removeRoute('192.168.50.0/24');
  src.inject(v4To('192.168.50.9'));
  t.is(peer.got.length, 2);
  src.inject(v4To('10.0.0.1'));
  t.is(hs.stats().drops['loop'], 1);
  hp.close();
  hp.close();
  src.inject(v6To([0xfd, 0x50, 0, 0, 0, 0, 0, 0], 9));
  t.is(peer.got.length, 2);
  t.is(hub.stats().routes, 2, 'only src\'s host and network routes remain');
});

test('malformed packets are dropped by reason; taps see both directions', (t) => {
  const hub = new L3Hub();
  const a = new RecordingL3('10.0.0.1/24');
  const b = new RecordingL3('10.0.0.2/24');
  const ha = hub.connect(a);
  hub.connect(b);
  const seen: number[] = [];
  ha.capture({ tap: (_d, dir) => seen.push(dir) });
  a.inject(new Uint8Array(0));
  a.inject(fromHex('45000014'));
  a.inject(fromHex('7000'));
  const bad6 = v6To([0xfd, 0, 0, 0, 0, 0, 0, 0], 2);
  bad6[5] = 200; // payload length past the buffer
  a.inject(bad6);
  const s = ha.stats();
  t.is(s.drops['truncated'], 3);
  t.is(s.drops['bad-version'], 1);
  b.inject(v4To('10.0.0.1'));
  t.is(a.got.length, 1);
  t.is(toHex(a.got[0]!, 16, 4), '0a000001');
  t.deepEqual(seen.slice(-1), [TapDirection.Out]);
  t.is(seen.filter((d) => d === TapDirection.In).length, 4);
});

test('as an L3Connector; close detaches all', (t) => {
  const hub = new L3Hub();
  const a = new RecordingL3('10.0.0.1/24');
  const b = new PipeL3('10.0.0.2/24');
  const cleanup = hub.connectL3(a) as () => void;
  hub.connectL3(b);
  b.inject(v4To('10.0.0.1'));
  t.is(a.got.length, 1);
  cleanup();
  b.inject(v4To('10.0.0.1'));
  t.is(a.got.length, 1);
  hub.close();
  t.is(hub.stats().ports.length, 0);
});
