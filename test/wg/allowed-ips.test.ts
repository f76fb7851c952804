import test from 'ava';
import fc from 'fast-check';
import { AllowedIps } from '../../src/wg/allowed-ips.js';
import { IpAddr, IpPrefix, parseIPv4, parseIPv6 } from '../../src/wire/addr.js';
import { scavengesAfterWarmup } from '../helpers/alloc.js';

const A = { name: 'A' };
const B = { name: 'B' };
const C = { name: 'C' };

function v4(dst: string, src = '0.0.0.0'): Uint8Array {
  const p = new Uint8Array(20);
  p[0] = 0x45;
  p.set(IpAddr.parse(src).bytes, 12);
  p.set(IpAddr.parse(dst).bytes, 16);
  return p;
}
function v6(dst: string, src = '::'): Uint8Array {
  const p = new Uint8Array(40);
  p[0] = 0x60;
  p.set(parseIPv6(src), 8);
  p.set(parseIPv6(dst), 24);
  return p;
}

test('longest-prefix match, IPv4 and IPv6, by destination and by source', (t) => {
  const t4 = new AllowedIps<object>();
  t4.insert('10.0.0.0/8', A);
  t4.insert('10.1.0.0/16', B);
  t4.insert('10.1.2.3/32', C);
  t4.insert('0.0.0.0/0', C);
  t4.insert('fd00::/64', A);
  t4.insert('fd00::5/128', B);
  t.is(t4.lookupV4(parseIPv4('10.9.9.9')), A);
  t.is(t4.lookupV4(parseIPv4('10.1.9.9')), B);
  t.is(t4.lookupV4(parseIPv4('10.1.2.3')), C);
  t.is(t4.lookupV4(parseIPv4('192.168.1.1')), C, 'default route');
  t.is(t4.lookupDestination(v4('10.1.9.9'), 0, 20), B);
  t.is(t4.lookupSource(v4('1.1.1.1', '10.9.0.1'), 0, 20), A);
  t.is(t4.lookupDestination(v6('fd00::1'), 0, 40), A);
  t.is(t4.lookupDestination(v6('fd00::5'), 0, 40), B);
  t.is(t4.lookupDestination(v6('fd01::5'), 0, 40), null, 'no IPv6 default');
  t.is(t4.lookupSource(v6('::1', 'fd00::5'), 0, 40), B);
  t.is(t4.lookupDestination(v4('10.1.9.9'), 0, 19), null, 'truncated');
  t.is(t4.lookupDestination(Uint8Array.of(0x50, ...new Uint8Array(40)), 0, 41), null, 'version 5');
});

test('a prefix added to a second peer moves off the first; host bits ignored; removal', (t) => {
  const a = new AllowedIps<object>();
  a.insert('10.99.0.2/32', A);
  a.insert('10.99.0.7/24', A); // host bits dropped: 10.99.0.0/24
  t.deepEqual(a.prefixesOf(A).map(String), ['10.99.0.2/32', '10.99.0.0/24']);
  a.insert('10.99.0.2/32', B);
  t.deepEqual(a.prefixesOf(A).map(String), ['10.99.0.0/24']);
  t.deepEqual(a.prefixesOf(B).map(String), ['10.99.0.2/32']);
  t.is(a.lookupV4(parseIPv4('10.99.0.2')), B);
  t.is(a.lookupV4(parseIPv4('10.99.0.3')), A);
  t.false(a.remove('10.99.0.2/32', A), 'A does not hold it any more');
  t.true(a.remove('10.99.0.2/32', B));
  t.is(a.lookupV4(parseIPv4('10.99.0.2')), A, 'falls back to the /24');
  a.insert('fd00::/8', B);
  a.removeOwner(A);
  t.is(a.lookupV4(parseIPv4('10.99.0.3')), null);
  t.is(a.size, 1);
  t.throws(() => a.insert('10.0.0.0/33', A), { code: 'ERR_PKT_INVALID_ADDRESS' });
});

test('the table is bounded', (t) => {
  const a = new AllowedIps<object>(2);
  a.insert('10.0.0.1', A);
  a.insert('10.0.0.2', A);
  t.throws(() => a.insert('10.0.0.3', A), { code: 'ERR_PKT_LIMIT' });
  a.insert('10.0.0.2', B); // a move is not a new prefix
  t.is(a.lookupV4(parseIPv4('10.0.0.2')), B);
});

test('differential against a linear scan (fast-check, IPv4)', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 2 })), { maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 20 }),
      (routes, probes) => {
        const owners = [A, B, C];
        const a = new AllowedIps<object>();
        const ref = new Map<string, { p: IpPrefix; o: object }>();
        for (const [addr, bits, o] of routes) {
          const p = new IpPrefix(IpAddr.fromV4(addr), bits).masked();
          a.insert(p, owners[o]!);
          ref.set(p.toString(), { p, o: owners[o]! });
        }
        for (const x of probes) {
          let best: { p: IpPrefix; o: object } | null = null;
          for (const r of ref.values()) if (r.p.containsV4(x) && (best === null || r.p.bits > best.p.bits)) best = r;
          if (a.lookupV4(x) !== (best?.o ?? null)) return false;
        }
        return true;
      },
    ),
  );
  t.pass();
});

test('lookups allocate nothing (1M IPv4 + 1M IPv6 lookups, counted after warm-up)', (t) => {
  const url = new URL('../../src/wg/allowed-ips.js', import.meta.url).href;
  const setup = `
    import { AllowedIps } from ${JSON.stringify(url)};
    const a = new AllowedIps();
    const peers = [];
    for (let i = 0; i < 256; i++) { const p = { i }; peers.push(p); a.insert('192.168.' + i + '.0/24', p); a.insert('fd00:0:0:' + i.toString(16) + '::/64', p); }
    a.insert('0.0.0.0/0', peers[0]);
    const p4 = new Uint8Array(20); p4[0] = 0x45; p4[16] = 192; p4[17] = 168;
    const p6 = new Uint8Array(40); p6[0] = 0x60; p6[24] = 0xfd;
    let hits = 0;
    function step(n) { for (let i = 0; i < n; i++) { p4[18] = i & 255; p6[31] = i & 255; if (a.lookupDestination(p4, 0, 20) !== null) hits++; if (a.lookupDestination(p6, 0, 40) !== null) hits++; } }
  `;
  const s = scavengesAfterWarmup(setup, 1_000_000);
  t.log(`${s} scavenges`);
  t.true(s <= 1, `${s} scavenges`);
});
