/**
 * Property tests: whatever arrives, Client.send never throws and never answers with a malformed
 * packet. Random bytes, and packets with a valid IPv4 or IPv6 header addressed to the Client
 * around random TCP, UDP and ICMP payloads (so that the parsers behind the header are reached).
 */
import test from 'ava';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import { Client } from '../../src/vclient/client.js';
import { parseIPv4 } from '../../src/wire/addr.js';
import { checksum } from '../../src/wire/checksum.js';
import { IpProto, emitIpv4, newIpv4Fields } from '../../src/wire/ipv4.js';
import { emitIpv6, newIpv6Fields } from '../../src/wire/ipv6.js';

function client(): { c: Client; out: Uint8Array[] } {
  const c = new Client({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', clock: new ManualClock(0), dns: ['10.0.0.2'] });
  const out: Uint8Array[] = [];
  c.setHandler((p) => out.push(p.slice()));
  c.listen(80);
  c.udp().bind(53);
  return { c, out };
}

function wellFormed(t: import('ava').ExecutionContext, out: Uint8Array[]): void {
  for (const p of out) {
    if (p[0]! >>> 4 === 4) t.is(checksum(p, 0, (p[0]! & 0x0f) << 2), 0, 'IPv4 header checksum of what we send');
    else t.is(p[0]! >>> 4, 6);
  }
}

const protos = fc.constantFrom(IpProto.TCP, IpProto.UDP, IpProto.ICMP, IpProto.ICMPv6, 99);

test('random bytes never throw', (t) => {
  const { c, out } = client();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      c.send(bytes);
    }),
    { numRuns: 3000 },
  );
  wellFormed(t, out);
  c.close();
  t.pass();
});

test('valid IPv4 headers around random transport payloads never throw', (t) => {
  const { c, out } = client();
  fc.assert(
    fc.property(protos, fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.boolean(), (proto, payload, ours) => {
      const p = new Uint8Array(20 + payload.length);
      p.set(payload, 20);
      const f = newIpv4Fields();
      f.src = parseIPv4('10.0.0.9');
      f.dst = ours ? parseIPv4('10.0.0.1') : parseIPv4('10.0.0.255');
      f.protocol = proto;
      f.payloadLen = payload.length;
      emitIpv4(f, p, 0);
      c.send(p);
    }),
    { numRuns: 5000 },
  );
  wellFormed(t, out);
  c.close();
  t.pass();
});

test('valid IPv6 headers around random transport payloads never throw', (t) => {
  const { c, out } = client();
  const dst = new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  fc.assert(
    fc.property(protos, fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.integer({ min: -3, max: 3 }), (proto, payload, lenSkew) => {
      const p = new Uint8Array(40 + payload.length);
      p.set(payload, 40);
      const f = newIpv6Fields();
      f.src[0] = 0xfd;
      f.src[15] = 9;
      f.dst.set(dst);
      f.nextHeader = proto;
      f.payloadLen = Math.max(0, payload.length + lenSkew);
      emitIpv6(f, p, 0);
      c.send(p);
    }),
    { numRuns: 5000 },
  );
  wellFormed(t, out);
  c.close();
  t.pass();
});

test('any datagram a Client sends arrives byte-exact at the socket of its port (IPv4 and IPv6)', async (t) => {
  const a = new Client({ addr: '10.0.0.1/24', addr6: 'fd00::1/64', ref: false });
  const b = new Client({ addr: '10.0.0.2/24', addr6: 'fd00::2/64', ref: false });
  a.setHandler((p) => b.send(p));
  b.setHandler((p) => a.send(p));
  const rx = b.udp({ maxQueued: 100_000 }).bind(7);
  const got: Buffer[] = [];
  rx.on('message', (m: Buffer) => got.push(m));
  const tx = a.udp().bind(9);
  const sent: Uint8Array[] = [];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1400 }), fc.boolean(), (data, six) => {
      tx.send(data, 7, six ? 'fd00::2' : '10.0.0.2');
      sent.push(data);
    }),
    { numRuns: 500 },
  );
  await new Promise((r) => setImmediate(r));
  t.is(got.length, sent.length);
  t.true(sent.every((d, i) => Buffer.from(d).equals(got[i]!)));
  t.is(b.stats().drops.badChecksum, 0);
  a.close();
  b.close();
});
