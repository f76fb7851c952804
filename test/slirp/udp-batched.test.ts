/**
 * slirp UDP on both kinds of socket (the addon's batched ones and node:dgram): echo through a
 * real UDP server over IPv4 and IPv6, hostLoopback, a burst larger than the send area in one
 * synchronous run, flows released by a namespace's cleanup and by close() (udp-alloc.test.ts has
 * the allocation check).
 */
import test, { type ExecutionContext } from 'ava';
import * as dgram from 'node:dgram';
import { hasNative } from '../../src/native/index.js';
import { Stack } from '../../src/slirp/stack.js';
import { checksum, transportChecksumV4, transportChecksumV6 } from '../../src/wire/checksum.js';
import { IpProto } from '../../src/wire/ipv4.js';
import { readUdp, udp4, udp6 } from './packets.js';
import { until, udpEcho, vhost } from './helpers.js';

const batched = hasNative('udp');
const modes = batched ? (['batched', 'dgram'] as const) : (['dgram'] as const);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const upper = (b: Buffer): Buffer => Buffer.from(b.toString().toUpperCase());

function replies(got: Uint8Array[]): NonNullable<ReturnType<typeof readUdp>>[] {
  return got.map(readUdp).filter((x) => x !== null);
}

/** Every IPv4/IPv6 packet's header and UDP checksums verify. */
function checksOut(t: ExecutionContext, p: Uint8Array): void {
  if (p[0]! >>> 4 === 4) {
    t.is(checksum(p, 0, 20), 0);
    t.is(transportChecksumV4(IpProto.UDP, (p[12]! << 24) | (p[13]! << 16) | (p[14]! << 8) | p[15]!, (p[16]! << 24) | (p[17]! << 16) | (p[18]! << 8) | p[19]!, p, 20, p.length - 20), 0);
  } else {
    t.is(transportChecksumV6(IpProto.UDP, p, 8, 24, p, 40, p.length - 40), 0);
  }
}

for (const mode of modes) {
  test(`${mode}: IPv4 and IPv6 echo through real servers, checksums verified, one flow per 4-tuple`, async (t) => {
    const srv = await udpEcho(upper);
    const s6 = dgram.createSocket('udp6');
    s6.on('message', (m, r) => s6.send(upper(m), r.port, r.address));
    await new Promise<void>((r) => s6.bind(0, '::1', r));
    const slirp = new Stack({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', udp: mode, policy: { allowLoopback: true } });
    t.is(slirp.stats().udpIo, mode);
    const h = vhost(slirp, false);
    h.inject(udp4('10.0.0.2', 5000, '127.0.0.1', srv.port, enc('four')));
    h.inject(udp4('10.0.0.2', 5000, '127.0.0.1', srv.port, enc('again')));
    h.inject(udp6('fd00::2', 5001, '::1', s6.address().port, enc('six')));
    t.true(await until(() => replies(h.got).length === 3));
    const r = replies(h.got);
    t.deepEqual(r.map((x) => x.data.toString()).sort(), ['AGAIN', 'FOUR', 'SIX']);
    for (const p of h.got) checksOut(t, p);
    const r6 = r.find((x) => x.family === 6)!;
    t.is(r6.sport, s6.address().port);
    t.is(r6.dport, 5001);
    t.is(slirp.stats().udpFlows, 2);
    t.is(slirp.stats().datagramsIn, 3);
    await slirp.close();
    t.is(slirp.stats().udpFlowsOpen, 0);
    srv.sock.close();
    s6.close();
  });

  test(`${mode}: a burst of 150 datagrams in one synchronous run over 3 flows (more than the send area's 64 entries) all arrive, in order per flow`, async (t) => {
    const seen = new Map<number, number[]>();
    const sock = dgram.createSocket('udp4');
    sock.on('message', (m, r) => {
      const l = seen.get(r.port) ?? [];
      l.push(m.readUInt32BE(0));
      seen.set(r.port, l);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const slirp = new Stack({ addr: '10.0.0.1/24', udp: mode, policy: { allowLoopback: true } });
    const h = vhost(slirp, true);
    // Small datagrams: the receiving socket's buffer (rmem_default) must hold the whole burst.
    for (let i = 0; i < 150; i++) {
      const d = Buffer.alloc(64);
      d.writeUInt32BE(i, 0);
      h.inject(udp4('10.0.0.2', 6000 + (i % 3), '127.0.0.1', sock.address().port, d));
    }
    t.is(slirp.stats().datagramsOut, 150);
    t.true(await until(() => [...seen.values()].reduce((n, l) => n + l.length, 0) === 150));
    t.is(seen.size, 3, 'three flows, three source ports');
    for (const l of seen.values()) t.deepEqual(l, [...l].sort((a, b) => a - b));
    t.is(slirp.stats().drops.sendFailed, 0);
    h.cleanup!();
    t.is(slirp.stats().udpFlowsOpen, 0, 'the namespace cleanup closes its flows');
    await slirp.close();
    sock.close();
  });

  test(`${mode}: hostLoopback maps the Stack's own address (above 2^31) to 127.0.0.1; the reply comes from the own address`, async (t) => {
    const srv = await udpEcho();
    const slirp = new Stack({ addr: '192.168.7.1/24', udp: mode, hostLoopback: true });
    const h = vhost(slirp, false, '192.168.7.2');
    h.inject(udp4('192.168.7.2', 7000, '192.168.7.1', srv.port, enc('loop')));
    t.true(await until(() => replies(h.got).length === 1));
    t.deepEqual([...h.got[0]!.subarray(12, 20)], [192, 168, 7, 1, 192, 168, 7, 2]);
    checksOut(t, h.got[0]!);
    await slirp.close();
    srv.sock.close();
  });
}

test('udp option: a bad value is a config error', (t) => {
  t.throws(() => new Stack({ addr: '10.0.0.1/24', udp: 'kernel' as 'dgram' }), { code: 'ERR_PKT_CONFIG' });
});
