import test from 'ava';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import {
  DNS_HEADER_LEN,
  DnsClass,
  DnsReader,
  DnsRcode,
  DnsSection,
  DnsType,
  DnsView,
  dnsFullRcode,
  isDnsRecord,
  type DnsEdns,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
} from '../../src/wire/dns.js';
import { buildQuery, decodeDns, dnsEmitLen, emitDns } from '../../src/wire/dns-codec.js';
import {
  DNS_MAX_POINTER_HOPS,
  dnsNameEncode,
  dnsNameEquals,
  dnsNameFromText,
  dnsNameToText,
  dnsNameWireLen,
  dnsSkipName,
} from '../../src/wire/dns-name.js';
import { formatIPv4, formatIPv6 } from '../../src/wire/addr.js';
import { be32 } from '../../src/wire/bytes.js';
import { WIRE_STATUS_NAMES, WireStatus } from '../../src/wire/status.js';
import { PktRangeError, PktTypeError, WireFormatError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { BoundsProbe } from '../helpers/bounds.js';
import { scalingRatio } from '../helpers/scaling.js';
import * as V from '../vectors/dns-captured.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A 12-byte header as hex: id 0x1234, RD set, and the four counts. */
function hdr(qd: number, an = 0, ns = 0, ar = 0): string {
  const h = (n: number) => n.toString(16).padStart(4, '0');
  return `1234 0100 ${h(qd)} ${h(an)} ${h(ns)} ${h(ar)} `;
}

// ---------------------------------------------------------------------------------------------
// Header view

test('header getters on captured dig queries and dnsmasq responses', (t) => {
  const v = new DnsView();
  v.reset(fromHex(V.DNS_A_PLAIN_QUERY));
  t.is(v.check(), WireStatus.Ok);
  t.is(v.id, 0x6357);
  t.false(v.qr);
  t.is(v.opcode, 0);
  t.true(v.rd);
  t.false(v.ad, 'dig +noad');
  t.deepEqual([v.qdCount, v.anCount, v.nsCount, v.arCount], [1, 0, 0, 0]);

  v.reset(fromHex(V.DNS_AAAA_QUERY));
  t.is(v.flags, 0x0120);
  t.true(v.rd && v.ad, 'dig sets AD in queries by default (RFC 6840 §5.7)');
  t.false(v.cd);
  t.is(v.arCount, 1, 'the OPT record');

  v.reset(fromHex(V.DNS_CNAME_RESPONSE));
  t.is(v.id, 0x4720);
  t.true(v.qr && v.aa && v.rd && v.ra);
  t.false(v.tc || v.z || v.ad || v.cd);
  t.is(v.rcode, DnsRcode.NoError);
  t.deepEqual([v.qdCount, v.anCount, v.nsCount, v.arCount], [1, 2, 0, 1]);

  v.reset(fromHex(V.DNS_AUTH_NXDOMAIN_RESPONSE));
  t.is(v.flags, 0x8503);
  t.false(v.ra, 'dnsmasq in authoritative mode offers no recursion');
  t.is(v.rcode, DnsRcode.NXDomain);
  t.is(v.nsCount, 1);

  t.is(v.reset(fromHex('1234 0100 0000 0000 0000 00')).check(), WireStatus.Truncated);
});

test('header setters write exactly their bits into a 0xa5-filled buffer', (t) => {
  const b = filled(16);
  const v = new DnsView().reset(b, 2, 12);
  v.id = 0xbeef;
  // Flags start as 0xa5a5: QR=1 opcode=4 AA=1 TC=0 RD=1 | RA=1 Z=0 AD=1 CD=0 rcode=5.
  v.qr = false;
  v.opcode = 5;
  v.aa = false;
  v.tc = true;
  v.rd = true;
  v.ra = false;
  v.ad = false;
  v.cd = true;
  v.rcode = 3;
  v.qdCount = 1;
  v.anCount = 0x0203;
  v.nsCount = 0;
  v.arCount = 0xffff;
  // QR=0 opcode=0101 AA=0 TC=1 RD=1 | RA=0 Z=0 (untouched) AD=0 CD=1 rcode=0011.
  t.is(toHex(b), 'a5a5' + 'beef' + '2b13' + '0001' + '0203' + '0000' + 'ffff' + 'a5a5');
  t.deepEqual([v.qr, v.opcode, v.aa, v.tc, v.rd, v.ra, v.z, v.ad, v.cd, v.rcode], [false, 5, false, true, true, false, false, false, true, 3]);
  v.z = true;
  t.is(v.flags, 0x2b53);
  v.flags = 0;
  t.is(toHex(b, 4, 2), '0000');
});

// ---------------------------------------------------------------------------------------------
// The zero-allocation reader

test('reader walks a captured CNAME answer and checks it against the question without strings', (t) => {
  const msg = fromHex(V.DNS_CNAME_RESPONSE);
  const qname = dnsNameFromText('ALIAS.pktkit.Test'); // case differs: RFC 4343 comparison
  const rd = new DnsReader().reset(msg);
  const seen: string[] = [];
  let cnameTarget = -1;
  let addr = 0;
  while (rd.next()) {
    seen.push(`${rd.section}/${rd.index} name@${rd.nameOff} type ${rd.type} class ${rd.class} ttl ${rd.ttl} rdata@${rd.rdataOff}+${rd.rdataLen}`);
    if (rd.section === DnsSection.Question) t.true(rd.nameEquals(qname, 0, qname.length, 0));
    if (rd.section === DnsSection.Answer && rd.type === DnsType.CNAME && rd.nameEquals(qname, 0, qname.length, 0)) {
      cnameTarget = rd.rdataOff;
    }
    if (rd.section === DnsSection.Answer && rd.type === DnsType.A && rd.nameEquals(msg, 0, msg.length, cnameTarget)) {
      addr = be32(msg, rd.rdataOff);
    }
    if (rd.type === DnsType.OPT) {
      t.is(rd.ednsUdpSize, 1232);
      t.is(rd.ednsVersion, 0);
      t.is(rd.ednsExtRcode, 0);
      t.false(rd.ednsDo);
    }
  }
  t.is(rd.status, WireStatus.Ok);
  t.is(rd.pos, msg.length);
  t.deepEqual(seen, [
    '0/0 name@12 type 1 class 1 ttl 0 rdata@35+0',
    '1/0 name@35 type 5 class 1 ttl 0 rdata@47+17',
    '1/1 name@64 type 1 class 1 ttl 0 rdata@76+4',
    '3/0 name@80 type 41 class 1232 ttl 0 rdata@91+0',
  ]);
  t.is(cnameTarget, 47);
  t.is(formatIPv4(addr), '10.99.0.10');
  t.is(rd.section, DnsSection.End);
  t.false(rd.next(), 'stays at the end');
});

test('reader: EDNS fields of a DO query, TTLs above 2^31, and a message at an offset', (t) => {
  const q = fromHex(V.DNS_MULTI_DO_QUERY);
  const big = filled(q.length + 10);
  big.set(q, 7);
  const rd = new DnsReader().reset(big, 7, q.length);
  while (rd.next() && rd.type !== DnsType.OPT);
  t.is(rd.section, DnsSection.Additional);
  t.true(rd.ednsDo);
  t.is(rd.ednsFlags, 0x8000);
  t.is(rd.rdataLen, 12, 'the COOKIE option');
  const mq = dnsNameFromText('multi.pktkit.test');
  t.true(dnsNameEquals(big, 7, 7 + q.length, 7 + DNS_HEADER_LEN, mq, 0, mq.length, 0));

  const m = fromHex(hdr(0, 1) + '00 0001 0001 fffffffe 0004 0a000001');
  rd.reset(m);
  t.true(rd.next());
  t.is(rd.ttl, 0xfffffffe);
  t.is(rd.ttlBits, -2, 'kept as an int32 so the field stays a small integer');
});

// ---------------------------------------------------------------------------------------------
// Cold decode of real messages

const common = { id: 0, qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: true, z: false, ad: false, cd: false, rcode: 0 };
const edns1232: DnsEdns = { udpSize: 1232, extRcode: 0, version: 0, do: false, z: 0, options: [] };
const IN = DnsClass.IN;
const soa = {
  mname: 'ns.pktkit.test',
  rname: 'hostmaster.pktkit.test',
  serial: 2026112201,
  refresh: 1200,
  retry: 120,
  expire: 1209600,
  minimum: 300,
};

const decodes = test.macro({
  exec(t, hex: string, want: DnsMessage) {
    t.deepEqual(decodeDns(fromHex(hex)), want);
  },
  title: (what = '') => `decodeDns: ${what} (values as dig printed them)`,
});
test('CNAME then A', decodes, V.DNS_CNAME_RESPONSE, {
  ...common,
  id: 0x4720,
  questions: [{ name: 'alias.pktkit.test', type: DnsType.A, class: IN }],
  answers: [
    { name: 'alias.pktkit.test', type: DnsType.CNAME, class: IN, ttl: 0, data: 'www.pktkit.test' },
    { name: 'www.pktkit.test', type: DnsType.A, class: IN, ttl: 0, data: '10.99.0.10' },
  ],
  authorities: [],
  additionals: [],
  edns: edns1232,
});
test('MX with A and AAAA additionals', decodes, V.DNS_MX_RESPONSE, {
  ...common,
  id: 0x1a9c,
  questions: [{ name: 'pktkit.test', type: DnsType.MX, class: IN }],
  answers: [{ name: 'pktkit.test', type: DnsType.MX, class: IN, ttl: 0, data: { preference: 10, exchange: 'mail.pktkit.test' } }],
  authorities: [],
  additionals: [
    { name: 'mail.pktkit.test', type: DnsType.A, class: IN, ttl: 0, data: '10.99.0.25' },
    { name: 'mail.pktkit.test', type: DnsType.AAAA, class: IN, ttl: 0, data: 'fd99::25' },
  ],
  edns: edns1232,
});
test('SRV', decodes, V.DNS_SRV_RESPONSE, {
  ...common,
  id: 0x52b8,
  questions: [{ name: '_sip._udp.pktkit.test', type: DnsType.SRV, class: IN }],
  answers: [
    { name: '_sip._udp.pktkit.test', type: DnsType.SRV, class: IN, ttl: 0, data: { priority: 10, weight: 20, port: 5060, target: 'sip.pktkit.test' } },
  ],
  authorities: [],
  additionals: [{ name: 'sip.pktkit.test', type: DnsType.A, class: IN, ttl: 0, data: '10.99.0.40' }],
  edns: edns1232,
});
test('TXT with two strings', decodes, V.DNS_TXT_RESPONSE, {
  ...common,
  id: 0xde34,
  questions: [{ name: 'txt.pktkit.test', type: DnsType.TXT, class: IN }],
  answers: [{ name: 'txt.pktkit.test', type: DnsType.TXT, class: IN, ttl: 0, data: [utf8('v=pktkit golden'), utf8('second string')] }],
  authorities: [],
  additionals: [],
  edns: edns1232,
});
test('PTR', decodes, V.DNS_PTR_RESPONSE, {
  ...common,
  id: 0x01f2,
  questions: [{ name: '10.0.99.10.in-addr.arpa', type: DnsType.PTR, class: IN }],
  answers: [{ name: '10.0.99.10.in-addr.arpa', type: DnsType.PTR, class: IN, ttl: 0, data: 'www.pktkit.test' }],
  authorities: [],
  additionals: [],
  edns: edns1232,
});
test('two A records with DO', decodes, V.DNS_MULTI_DO_RESPONSE, {
  ...common,
  id: 0xfc76,
  questions: [{ name: 'multi.pktkit.test', type: DnsType.A, class: IN }],
  answers: [
    { name: 'multi.pktkit.test', type: DnsType.A, class: IN, ttl: 0, data: '10.99.0.30' },
    { name: 'multi.pktkit.test', type: DnsType.A, class: IN, ttl: 0, data: '10.99.0.31' },
  ],
  authorities: [],
  additionals: [],
  edns: { ...edns1232, do: true },
});
test('authoritative SOA with NS in authority', decodes, V.DNS_AUTH_SOA_RESPONSE, {
  ...common,
  id: 0x2b35,
  ra: false,
  questions: [{ name: 'pktkit.test', type: DnsType.SOA, class: IN }],
  answers: [{ name: 'pktkit.test', type: DnsType.SOA, class: IN, ttl: 300, data: soa }],
  authorities: [{ name: 'pktkit.test', type: DnsType.NS, class: IN, ttl: 300, data: 'ns.pktkit.test' }],
  additionals: [],
  edns: edns1232,
});
test('authoritative NXDOMAIN with the SOA', decodes, V.DNS_AUTH_NXDOMAIN_RESPONSE, {
  ...common,
  id: 0xbc72,
  ra: false,
  rcode: DnsRcode.NXDomain,
  questions: [{ name: 'nope.pktkit.test', type: DnsType.A, class: IN }],
  answers: [],
  authorities: [{ name: 'pktkit.test', type: DnsType.SOA, class: IN, ttl: 300, data: soa }],
  additionals: [],
  edns: edns1232,
});
test('a dig query with a COOKIE option', decodes, V.DNS_AAAA_QUERY, {
  ...common,
  id: 0x2bd2,
  qr: false,
  aa: false,
  ra: false,
  ad: true,
  questions: [{ name: 'www.pktkit.test', type: DnsType.AAAA, class: IN }],
  answers: [],
  authorities: [],
  additionals: [],
  edns: { ...edns1232, options: [{ code: 10, data: fromHex('913d905caf2fadba') }] },
});

test('isDnsRecord narrows, dnsFullRcode adds the EDNS bits', (t) => {
  const m = decodeDns(fromHex(V.DNS_MX_RESPONSE));
  const mx = m.answers[0]!;
  t.true(isDnsRecord(mx, DnsType.MX));
  if (isDnsRecord(mx, DnsType.MX)) t.is(mx.data.exchange, 'mail.pktkit.test');
  t.false(isDnsRecord(mx, DnsType.A));
  t.is(dnsFullRcode(m), 0);
  t.is(dnsFullRcode({ ...m, rcode: 0, edns: { ...edns1232, extRcode: 1 } }), DnsRcode.BadVers);
});

// ---------------------------------------------------------------------------------------------
// Emitting

test('emit reproduces every captured dig query byte for byte', (t) => {
  for (const v of V.DNS_CAPTURED.filter((x) => x.kind === 'query')) {
    const m = decodeDns(fromHex(v.hex));
    const out = new Uint8Array(dnsEmitLen(m));
    t.is(emitDns(m, out, 0), out.length);
    t.is(toHex(out), v.hex, v.label);
  }
});

test('emit matches dnsmasq byte for byte where dnsmasq compresses as we do', (t) => {
  // dnsmasq points owners at the question and into SRV targets as this emitter does; it leaves
  // CNAME and MX targets, and in authoritative mode everything, uncompressed, where we compress.
  const same = ['a-plain', 'aaaa', 'txt', 'srv', 'ptr', 'nxdomain', 'multi-do'];
  for (const v of V.DNS_CAPTURED.filter((x) => x.kind === 'response')) {
    const m = decodeDns(fromHex(v.hex));
    const out = new Uint8Array(dnsEmitLen(m));
    emitDns(m, out, 0);
    if (same.includes(v.label)) t.is(toHex(out), v.hex, v.label);
    else t.true(out.length < v.hex.length / 2, `${v.label}: ours is shorter`);
    t.deepEqual(decodeDns(out), m, v.label);
  }
});

test('buildQuery writes what dig wrote', (t) => {
  t.is(toHex(buildQuery(0x6357, 'www.pktkit.test', DnsType.A)), V.DNS_A_PLAIN_QUERY);
  t.is(toHex(buildQuery(0x6357, 'www.pktkit.test.', DnsType.A, { rd: true, edns: false })), V.DNS_A_PLAIN_QUERY);
  const cookie = { code: 10, data: fromHex('913d905caf2fadba') };
  const q = buildQuery(0x2bd2, 'www.pktkit.test', DnsType.AAAA, { edns: { udpSize: 1232, options: [cookie] } });
  new DnsView().reset(q).ad = true; // dig also sets AD, which buildQuery leaves to the caller
  t.is(toHex(q), V.DNS_AAAA_QUERY);
  const d = decodeDns(buildQuery(1, 'example.com', DnsType.MX, { rd: false, edns: true, class: DnsClass.CH }));
  t.false(d.rd);
  t.deepEqual(d.questions, [{ name: 'example.com', type: DnsType.MX, class: DnsClass.CH }]);
  t.deepEqual(d.edns, edns1232);
});

/** One record of every type the codec knows, plus a raw one, sharing suffixes so they compress. */
const everyType: DnsMessage = {
  ...common,
  id: 0xabcd,
  ad: true,
  cd: true,
  rcode: 0,
  questions: [{ name: 'www.Example.com', type: DnsType.ANY, class: DnsClass.ANY }],
  answers: [
    { name: 'www.Example.com', type: DnsType.CNAME, class: IN, ttl: 60, data: 'web.example.com' },
    { name: 'web.example.com', type: DnsType.A, class: IN, ttl: 0x7fffffff, data: '192.0.2.1' },
    { name: 'web.example.com', type: DnsType.AAAA, class: IN, ttl: 0xffffffff, data: '2001:db8::1' },
    { name: 'example.com', type: DnsType.MX, class: IN, ttl: 1, data: { preference: 5, exchange: 'mx.example.com' } },
    { name: 'example.com', type: DnsType.TXT, class: IN, ttl: 1, data: [utf8('a\u00e9'), new Uint8Array(255), new Uint8Array(0)] },
    { name: '_x._tcp.example.com', type: DnsType.SRV, class: IN, ttl: 1, data: { priority: 0, weight: 65535, port: 443, target: 'web.example.com' } },
    { name: '1.2.0.192.in-addr.arpa', type: DnsType.PTR, class: IN, ttl: 1, data: 'web.example.com' },
    { name: 'example.com', type: 257, class: IN, ttl: 1, data: fromHex('0005 697373756563612e6f7267') }, // CAA, raw
  ],
  authorities: [
    { name: 'example.com', type: DnsType.NS, class: IN, ttl: 1, data: 'ns1.example.com' },
    { name: 'example.com', type: DnsType.SOA, class: IN, ttl: 1, data: { ...soa, mname: 'ns1.example.com', rname: 'host\\.master.example.com' } },
  ],
  additionals: [{ name: 'ns1.example.com', type: DnsType.A, class: DnsClass.CH, ttl: 1, data: '198.51.100.7' }],
  edns: { udpSize: 4096, extRcode: 0, version: 0, do: true, z: 0, options: [{ code: 65001, data: fromHex('0102') }, { code: 3, data: new Uint8Array(0) }] },
};

test('emit -> decode -> emit round trip, also at a nonzero offset in a larger buffer', (t) => {
  const len = dnsEmitLen(everyType);
  const a = filled(len);
  t.is(emitDns(everyType, a, 0), len);
  const back = decodeDns(a);
  t.deepEqual(back, everyType);
  const big = filled(len + 64);
  t.is(emitDns(back, big, 37), len);
  t.is(toHex(big, 37, len), toHex(a));
  t.is(toHex(big, 0, 37), toHex(filled(37)), 'nothing written before the offset');
  t.is(toHex(big, 37 + len), toHex(filled(64 - 37)), 'nothing written after the message');
  t.deepEqual(decodeDns(big, 37, len), everyType, 'pointers count from the message start');
  // Case is kept: 'www.Example.com' is not pointed at by 'web.example.com' (exact-match table).
  t.is(back.questions[0]!.name, 'www.Example.com');
  t.is(back.answers[0]!.data, 'web.example.com');
});

test('compression: owners and rdata names point back, SRV targets stay whole', (t) => {
  const m = {
    id: 1,
    questions: [{ name: 'a.example.com', type: DnsType.A, class: IN }],
    answers: [
      { name: 'a.example.com', type: DnsType.CNAME, class: IN, ttl: 0, data: 'b.example.com' },
      { name: '_s._tcp.example.com', type: DnsType.SRV, class: IN, ttl: 0, data: { priority: 0, weight: 0, port: 1, target: 'c.example.com' } },
      { name: 'c.example.com', type: DnsType.A, class: IN, ttl: 0, data: '192.0.2.3' },
    ] satisfies DnsRecord[],
  };
  const b = new Uint8Array(dnsEmitLen(m));
  emitDns(m, b, 0);
  // question 'a.example.com' at 12 (15 bytes); answer 0 owner -> c00c; CNAME rdata '\x01b' + c00e.
  t.is(toHex(b, 27, 4), '00010001');
  t.is(toHex(b, 31, 2), 'c00c');
  t.is(toHex(b, 41, 6), '000401 62 c00e'.replace(/ /g, ''));
  const srvRdata = 47 + 10 + 10; // owner '\x02_s\x04_tcp' + pointer, then the fixed fields
  t.is(toHex(b, srvRdata + 6, 15), toHex(dnsNameFromText('c.example.com')), 'target uncompressed (RFC 2782)');
  const last = srvRdata + 6 + 15;
  t.is(toHex(b, last, 2), (0xc000 | (srvRdata + 6)).toString(16), 'a later owner may point into it');
  t.deepEqual(decodeDns(b).answers, m.answers);
});

test('emit validates names and values before writing anything', (t) => {
  const bad = (name: string) => ({ questions: [{ name, type: 1, class: 1 }] });
  const cases: [string, RegExp][] = [
    ['a..b', /empty label/],
    ['.a', /empty label/],
    ['x'.repeat(64) + '.com', /label longer than 63/],
    [`${'x'.repeat(63)}.${'x'.repeat(63)}.${'x'.repeat(63)}.${'x'.repeat(62)}`, /more than 255 bytes/],
    ['caf\u00e9.example', /character "é"/],
    ['a b', /character " "/],
    ['a\\25', /three digits/],
    ['a\\256', /above \\255/],
    ['a\\', /backslash at the end/],
  ];
  for (const [name, re] of cases) {
    const e = t.throws(() => dnsEmitLen(bad(name)), { instanceOf: PktTypeError }, name);
    t.is(e?.code, 'ERR_PKT_INVALID_ARG');
    t.regex(e?.message ?? '', re);
    t.regex(e?.message ?? '', /expected a name of labels 1-63 bytes long, at most 255 bytes/);
  }
  // The longest legal name: 63+63+63+61 bytes of labels, 255 in wire form.
  const longest = `${'x'.repeat(63)}.${'x'.repeat(63)}.${'x'.repeat(63)}.${'x'.repeat(61)}`;
  t.is(dnsNameFromText(longest).length, 255);
  t.throws(() => buildQuery(1, 5 as unknown as string, 1), { instanceOf: PktTypeError, message: /expected a name as a string/ });
  t.throws(() => buildQuery(0x10000, 'a', 1), { instanceOf: PktRangeError, message: /dns: id: expected an integer in \[0, 65535\]/ });
  t.throws(() => dnsEmitLen({ answers: [{ name: 'a', type: DnsType.A, class: 1, ttl: 0, data: '1.2.3' }] }), {
    instanceOf: PktTypeError,
    message: /IPv4 address/,
  });
  t.throws(() => dnsEmitLen({ answers: [{ name: 'a', type: DnsType.TXT, class: 1, ttl: 0, data: [new Uint8Array(256)] }] }), {
    instanceOf: PktRangeError,
    message: /TXT string of a is 256 bytes, expected at most 255/,
  });
  t.throws(() => dnsEmitLen({ answers: [{ name: 'a', type: 99, class: 1, ttl: 0, data: 'text' as unknown as Uint8Array }] }), {
    instanceOf: PktTypeError,
    message: /type 99: expected its data as a Uint8Array/,
  });
  t.throws(() => dnsEmitLen({ answers: [{ name: 'a', type: DnsType.OPT, class: 1, ttl: 0, data: new Uint8Array(0) }] }), {
    instanceOf: PktTypeError,
    message: /edns field/,
  });
  t.throws(() => dnsEmitLen({ answers: [{ name: 'a', type: DnsType.A, class: 1, ttl: -1, data: '1.2.3.4' }] }), { instanceOf: PktRangeError });
  t.throws(() => dnsEmitLen({ edns: { version: 256 } }), { instanceOf: PktRangeError, message: /EDNS version/ });
  const buf = filled(20);
  t.throws(() => emitDns(everyType, buf, 0), { instanceOf: PktRangeError, message: /needs \d+ bytes at offset 0, buffer has 20/ });
  t.is(toHex(buf), toHex(filled(20)), 'nothing written');
});

// ---------------------------------------------------------------------------------------------
// Names

test('name helpers: skip, wire length, text, case-insensitive comparison across buffers', (t) => {
  const msg = fromHex(V.DNS_MX_RESPONSE);
  // dnsmasq wrote the MX exchange at 43 in full; the additional record's owner at 61 is a
  // pointer to it (0xc02b).
  const mxName = 12 + 13 + 4 + 2 + 10 + 2;
  const owner = mxName + 18;
  t.is(dnsSkipName(msg, 0, msg.length, mxName), owner);
  t.is(dnsSkipName(msg, 0, msg.length, owner), owner + 2);
  t.is(dnsNameWireLen(msg, 0, msg.length, mxName), 18);
  t.is(dnsNameWireLen(msg, 0, msg.length, owner), 18);
  t.is(dnsNameToText(msg, 0, msg.length, owner), 'mail.pktkit.test');
  t.true(dnsNameEquals(msg, 0, msg.length, owner, msg, 0, msg.length, mxName));
  const other = dnsNameFromText('MAIL.PKTKIT.TEST');
  t.true(dnsNameEquals(msg, 0, msg.length, owner, other, 0, other.length, 0));
  t.true(dnsNameEquals(other, 0, other.length, 0, msg, 0, msg.length, owner), 'symmetric');
  t.false(dnsNameEquals(msg, 0, msg.length, mxName, msg, 0, msg.length, 12), 'mail.pktkit.test vs pktkit.test');
  // Only ASCII folds: 0xC9 ('É' in Latin-1) and 0xE9 differ by 0x20 but are not letters here.
  t.false(dnsNameEquals(fromHex('01c900'), 0, 3, 0, fromHex('01e900'), 0, 3, 0));
  t.true(dnsNameEquals(fromHex('015a00'), 0, 3, 0, fromHex('017a00'), 0, 3, 0));
  t.false(dnsNameEquals(fromHex('0161'), 0, 2, 0, fromHex('0161'), 0, 2, 0), 'malformed is unequal');
  t.false(dnsNameEquals(fromHex('026100'), 0, 3, 0, fromHex('016100'), 0, 3, 0));
});

test('name text: escapes, root, trailing dot', (t) => {
  const w = dnsNameFromText('a\\.b.c\\\\d.\\000\\255\\032x.');
  t.is(toHex(w), '03612e62' + '03635c64' + '0400ff2078' + '00');
  t.is(dnsNameToText(w, 0, w.length, 0), 'a\\.b.c\\\\d.\\000\\255\\032x');
  t.is(toHex(dnsNameFromText('.')), '00');
  t.is(toHex(dnsNameFromText('')), '00');
  t.is(dnsNameToText(fromHex('00'), 0, 1, 0), '.');
  t.is(toHex(dnsNameFromText('\\A\\b')), '02416200', 'a backslash before another character is that character');
  const out = filled(260);
  t.is(dnsNameEncode('ab.c', out, 3), 6);
  t.is(toHex(out, 0, 10), 'a5a5a5' + '026162016300' + 'a5');
  t.throws(() => dnsNameToText(fromHex('c000'), 0, 2, 0), { instanceOf: WireFormatError, message: /bad-pointer/ });
});

// ---------------------------------------------------------------------------------------------
// Rejections

const rejects = test.macro({
  exec(t, hex: string, want: WireStatus) {
    const b = fromHex(hex);
    const rd = new DnsReader().reset(b);
    while (rd.next());
    t.is(rd.status, want, 'reader');
    const e = t.throws(() => decodeDns(b), { instanceOf: WireFormatError });
    t.is(e?.status, want, 'decodeDns');
    t.regex(e?.message ?? '', /^dns[: ]/);
  },
  title: (what = '', _hex, want: WireStatus) => `rejected as ${WIRE_STATUS_NAMES[want]!}: ${what}`,
});
const Q_A = '0001 0001';
test('forward pointer', rejects, hdr(1) + 'c020' + Q_A + '016100', WireStatus.BadPointer);
test('self pointer', rejects, hdr(1) + 'c00c' + Q_A, WireStatus.BadPointer);
test('pointer loop through a label (a -> a -> ...)', rejects, hdr(1) + '0161 c00c' + Q_A, WireStatus.BadPointer);
// Question 1 is the root with QTYPE bytes c0 11, a pointer cell at 13 aimed at 17; question 2 at
// 17 points at 13: 17 -> 13 -> 17 would loop; the second hop does not fall below the first.
test('pointer loop between two pointers', rejects, hdr(2) + '00 c011 0001' + 'c00d' + Q_A, WireStatus.BadPointer);
test('pointer into the header', rejects, hdr(1) + 'c005' + Q_A, WireStatus.BadPointer);
test('pointer cut off after one byte', rejects, hdr(1) + 'c0', WireStatus.Truncated);
test('label 64 bytes (its length byte 0x40 is label type 0b01)', rejects, hdr(1) + '40' + '61'.repeat(64) + '00' + Q_A, WireStatus.BadValue);
test('reserved label type 0b01 (RFC 2673 bit labels)', rejects, hdr(1) + '4101ff00' + Q_A, WireStatus.BadValue);
test('reserved label type 0b10', rejects, hdr(1) + '8000' + Q_A, WireStatus.BadValue);
const lbl = (n: number) => n.toString(16).padStart(2, '0') + '61'.repeat(n);
test('name 256 bytes', rejects, hdr(1) + lbl(63) + lbl(63) + lbl(63) + lbl(62) + '00' + Q_A, WireStatus.TooLong);
test('name 255 bytes is fine, one more byte through a pointer is not', rejects,
  hdr(2) + lbl(63) + lbl(63) + lbl(63) + lbl(61) + '00' + Q_A + '0161 c00c' + Q_A, WireStatus.TooLong);
test('label past the end of the message', rejects, hdr(1) + '056162', WireStatus.Truncated);
test('question count larger than the message', rejects, hdr(2) + '016100' + Q_A, WireStatus.Truncated);
test('answer count 65535 in a tiny message', rejects, hdr(0, 0xffff) + '00 0063 0001 00000000 0000', WireStatus.Truncated);
test('record fixed fields cut short', rejects, hdr(0, 1) + '00 0001 0001 0000', WireStatus.Truncated);
test('truncated rdata', rejects, hdr(0, 1) + '00 0001 0001 00000000 0004 0a0000', WireStatus.Truncated);
test('header shorter than 12 bytes', rejects, '1234 0100 0001 0000 0000', WireStatus.Truncated);

const chain = (n: number): string => {
  // Question 0 is 'a'; question k >= 1 is a pointer to question k-1, so its name takes k hops.
  let hex = hdr(n) + '016100' + Q_A;
  for (let k = 1; k < n; k++) hex += (0xc000 | (k === 1 ? 12 : 19 + (k - 2) * 6)).toString(16) + '00010001';
  return hex;
};
test(`more than ${DNS_MAX_POINTER_HOPS} pointer hops in one name`, rejects, chain(DNS_MAX_POINTER_HOPS + 2), WireStatus.BadPointer);

const decodeRejects = test.macro({
  exec(t, hex: string, want: WireStatus) {
    const b = fromHex(hex);
    const rd = new DnsReader().reset(b);
    while (rd.next());
    t.is(rd.status, WireStatus.Ok, 'the reader checks framing only');
    const e = t.throws(() => decodeDns(b), { instanceOf: WireFormatError });
    t.is(e?.status, want);
  },
  title: (what = '', _hex, want: WireStatus) => `decodeDns rejects as ${WIRE_STATUS_NAMES[want]!}: ${what}`,
});
const RR = (type: string, rdata: string) => `00 ${type} 0001 00000000 ${(fromHex(rdata).length).toString(16).padStart(4, '0')} ${rdata}`;
test('A rdata of 5 bytes', decodeRejects, hdr(0, 1) + RR('0001', '0a00000100'), WireStatus.BadLength);
test('AAAA rdata of 4 bytes', decodeRejects, hdr(0, 1) + RR('001c', '0a000001'), WireStatus.BadLength);
test('CNAME rdata with a byte after the name', decodeRejects, hdr(0, 1) + RR('0005', '01610000'), WireStatus.BadLength);
test('CNAME name running past its rdata', decodeRejects, hdr(0, 2) + RR('0005', '0161') + RR('0001', '00000000'), WireStatus.BadLength);
test('CNAME rdata with a forward pointer', decodeRejects, hdr(0, 1) + RR('0005', 'c020'), WireStatus.BadPointer);
test('MX rdata too short for a name', decodeRejects, hdr(0, 1) + RR('000f', '000a'), WireStatus.BadLength);
test('SOA without its timers', decodeRejects, hdr(0, 1) + RR('0006', '0000 00000001'), WireStatus.BadLength);
test('SRV rdata too short', decodeRejects, hdr(0, 1) + RR('0021', '000000000000'), WireStatus.BadLength);
test('TXT string running past its rdata', decodeRejects, hdr(0, 1) + RR('0010', '0361'), WireStatus.BadLength);
test('OPT in the answer section', decodeRejects, hdr(0, 1) + RR('0029', ''), WireStatus.BadValue);
test('two OPT records', decodeRejects, hdr(0, 0, 0, 2) + RR('0029', '') + RR('0029', ''), WireStatus.BadValue);
test('OPT owned by a name other than the root', decodeRejects, hdr(0, 0, 0, 1) + '016100 0029 04d0 00000000 0000', WireStatus.BadValue);
test('OPT option running past the rdata', decodeRejects, hdr(0, 0, 0, 1) + RR('0029', '000a 0008 0102'), WireStatus.BadOption);
test('OPT option header cut short', decodeRejects, hdr(0, 0, 0, 1) + RR('0029', '000a00'), WireStatus.BadOption);

// ---------------------------------------------------------------------------------------------
// Properties

/** Walks `bytes` placed at an offset inside a larger buffer and asserts every read stays in it. */
function walkInBounds(bytes: Uint8Array, pad: number): void {
  const big = filled(pad + bytes.length + 8);
  big.set(bytes, pad);
  const probe = new BoundsProbe(big).window(pad, pad + bytes.length);
  const rd = new DnsReader().reset(probe.buf, pad, bytes.length);
  const q = dnsNameFromText('www.pktkit.test');
  while (rd.next()) {
    assert.ok(rd.nameOff >= pad + DNS_HEADER_LEN && rd.rdataOff + rd.rdataLen <= pad + bytes.length);
    rd.nameEquals(q, 0, q.length, 0);
    if (rd.rdataLen > 0) dnsNameWireLen(probe.buf, pad, pad + bytes.length, rd.rdataOff);
  }
  assert.ok(rd.status !== WireStatus.Ok || rd.pos <= pad + bytes.length);
  assert.equal(probe.bad, -1, `read at ${probe.bad}, outside [${pad}, ${pad + bytes.length})`);
}

/** decodeDns either returns, and then decode(emit(decode(x))) equals decode(x), or throws a WireFormatError. */
function decodeOrWireError(bytes: Uint8Array): void {
  let m: DnsMessage;
  try {
    m = decodeDns(bytes);
  } catch (e) {
    if (e instanceof WireFormatError) return;
    throw e;
  }
  const out = new Uint8Array(dnsEmitLen(m));
  emitDns(m, out, 0);
  assert.deepEqual(decodeDns(out), m);
}

test('property: random bytes never throw from the reader, reads stay inside the message, decode throws only WireFormatError', (t) => {
  const small = fc.integer({ min: 0, max: 4 });
  fc.assert(
    fc.property(fc.tuple(small, small, small, small), fc.uint8Array({ maxLength: 160 }), fc.nat(9), fc.boolean(), ([qd, an, ns, ar], body, pad, raw) => {
      const bytes = raw ? body : new Uint8Array([...fromHex(hdr(qd, an, ns, ar)), ...body]);
      walkInBounds(bytes, pad);
      decodeOrWireError(bytes);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('property: captured messages with bytes changed or cut never break the reader or decode', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(...V.DNS_CAPTURED),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      fc.nat(9),
      (v, edits, cut, pad) => {
        const b = fromHex(v.hex);
        for (const [at, val] of edits) b[at % b.length] = val;
        const bytes = cut % 4 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
        walkInBounds(bytes, pad);
        decodeOrWireError(bytes);
      },
    ),
    { numRuns: 4000 },
  );
  t.pass();
});

// Arbitrary valid messages. Names mix a few shared labels (so that compression has work, and
// case variants that must not be merged) with arbitrary bytes, including dots and backslashes.
function labelText(l: Uint8Array): string {
  let s = '';
  for (const c of l) {
    if (c === 0x2e || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c >= 0x21 && c <= 0x7e) s += String.fromCharCode(c);
    else s += '\\' + String(c).padStart(3, '0');
  }
  return s;
}
const nameOf = (labels: Uint8Array[]): string => (labels.length === 0 ? '.' : labels.map(labelText).join('.'));
const wireLen = (labels: Uint8Array[]): number => labels.reduce((n, l) => n + l.length + 1, 1);
const arbLabel = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('www', 'WWW', 'mail', 'pktkit', 'test', 'example', 'com', 'a').map(utf8) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 63 }) },
);
const arbZone = fc.constantFrom<Uint8Array[]>([], [utf8('test')], [utf8('pktkit'), utf8('test')], [utf8('example'), utf8('com')], [utf8('Example'), utf8('COM')]);
const arbLabels = fc
  .tuple(fc.array(arbLabel, { maxLength: 4 }), arbZone)
  .map(([pre, zone]) => [...pre, ...zone])
  .filter((ls) => wireLen(ls) <= 255);
const arbName = arbLabels.map(nameOf);
/** fc.record with ordinary objects, as decodeDns makes (assert.deepEqual compares prototypes). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const u32 = fc.tuple(u16, u16).map(([h, l]) => h * 0x10000 + l);
const KNOWN = new Set<number>(Object.values(DnsType));
const base = { name: arbName, class: u16, ttl: u32 };
const arbRecord: fc.Arbitrary<DnsRecord> = fc.oneof(
  rec({ ...base, type: fc.constant(DnsType.A), data: u32.map(formatIPv4) }),
  rec({ ...base, type: fc.constant(DnsType.AAAA), data: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b)) }),
  rec({ ...base, type: fc.constantFrom(DnsType.CNAME, DnsType.NS, DnsType.PTR), data: arbName }),
  rec({ ...base, type: fc.constant(DnsType.MX), data: rec({ preference: u16, exchange: arbName }) }),
  rec({ ...base, type: fc.constant(DnsType.TXT), data: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 4 }) }),
  rec({
    ...base,
    type: fc.constant(DnsType.SOA),
    data: rec({ mname: arbName, rname: arbName, serial: u32, refresh: u32, retry: u32, expire: u32, minimum: u32 }),
  }),
  rec({ ...base, type: fc.constant(DnsType.SRV), data: rec({ priority: u16, weight: u16, port: u16, target: arbName }) }),
  rec({ ...base, type: u16.filter((x) => !KNOWN.has(x)), data: fc.uint8Array({ maxLength: 40 }) }),
);
const arbQuestion: fc.Arbitrary<DnsQuestion> = rec({ name: arbName, type: u16, class: u16 });
const arbEdns: fc.Arbitrary<DnsEdns> = rec({
  udpSize: u16,
  extRcode: u8,
  version: u8,
  do: fc.boolean(),
  z: fc.integer({ min: 0, max: 0x7fff }),
  options: fc.array(rec({ code: u16, data: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 3 }),
});
const arbMessage: fc.Arbitrary<DnsMessage> = rec({
  id: u16,
  qr: fc.boolean(),
  opcode: fc.integer({ min: 0, max: 15 }),
  aa: fc.boolean(),
  tc: fc.boolean(),
  rd: fc.boolean(),
  ra: fc.boolean(),
  z: fc.boolean(),
  ad: fc.boolean(),
  cd: fc.boolean(),
  rcode: fc.integer({ min: 0, max: 15 }),
  questions: fc.array(arbQuestion, { maxLength: 3 }),
  answers: fc.array(arbRecord, { maxLength: 6 }),
  authorities: fc.array(arbRecord, { maxLength: 3 }),
  additionals: fc.array(arbRecord, { maxLength: 3 }),
  edns: fc.option(arbEdns, { nil: null }),
});

test('property: arbitrary valid messages round-trip (emit -> decode -> emit, at an offset too)', (t) => {
  fc.assert(
    fc.property(arbMessage, fc.nat(40), (m, pad) => {
      const len = dnsEmitLen(m);
      const a = new Uint8Array(len);
      assert.equal(emitDns(m, a, 0), len);
      const back = decodeDns(a);
      assert.deepEqual(back, m);
      const big = filled(pad + len + 3);
      assert.equal(emitDns(back, big, pad), len);
      assert.equal(toHex(big, pad, len), toHex(a));
      assert.equal(toHex(big, 0, pad) + toHex(big, pad + len), 'a5'.repeat(pad + 3));
      walkInBounds(a, pad);
    }),
    { numRuns: 1500 },
  );
  t.pass();
});

test('property: names survive text and back; comparison ignores ASCII case only', (t) => {
  fc.assert(
    fc.property(arbLabels, (labels) => {
      const wire = new Uint8Array(wireLen(labels));
      let p = 0;
      for (const l of labels) {
        wire[p++] = l.length;
        wire.set(l, p);
        p += l.length;
      }
      const text = nameOf(labels);
      assert.equal(toHex(dnsNameFromText(text)), toHex(wire));
      assert.equal(dnsNameToText(wire, 0, wire.length, 0), text);
      assert.equal(dnsNameWireLen(wire, 0, wire.length, 0), wire.length);
      assert.equal(dnsSkipName(wire, 0, wire.length, 0), wire.length);
      const flipped = wire.map((c) => ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ? c ^ 0x20 : c));
      assert.ok(dnsNameEquals(wire, 0, wire.length, 0, flipped, 0, flipped.length, 0));
      const other = wire.map((c) => (c >= 0x80 ? c ^ 0x20 : c));
      assert.equal(dnsNameEquals(wire, 0, wire.length, 0, other, 0, other.length, 0), toHex(other) === toHex(wire));
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// Linear time

/**
 * A chain of DNS_MAX_POINTER_HOPS names, each a pointer to the one before, followed by `extra`
 * questions that all point at the deepest link: each of those names costs the most hops a name
 * may take, so this is the worst a message can do per byte.
 */
function packedChain(extra: number): Uint8Array {
  const links = DNS_MAX_POINTER_HOPS;
  const deepest = (0xc000 | (19 + (links - 2) * 6)).toString(16);
  return fromHex(chain(links).replace(hdr(links), hdr(links + extra)) + (deepest + '00010001').repeat(extra));
}

test('parsing stays linear: a packed pointer chain at 1x and 16x the size', (t) => {
  const small = packedChain(500);
  const large = packedChain(Math.floor((small.length * 16 - (small.length - 500 * 6)) / 6));
  t.true(large.length > small.length * 15.9 && large.length <= 0xffff, `${small.length} vs ${large.length} bytes`);
  const rd = new DnsReader();
  const walk = (b: Uint8Array) => () => {
    rd.reset(b);
    while (rd.next());
    return rd.status;
  };
  t.is(walk(small)(), WireStatus.Ok);
  t.is(walk(large)(), WireStatus.Ok);
  t.is(decodeDns(small).questions.length, DNS_MAX_POINTER_HOPS + 500);
  const ratio = scalingRatio(walk(small), walk(large), 4);
  t.log(`DnsReader: ${small.length} -> ${large.length} bytes took ${ratio.toFixed(1)}x`);
  t.true(ratio < 48, `16x input took ${ratio.toFixed(1)}x as long (quadratic would be ~256x)`);
  const dratio = scalingRatio(() => decodeDns(small), () => decodeDns(large), 2);
  t.log(`decodeDns: ${dratio.toFixed(1)}x`);
  t.true(dratio < 48, `decodeDns: 16x input took ${dratio.toFixed(1)}x as long`);
});
