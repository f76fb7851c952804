import test from 'ava';
import fc from 'fast-check';
import { RouteTable } from '../../src/core/route-table.js';
import { IpAddr, IpPrefix } from '../../src/wire/addr.js';
import { PktError } from '../../src/errors.js';

test('longest prefix wins, for IPv4 and IPv6, with overlaps', (t) => {
  const rt = new RouteTable<string>();
  rt.add(IpPrefix.parse('0.0.0.0/0'), 'default');
  rt.add(IpPrefix.parse('10.0.0.0/8'), 'ten');
  rt.add(IpPrefix.parse('10.1.0.0/16'), 'ten-one');
  rt.add(IpPrefix.parse('10.1.2.3/32'), 'host');
  rt.add(IpPrefix.parse('2001:db8::/32'), 'doc');
  rt.add(IpPrefix.parse('2001:db8:1::/48'), 'doc-1');
  rt.add(IpPrefix.parse('2001:db8:1::7/128'), 'doc-host');
  const v4 = (s: string) => rt.lookupV4(IpAddr.parse(s).v4);
  const v6 = (s: string) => rt.lookupV6(IpAddr.parse(s).bytes, 0);
  t.is(v4('10.1.2.3'), 'host');
  t.is(v4('10.1.2.4'), 'ten-one');
  t.is(v4('10.2.0.1'), 'ten');
  t.is(v4('192.0.2.1'), 'default');
  t.is(v4('255.255.255.255'), 'default');
  t.is(v6('2001:db8:1::7'), 'doc-host');
  t.is(v6('2001:db8:1::8'), 'doc-1');
  t.is(v6('2001:db8:2::1'), 'doc');
  t.is(v6('2001:db9::1'), null);
  rt.remove(IpPrefix.parse('10.1.0.0/16'), 'ten-one');
  t.is(v4('10.1.2.4'), 'ten');
  t.is(rt.size, 6);
});

test('a prefix claimed twice belongs to the first claimant until it leaves', (t) => {
  const rt = new RouteTable<string>();
  const p = IpPrefix.parse('192.168.0.7/24');
  rt.add(p, 'a');
  rt.add(IpPrefix.parse('192.168.0.0/24'), 'b');
  t.is(rt.lookupV4(IpAddr.parse('192.168.0.99').v4), 'a');
  rt.removeOwner('a');
  t.is(rt.lookupV4(IpAddr.parse('192.168.0.99').v4), 'b');
  rt.remove(p, 'b');
  t.is(rt.size, 0);
});

test('the table is bounded', (t) => {
  const rt = new RouteTable<number>(2);
  rt.add(IpPrefix.parse('10.0.0.0/8'), 1);
  rt.add(IpPrefix.parse('::/0'), 1);
  rt.add(IpPrefix.parse('10.0.0.0/8'), 2); // same prefix, second owner: no new route
  const e = t.throws(() => rt.add(IpPrefix.parse('11.0.0.0/8'), 1), { instanceOf: PktError });
  t.is(e?.code, 'ERR_PKT_LIMIT');
});

// Brute force: the owner of the longest containing prefix, first claimant on ties.
function brute(routes: [IpPrefix, number][], a: IpAddr): number | null {
  let best: [IpPrefix, number] | null = null;
  for (const r of routes) if (r[0].family === a.family && r[0].contains(a) && (best === null || r[0].bits > best[0].bits)) best = r;
  return best?.[1] ?? null;
}

test('property: lookups agree with brute-force LPM (IPv4 and IPv6)', (t) => {
  const v4 = fc.tuple(fc.constantFrom(0x0a000000, 0x0a010000, 0xc0a80000), fc.nat(0xffff), fc.integer({ min: 0, max: 32 }));
  const v6 = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }));
  fc.assert(
    fc.property(fc.array(fc.oneof(v4, v6), { maxLength: 40 }), fc.array(fc.oneof(v4, v6), { maxLength: 40 }), (rs, qs) => {
      const rt = new RouteTable<number>();
      const routes: [IpPrefix, number][] = [];
      rs.forEach((r, i) => {
        const p = r.length === 3 ? new IpPrefix(IpAddr.fromV4((r[0] + r[1]) >>> 0), r[2]) : new IpPrefix(IpAddr.fromBytes(r[0]), r[1]);
        // Keep the first claimant per network, as the table does.
        if (!routes.some(([q]) => q.sameNetwork(p))) routes.push([p, i]);
        rt.add(p, i);
      });
      for (const q of [...qs, ...rs]) {
        const a = q.length === 3 ? IpAddr.fromV4((q[0] + q[1]) >>> 0) : IpAddr.fromBytes(q[0]);
        const got = a.family === 4 ? rt.lookupV4(a.v4) : rt.lookupV6(a.bytes, 0);
        if (got !== brute(routes, a)) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});
