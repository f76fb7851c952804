import test from 'ava';
import { PktRangeError, PktTypeError } from '../../src/errors.js';
import { ADDR_WORDS, AddrWord, UdpAddrView, UdpEndpoint, copyRecord } from '../../src/udp/index.js';

const roundTrip = test.macro({
  exec(t, text: string, words: number[]) {
    const e = UdpEndpoint.parse(text);
    t.deepEqual(Array.from(e.record), [...words, 0]);
    t.is(e.toString(), text);
    t.true(UdpEndpoint.parse(e.toString()).equals(e));
  },
  title: (_ = '', text: string) => `UdpEndpoint ${text}: record and text round-trip`,
});

test(roundTrip, '127.0.0.1:51820', [4, 51820, 0x7f00_0001, 0, 0, 0, 0]);
test(roundTrip, '192.168.1.1:0', [4, 0, 0xc0a8_0101 | 0, 0, 0, 0, 0]);
test(roundTrip, '[::1]:443', [6, 443, 0, 0, 0, 1, 0]);
test(roundTrip, '[2001:db8::8:800:200c:417a]:65535', [6, 65535, 0x2001_0db8, 0, 0x0008_0800, 0x200c_417a, 0]);
test(roundTrip, '[fe80::1%3]:546', [6, 546, 0xfe80_0000 | 0, 0, 0, 1, 3]);

const rejected = test.macro({
  exec(t, text: unknown) {
    const e = t.throws(() => UdpEndpoint.from(text as string), { instanceOf: PktTypeError });
    t.is(e?.code, 'ERR_PKT_INVALID_ADDRESS');
  },
  title: (_ = '', text: unknown) => `UdpEndpoint rejects ${JSON.stringify(text)}`,
});

for (const bad of ['127.0.0.1', '127.0.0.1:65536', '127.0.0.1:-1', '::1:80', '[::1]80', '[127.0.0.1]:80', 'localhost:80', '[fe80::1%eth0]:1', '1.2.3.4:5x', '', 42, null]) test(rejected, bad);

test('UdpEndpoint.of and { address, port } agree; ports and scopes are range-checked', (t) => {
  t.true(UdpEndpoint.of('10.0.0.1', 53).equals(UdpEndpoint.from({ address: '10.0.0.1', port: 53 })));
  t.is(UdpEndpoint.of('2001:db8::1', 5, 7).scope, 7);
  t.is(UdpEndpoint.of('10.0.0.1', 53).address.toString(), '10.0.0.1');
  t.is(UdpEndpoint.of('2001:db8::1', 53).address.toString(), '2001:db8::1');
  t.throws(() => UdpEndpoint.of('10.0.0.1', 70000), { instanceOf: PktRangeError });
  t.throws(() => UdpEndpoint.of('10.0.0.1', 1.5), { instanceOf: PktRangeError });
});

test('UdpAddrView reads records in place at any offset, and copies into an owned endpoint', (t) => {
  const words = new Int32Array(ADDR_WORDS * 3);
  copyRecord(UdpEndpoint.parse('10.1.2.3:4000').record, 0, words, ADDR_WORDS);
  copyRecord(UdpEndpoint.parse('[2001:db8::2]:4001').record, 0, words, ADDR_WORDS * 2);
  words[ADDR_WORDS + AddrWord.Segment] = 1400; // a GRO segment size is not part of the peer
  const v = new UdpAddrView();
  v.reset(words, ADDR_WORDS);
  t.is(v.family, 4);
  t.is(v.port, 4000);
  t.is(v.ipv4, 0x0a01_0203);
  t.is(v.ipv4i, 0x0a01_0203);
  t.is(v.toString(), '10.1.2.3:4000');
  t.true(v.equals(UdpEndpoint.parse('10.1.2.3:4000')));
  const owned = v.copy();
  v.reset(words, ADDR_WORDS * 2);
  t.is(v.family, 6);
  t.is(v.addrWord(0), 0x2001_0db8);
  t.is(v.addrWord(3), 2);
  t.is(v.toString(), '[2001:db8::2]:4001');
  t.is(owned.toString(), '10.1.2.3:4000', 'the copy does not follow the view');
  v.reset(words, 0);
  t.is(v.family, 0);
  t.is(v.toString(), '(none)');
});

test('an IPv4 address at or above 2^31 reads back as a u32 and as its int32', (t) => {
  const v = new UdpAddrView().reset(UdpEndpoint.parse('200.0.0.1:1').record, 0);
  t.is(v.ipv4, 0xc800_0001);
  t.is(v.ipv4i, 0xc800_0001 | 0);
});
