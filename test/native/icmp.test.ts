/**
 * pktkit/icmp against the kernel: IcmpEchoSocket pings 127.0.0.1, 127.0.0.5 and ::1 inside a
 * private network namespace (ping_group_range opened there only) and reads the replies in a
 * batch: the kernel's identifier, our sequence numbers and data, valid checksums (the kernel's),
 * the TTL. Refusal under the default ping_group_range is a PktError ERR_PKT_PERMISSION naming the
 * sysctl; bad arguments are typed errors; close releases the descriptor.
 */
import test from 'ava';
import { IcmpEchoSocket, IcmpWord, ICMP_ADDR_WORDS } from '../../src/native/icmp.js';
import { checksum, transportChecksumV6 } from '../../src/wire/checksum.js';
import { IpProto } from '../../src/wire/ipv4.js';
import { fdCount, icmpSkipReason, pingNetns } from '../helpers/ping-netns.js';

const skip = icmpSkipReason();
const run = skip === null ? test.serial : test.skip; // skipped only because of icmpSkipReason() (the next test logs it)
if (skip !== null) test('ICMP echo socket tests skipped', (t) => t.log(`skipped: ${skip}`) as unknown as void);

const V4_LO = new Uint8Array([127, 0, 0, 1]);
const V4_LO5 = new Uint8Array([127, 0, 0, 5]);
const V6_LO = new Uint8Array(16);
V6_LO[15] = 1;

interface Reply {
  type: number;
  id: number;
  seq: number;
  data: Buffer;
  msg: Uint8Array;
  rec: number[];
}

async function collect(s: IcmpEchoSocket, want: number): Promise<Reply[]> {
  const out: Reply[] = [];
  const end = Date.now() + 3000;
  while (out.length < want && Date.now() < end) {
    await s.waitAsync(100);
    s.recv((buf, off, len, rec, ro) => {
      const msg = buf.slice(off, off + len);
      out.push({ type: msg[0]!, id: (msg[4]! << 8) | msg[5]!, seq: (msg[6]! << 8) | msg[7]!, data: Buffer.from(msg.subarray(8)), msg, rec: [...rec.subarray(ro, ro + ICMP_ADDR_WORDS)] });
    });
  }
  return out;
}

run('IPv4: echoes to 127.0.0.1 and 127.0.0.5 come back in one batch with the kernel identifier, our seq and data, valid checksums and the TTL', async (t) => {
  const netns = pingNetns(t);
  const fds = fdCount();
  const s = IcmpEchoSocket.open(4, { netns });
  t.true(s.localId > 0 && s.localId <= 0xffff);
  const data = Buffer.from('pktkit icmp data');
  t.is(s.send(V4_LO, 0, 1, data, 0, data.length), 0);
  t.is(s.send(V4_LO5, 0, 2, data, 4, 8), 0);
  const r = await collect(s, 2);
  t.is(r.length, 2);
  r.sort((a, b) => a.seq - b.seq);
  for (const x of r) {
    t.is(x.type, 0, 'Echo Reply');
    t.is(x.id, s.localId);
    t.is(checksum(x.msg, 0, x.msg.length), 0, 'valid ICMP checksum (the kernel filled it)');
    t.is(x.rec[IcmpWord.Family], 4);
    t.is(x.rec[IcmpWord.Ttl], 64);
  }
  t.deepEqual([r[0]!.seq, r[0]!.data.toString(), r[0]!.rec[IcmpWord.Addr]! >>> 0], [1, 'pktkit icmp data', 0x7f00_0001]);
  t.deepEqual([r[1]!.seq, r[1]!.data.toString(), r[1]!.rec[IcmpWord.Addr]! >>> 0], [2, 'it icmp ', 0x7f00_0005]);
  const st = s.stats();
  t.is(st.txRequests, 2);
  t.is(st.rxReplies, 2);
  s.close();
  s.close();
  t.is(s.fd, -1);
  t.is(fdCount(), fds, 'descriptor released');
});

run('IPv6: an echo to ::1 comes back with a valid ICMPv6 checksum over the pseudo-header', async (t) => {
  const netns = pingNetns(t);
  const s = IcmpEchoSocket.open(6, { netns });
  const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
  t.is(s.send(V6_LO, 0, 0xbeef, data, 0, data.length), 0);
  const [x] = await collect(s, 1);
  t.truthy(x);
  t.is(x!.type, 129);
  t.is(x!.id, s.localId);
  t.is(x!.seq, 0xbeef);
  t.deepEqual([...x!.data], [...data]);
  t.deepEqual(x!.rec.slice(0, 6), [6, 0, 0, 0, 0, 1]);
  // Pseudo-header check: the message placed after a fake IPv6 header with src = dst = ::1.
  const p = new Uint8Array(40 + x!.msg.length);
  p.set(V6_LO, 8);
  p.set(V6_LO, 24);
  p.set(x!.msg, 40);
  t.is(transportChecksumV6(IpProto.ICMPv6, p, 8, 24, p, 40, x!.msg.length), 0);
  s.close();
});

run('refused under the kernel default ping_group_range: ERR_PKT_PERMISSION naming the sysctl; a missing namespace: ERR_PKT_IO', (t) => {
  const netns = pingNetns(t, { widen: false });
  const fds = fdCount();
  const e = t.throws(() => IcmpEchoSocket.open(4, { netns }));
  t.is((e as { code?: string }).code, 'ERR_PKT_PERMISSION');
  t.regex(e!.message, /ping_group_range/);
  t.regex(e!.message, /EACCES/);
  t.is((t.throws(() => IcmpEchoSocket.open(6, { netns })) as { code?: string }).code, 'ERR_PKT_PERMISSION');
  t.is((t.throws(() => IcmpEchoSocket.open(4, { netns: '/run/netns/pk-icmp-does-not-exist' })) as { code?: string }).code, 'ERR_PKT_IO');
  t.is(fdCount(), fds, 'no descriptor left by a refused open');
});

run('bad arguments are typed errors; a request larger than maxRequest and sends after close are refused and counted', (t) => {
  t.is((t.throws(() => IcmpEchoSocket.open(5 as 4)) as { code?: string }).code, 'ERR_PKT_INVALID_ARG');
  t.is((t.throws(() => IcmpEchoSocket.open(4, { rxSlotSize: 4 })) as { code?: string }).code, 'ERR_PKT_OUT_OF_RANGE');
  t.is((t.throws(() => IcmpEchoSocket.open(4, { netns: '' })) as { code?: string }).code, 'ERR_PKT_INVALID_ARG');
  const netns = pingNetns(t);
  const s = IcmpEchoSocket.open(4, { netns, maxRequest: 64 });
  t.is(s.send(V4_LO, 0, 1, new Uint8Array(57), 0, 57), -1);
  s.close();
  t.is(s.send(V4_LO, 0, 1, new Uint8Array(8), 0, 8), -1);
  const st = s.stats();
  t.is(st.txDropTooBig, 1);
  t.is(st.txDropClosed, 1);
  t.is((t.throws(() => s.recvEntries()) as { code?: string }).code, 'ERR_PKT_CLOSED');
});

run('start() receives on the event loop until close(), which resolves once the descriptor is closed', async (t) => {
  const netns = pingNetns(t);
  const fds = fdCount();
  const s = IcmpEchoSocket.open(4, { netns });
  const seqs: number[] = [];
  const done = s.start((buf, off) => seqs.push((buf[off + 6]! << 8) | buf[off + 7]!));
  for (let i = 0; i < 5; i++) s.send(V4_LO, 0, 100 + i, new Uint8Array(32), 0, 32);
  const end = Date.now() + 3000;
  while (seqs.length < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  t.deepEqual(seqs.sort(), [100, 101, 102, 103, 104]);
  await s.close();
  await done;
  t.true(fdCount() <= fds, 'socket and eventfd closed');
});
