import test from 'ava';
import fc from 'fast-check';
import { IpAddr, IpPrefix, formatIPv4, formatIPv6, formatMac, isGroupMac, parseIPv4, parseIPv6, parseMac, randomLocalMac } from '../../src/wire/addr.js';
import { PktTypeError } from '../../src/errors.js';
import { toHex } from '../helpers/bytes.js';

test('MAC parse and format', (t) => {
  t.is(parseMac('52:54:00:12:34:56'), 0x5254_0012_3456);
  t.is(parseMac('FF-FF-FF-FF-FF-FF'), 0xffff_ffff_ffff);
  t.is(formatMac(0x0200_0000_0001), '02:00:00:00:00:01');
  for (const bad of ['52:54:00:12:34', '52:54:00:12:34:5g', '', '5254.0012.3456']) {
    const e = t.throws(() => parseMac(bad), { instanceOf: PktTypeError });
    t.is(e?.code, 'ERR_PKT_INVALID_ADDRESS');
  }
});

test('group MACs and random local MACs', (t) => {
  t.true(isGroupMac(0xffff_ffff_ffff));
  t.true(isGroupMac(0x0100_5e00_0001));
  t.true(isGroupMac(0x3333_0000_0001));
  t.false(isGroupMac(0x0200_0000_0001));
  for (let i = 0; i < 100; i++) {
    const m = randomLocalMac();
    t.false(isGroupMac(m));
    t.is(Math.floor(m / 2 ** 40) & 2, 2, 'locally administered');
  }
});

test('IPv4 parse and format are strict', (t) => {
  t.is(parseIPv4('192.168.0.1'), 0xc0a80001);
  t.is(formatIPv4(0xffffffff), '255.255.255.255');
  for (const bad of ['256.0.0.1', '1.2.3', '01.2.3.4', '1.2.3.4.5', ' 1.2.3.4']) t.throws(() => parseIPv4(bad), { instanceOf: PktTypeError });
});

// RFC 5952 §4 and its examples.
const v6 = test.macro({
  exec(t, input: string, canonical: string) {
    t.is(formatIPv6(parseIPv6(input)), canonical);
  },
  title: (_w, input, canonical) => `IPv6 ${input} -> ${canonical}`,
});
test(v6, '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1');
test(v6, '2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'); // §4.2.3: first of equal runs
test(v6, '2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'); // §4.2.2: a lone zero is not shortened
test(v6, '2001:DB8::0:1', '2001:db8::1'); // §4.3 lower case
test(v6, '::', '::');
test(v6, '::1', '::1');
test(v6, 'fe80::', 'fe80::');
test(v6, '::ffff:192.0.2.1', '::ffff:192.0.2.1'); // §5
test(v6, '64:ff9b::192.0.2.33', '64:ff9b::c000:221');

test('IPv6 rejects malformed text', (t) => {
  for (const bad of ['1::2::3', '12345::', 'g::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'fe80::1%eth0', ':1', '']) {
    t.throws(() => parseIPv6(bad), { instanceOf: PktTypeError }, bad);
  }
});

test('property: IPv6 format -> parse is the identity', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => toHex(parseIPv6(formatIPv6(b))) === toHex(b)),
    { numRuns: 2000 },
  );
  t.pass();
});

test('prefixes keep host bits, mask on demand, and match without allocation', (t) => {
  const p = IpPrefix.parse('10.1.2.3/8');
  t.is(p.toString(), '10.1.2.3/8');
  t.is(p.masked().toString(), '10.0.0.0/8');
  t.true(p.containsV4(0x0affffff));
  t.false(p.containsV4(0x0b000000));
  const q = IpPrefix.parse('2001:db8:abcd::1/33');
  t.is(q.masked().toString(), '2001:db8:8000::/33');
  t.true(q.contains(IpAddr.parse('2001:db8:ffff::')));
  t.false(q.contains(IpAddr.parse('2001:db8:7fff::')));
  t.false(q.contains(IpAddr.parse('10.0.0.1')));
  t.is(IpPrefix.parse('::/0').masked().toString(), '::/0');
  t.true(IpPrefix.parse('0.0.0.0/0').containsV4(0xdeadbeef));
  t.is(IpPrefix.parse('192.0.2.1').bits, 32);
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '::/129', '10.0.0.0/08', 'x/1']) t.throws(() => IpPrefix.parse(bad), { instanceOf: PktTypeError });
});
