/**
 * slirp ICMP Echo to any destination (src/slirp/icmp.ts): a virtual host behind the Stack pings
 * 127.0.0.1, 127.0.0.5 and ::1 and gets replies from those addresses with its own identifier,
 * sequence numbers and data and valid checksums, through real ICMP echo sockets opened (by the
 * `icmp.open` test hook) in a private network namespace with ping_group_range opened, so the
 * host's sysctl is left alone. Also: the in-flight table bound and expiry (injected clock),
 * idle sockets closing, a namespace's removal closing its sockets, policy denial, and the
 * fallbacks (forward: false; the kernel refusing the socket).
 */
import test, { type ExecutionContext } from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import { IcmpEchoSocket } from '../../src/native/icmp.js';
import { Stack, type SlirpOptions } from '../../src/slirp/stack.js';
import { checksum, transportChecksumV6 } from '../../src/wire/checksum.js';
import { IpProto } from '../../src/wire/ipv4.js';
import { fdCount, icmpSkipReason, pingNetns } from '../helpers/ping-netns.js';
import { echo4, echo6 } from './packets.js';
import { until, vhost } from './helpers.js';

const skip = icmpSkipReason();
const run = skip === null ? test.serial : test.skip; // skipped only because of icmpSkipReason() (the next test logs it)
if (skip !== null) test('slirp ICMP forwarding tests skipped', (t) => t.log(`skipped: ${skip}`) as unknown as void);

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A Stack whose echo sockets open in `netns`. */
function stack(netns: string, opts: Partial<SlirpOptions> = {}): Stack {
  return new Stack({
    addr: '10.0.0.1/24',
    addr6: 'fd00::1/64',
    policy: { allowLoopback: true },
    ...opts,
    icmp: { open: (family, o) => IcmpEchoSocket.open(family, { ...o, netns }), ...opts.icmp },
  });
}

interface Echo {
  family: 4 | 6;
  type: number;
  code: number;
  id: number;
  seq: number;
  src: string;
  dst: string;
  data: string;
}

/** Reads an ICMP/ICMPv6 packet slirp sent, verifying every checksum (throws otherwise). */
function readIcmp(t: ExecutionContext, p: Uint8Array): Echo {
  if (p[0]! >>> 4 === 4) {
    t.is(p[9], IpProto.ICMP);
    t.is(checksum(p, 0, 20), 0, 'IPv4 header checksum');
    t.is(checksum(p, 20, p.length - 20), 0, 'ICMP checksum');
    return { family: 4, type: p[20]!, code: p[21]!, id: (p[24]! << 8) | p[25]!, seq: (p[26]! << 8) | p[27]!, src: [...p.subarray(12, 16)].join('.'), dst: [...p.subarray(16, 20)].join('.'), data: Buffer.from(p.subarray(28)).toString('latin1') };
  }
  t.is(p[6], IpProto.ICMPv6);
  t.is(transportChecksumV6(IpProto.ICMPv6, p, 8, 24, p, 40, p.length - 40), 0, 'ICMPv6 checksum');
  const hex = (o: number): string => Buffer.from(p.subarray(o, o + 16)).toString('hex');
  return { family: 6, type: p[40]!, code: p[41]!, id: (p[44]! << 8) | p[45]!, seq: (p[46]! << 8) | p[47]!, src: hex(8), dst: hex(24), data: Buffer.from(p.subarray(48)).toString('latin1') };
}

const LO6 = '00000000000000000000000000000001';
const VH6 = 'fd000000000000000000000000000002';

run('a virtual host pings 127.0.0.1, 127.0.0.5 and ::1 through the Stack: replies from them with its id, seq, data and valid checksums', async (t) => {
  const netns = pingNetns(t);
  const fds = fdCount();
  const slirp = stack(netns);
  const h = vhost(slirp, false);
  h.inject(echo4('10.0.0.2', '127.0.0.1', 0x1234, 1, enc('to 127.0.0.1')));
  h.inject(echo4('10.0.0.2', '127.0.0.5', 0x1234, 2, enc('to 127.0.0.5')));
  h.inject(echo4('10.0.0.2', '127.0.0.1', 0x9999, 1, enc('another pinger')));
  h.inject(echo6('fd00::2', '::1', 0x4321, 7, enc('to ::1')));
  t.is(slirp.stats().echoSockets, 2, 'one socket per family for the namespace');
  t.true(await until(() => h.got.length === 4));
  const r = h.got.map((p) => readIcmp(t, p)).sort((a, b) => a.family - b.family || a.id - b.id || a.seq - b.seq);
  t.deepEqual(r, [
    { family: 4, type: 0, code: 0, id: 0x1234, seq: 1, src: '127.0.0.1', dst: '10.0.0.2', data: 'to 127.0.0.1' },
    { family: 4, type: 0, code: 0, id: 0x1234, seq: 2, src: '127.0.0.5', dst: '10.0.0.2', data: 'to 127.0.0.5' },
    { family: 4, type: 0, code: 0, id: 0x9999, seq: 1, src: '127.0.0.1', dst: '10.0.0.2', data: 'another pinger' },
    { family: 6, type: 129, code: 0, id: 0x4321, seq: 7, src: LO6, dst: VH6, data: 'to ::1' },
  ]);
  const st = slirp.stats();
  t.is(st.echoForwarded, 4);
  t.is(st.echoReplies, 4);
  t.is(st.echoInFlight, 0);
  t.is(st.drops.echoStale, 0);
  await slirp.close();
  t.is(slirp.stats().echoSockets, 0);
  t.is(fdCount(), fds, 'sockets and the eventfd closed');
});

run('hostLoopback: a ping of the Stack\'s own address goes to the host\'s 127.0.0.1 and ::1 and comes back from the own address', async (t) => {
  const netns = pingNetns(t);
  const slirp = stack(netns, { hostLoopback: true, policy: {} });
  const h = vhost(slirp, false);
  h.inject(echo4('10.0.0.2', '10.0.0.1', 5, 6, enc('gw')));
  h.inject(echo6('fd00::2', 'fd00::1', 5, 7, enc('gw6')));
  t.true(await until(() => h.got.length === 2));
  const r = h.got.map((p) => readIcmp(t, p)).sort((a, b) => a.family - b.family);
  t.deepEqual([r[0]!.src, r[0]!.seq, r[0]!.data], ['10.0.0.1', 6, 'gw']);
  t.deepEqual([r[1]!.src, r[1]!.seq, r[1]!.data], ['fd000000000000000000000000000001', 7, 'gw6']);
  t.is(slirp.stats().echoForwarded, 2, 'through the sockets, not answered locally');
  await slirp.close();
});

run('the in-flight table is bounded (maxEchoes; counted), forgets unanswered requests after timeoutMs and closes idle sockets (injected clock)', async (t) => {
  const netns = pingNetns(t, { void: true });
  const clock = new ManualClock(0);
  const slirp = stack(netns, { clock, icmp: { maxEchoes: 2, timeoutMs: 1000 } });
  const h = vhost(slirp, false);
  // Synchronously: slots free only when replies are read (asynchronously), so 2 of 4 go.
  for (let i = 0; i < 4; i++) h.inject(echo4('10.0.0.2', '127.0.0.1', 1, i, enc('x')));
  t.is(slirp.stats().echoForwarded, 2);
  t.is(slirp.stats().drops.echoLimit, 2);
  t.true(await until(() => h.got.length === 2));
  t.deepEqual(h.got.map((p) => readIcmp(t, p).seq).sort(), [0, 1]);
  // 198.51.100.2 is behind a veth whose peer is down: requests vanish, nobody answers.
  h.inject(echo4('10.0.0.2', '198.51.100.2', 1, 10, enc('void')));
  h.inject(echo4('10.0.0.2', '198.51.100.2', 1, 11, enc('void')));
  h.inject(echo4('10.0.0.2', '198.51.100.2', 1, 12, enc('void')));
  t.is(slirp.stats().echoInFlight, 2);
  t.is(slirp.stats().drops.echoLimit, 3);
  clock.advance(1000);
  t.is(slirp.stats().echoExpired, 2, 'forgotten after timeoutMs');
  t.is(slirp.stats().echoInFlight, 0);
  h.inject(echo4('10.0.0.2', '127.0.0.1', 1, 20, enc('again')));
  t.true(await until(() => h.got.length === 3), 'a freed slot serves a new request');
  clock.advance(1000);
  clock.advance(500);
  t.true(await until(() => slirp.stats().echoSockets === 0), 'an idle socket is closed');
  await slirp.close();
  t.is(clock.pending, 0, 'no timer left');
});

run('removing a namespace closes its echo sockets; another namespace keeps its own', async (t) => {
  const netns = pingNetns(t);
  const fds = fdCount();
  const slirp = stack(netns);
  const a = vhost(slirp, true);
  const b = vhost(slirp, true);
  a.inject(echo4('10.0.0.2', '127.0.0.1', 1, 1, enc('a')));
  b.inject(echo4('10.0.0.2', '127.0.0.1', 1, 1, enc('b')));
  b.inject(echo6('fd00::2', '::1', 1, 1, enc('b6')));
  t.is(slirp.stats().echoSockets, 3);
  t.true(await until(() => a.got.length === 1 && b.got.length === 2));
  t.is(readIcmp(t, a.got[0]!).data, 'a', 'each namespace gets its own replies');
  t.deepEqual(b.got.map((p) => readIcmp(t, p).data).sort(), ['b', 'b6']);
  b.cleanup!();
  t.true(await until(() => slirp.stats().echoSockets === 1));
  a.inject(echo4('10.0.0.2', '127.0.0.1', 1, 2, enc('a2')));
  t.true(await until(() => a.got.length === 2));
  await slirp.close();
  t.is(fdCount(), fds);
});

run('policy: a denied destination gets ICMP admin-prohibited and no socket is opened', async (t) => {
  const netns = pingNetns(t);
  const slirp = stack(netns, { policy: { deny: ['198.51.100.0/24'] } });
  const h = vhost(slirp, false);
  h.inject(echo4('10.0.0.2', '198.51.100.7', 1, 1, enc('x')));
  h.inject(echo4('10.0.0.2', '169.254.169.254', 1, 2, enc('metadata')));
  h.inject(echo6('fd00::2', 'fe80::1', 1, 3, enc('link-local')));
  t.is(h.got.length, 3);
  const v4 = h.got.slice(0, 2).map((p) => readIcmp(t, p));
  for (const e of v4) t.deepEqual([e.type, e.code, e.src], [3, 13, '10.0.0.1'], 'administratively prohibited, from the gateway');
  const e6 = readIcmp(t, h.got[2]!);
  t.deepEqual([e6.type, e6.code], [1, 1], 'ICMPv6 administratively prohibited');
  t.is(slirp.stats().drops.policy, 3);
  t.is(slirp.stats().echoSockets, 0);
  t.is(slirp.stats().echoForwarded, 0);
  await slirp.close();
});

run('fallbacks: with forward: false, or when the kernel refuses the socket (ping_group_range), only own addresses answer; the rest is dropped, counted', async (t) => {
  for (const how of ['forward: false', 'refused'] as const) {
    const netns = pingNetns(t, { widen: false });
    const slirp = how === 'refused' ? stack(netns, { hostLoopback: true }) : stack(netns, { hostLoopback: true, icmp: { forward: false } });
    const h = vhost(slirp, false);
    h.inject(echo4('10.0.0.2', '127.0.0.1', 1, 1, enc('x')));
    h.inject(echo6('fd00::2', '::1', 1, 1, enc('x')));
    t.is(h.got.length, 0, how);
    t.is(slirp.stats().drops.echoUnavailable, 2, how);
    // Own addresses (hostLoopback or not) are answered by the Stack itself.
    h.inject(echo4('10.0.0.2', '10.0.0.1', 9, 1, enc('gw')));
    h.inject(echo6('fd00::2', 'fd00::1', 9, 2, enc('gw6')));
    t.is(h.got.length, 2, how);
    t.deepEqual(h.got.map((p) => readIcmp(t, p).type), [0, 129]);
    t.is(slirp.stats().echoForwarded, 0);
    t.is(slirp.stats().echoSockets, 0);
    await slirp.close();
  }
});
