import { isDeepStrictEqual } from 'node:util';
import test from 'ava';
import fc from 'fast-check';
import {
  BOOTP_MIN_LEN,
  DHCP_CLIENT_PORT,
  DHCP_FLAG_BROADCAST,
  DHCP_MAGIC_COOKIE,
  DHCP_OVERLOAD_FILE,
  DHCP_SERVER_PORT,
  DhcpMessageType,
  DhcpOp,
  DhcpOptionCursor,
  DhcpView,
  decodeDhcp,
  dhcpEmitLen,
  emitDhcp,
  newDhcpFields,
  parseDhcp,
  type DhcpFields,
} from '../../src/wire/dhcp.js';
import { WIRE_STATUS_NAMES, WireStatus } from '../../src/wire/status.js';
import { PktRangeError, PktTypeError, WireFormatError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { countScavenges } from '../helpers/alloc.js';
import { scalingRatio } from '../helpers/scaling.js';
import {
  DHCLIENT_DISCOVER,
  DHCLIENT_INIT_REBOOT_REQUEST,
  DHCLIENT_REQUEST,
  DNSMASQ_ACK,
  DNSMASQ_ACK_DHCLIENT,
  DNSMASQ_ACK_OVERLOAD,
  DNSMASQ_NAK,
  DNSMASQ_OFFER,
  DNSMASQ_OFFER_OVERLOAD,
  UDHCPC_DISCOVER,
  UDHCPC_REQUEST,
} from '../vectors/dhcp-captured.js';

const CLIENT_MAC = 0x0200_0097_0002;
const SERVER = 0x0a610001; // 10.97.0.1
const OFFERED = 0x0a610045; // 10.97.0.69

const ascii = (s: string): string => toHex(new TextEncoder().encode(s));
const ALL_CAPTURED = [
  UDHCPC_DISCOVER,
  DNSMASQ_OFFER,
  UDHCPC_REQUEST,
  DNSMASQ_ACK,
  DHCLIENT_INIT_REBOOT_REQUEST,
  DNSMASQ_NAK,
  DHCLIENT_DISCOVER,
  DHCLIENT_REQUEST,
  DNSMASQ_ACK_DHCLIENT,
  DNSMASQ_OFFER_OVERLOAD,
  DNSMASQ_ACK_OVERLOAD,
];

test('constants', (t) => {
  t.is(DHCP_SERVER_PORT, 67);
  t.is(DHCP_CLIENT_PORT, 68);
  t.is(DHCP_MAGIC_COOKIE, (99 << 24) | (130 << 16) | (83 << 8) | 99);
  t.deepEqual(Object.values(DhcpMessageType), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('getters on a captured udhcpc DISCOVER', (t) => {
  const m = fromHex(UDHCPC_DISCOVER);
  const v = new DhcpView().reset(m);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.op, DhcpOp.BootRequest);
  t.is(v.htype, 1);
  t.is(v.hlen, 6);
  t.is(v.hops, 0);
  t.is(v.xid, 0x3f631117);
  t.is(v.secs, 0);
  t.is(v.flags, 0);
  t.false(v.broadcast);
  t.is(v.ciaddr, 0);
  t.is(v.yiaddr, 0);
  t.is(v.siaddr, 0);
  t.is(v.giaddr, 0);
  t.is(v.chaddr, CLIENT_MAC);
  t.is(v.chaddrOff, 28);
  t.is(v.snameOff, 44);
  t.is(v.fileOff, 108);
  t.is(v.magicCookie, DHCP_MAGIC_COOKIE);
  t.is(v.optionsOff, 240);
  t.is(v.optionsLen, 60);
  t.is(m.length, BOOTP_MIN_LEN, 'udhcpc pads to 300 bytes');

  const f = newDhcpFields();
  t.is(parseDhcp(v, f), WireStatus.Ok);
  t.like(f, {
    op: 1,
    xid: 0x3f631117,
    chaddr: CLIENT_MAC,
    sname: '',
    file: '',
    messageType: DhcpMessageType.Discover,
    maxMessageSize: 576,
    hostName: 'pktkit-udhcpc',
    requestedIp: 0,
    serverId: 0,
    leaseSecs: -1,
  });
  t.deepEqual([...f.paramRequestList], [1, 3, 6, 12, 15, 28, 42]);
  t.is(toHex(f.clientId), '01' + '020000970002', 'type 1 (Ethernet) and the MAC');
  t.is(toHex(f.extraOptions), '3c0c' + ascii('udhcp 1.35.0'), 'the vendor class (60) is kept raw');
});

test('a captured dnsmasq OFFER: every typed option a client needs', (t) => {
  const f = decodeDhcp(fromHex(DNSMASQ_OFFER));
  t.like(f, {
    op: DhcpOp.BootReply,
    xid: 0x3f631117,
    yiaddr: OFFERED,
    siaddr: SERVER,
    chaddr: CLIENT_MAC,
    messageType: DhcpMessageType.Offer,
    serverId: SERVER,
    leaseSecs: 3600,
    renewalSecs: 1800,
    rebindingSecs: 3150,
    subnetMask: 0xffffff00,
    domainName: 'pktkit.test',
    hostName: '',
    maxMessageSize: 0,
  });
  t.deepEqual(f.routers, [SERVER]);
  t.deepEqual(f.dnsServers, [SERVER, 0x0a610003]);
  t.is(toHex(f.extraOptions), '1c04' + '0a6100ff', 'broadcast address (28) kept raw');
});

test('captured REQUESTs and ACKs', (t) => {
  t.like(decodeDhcp(fromHex(UDHCPC_REQUEST)), {
    messageType: DhcpMessageType.Request,
    requestedIp: OFFERED,
    serverId: SERVER,
    ciaddr: 0,
  });
  t.like(decodeDhcp(fromHex(DNSMASQ_ACK)), {
    messageType: DhcpMessageType.Ack,
    yiaddr: OFFERED,
    hostName: 'pktkit-udhcpc',
    leaseSecs: 3600,
  });
  const reboot = decodeDhcp(fromHex(DHCLIENT_INIT_REBOOT_REQUEST));
  t.like(reboot, {
    messageType: DhcpMessageType.Request,
    requestedIp: 0x0a60004d,
    serverId: 0,
    hostName: 'pktkit-dhclient',
  });
  t.deepEqual([...reboot.paramRequestList], [1, 28, 3, 15, 6, 12, 26]);
  t.like(decodeDhcp(fromHex(DHCLIENT_DISCOVER)), { messageType: DhcpMessageType.Discover, xid: 0x239dc150 });
  t.like(decodeDhcp(fromHex(DHCLIENT_REQUEST)), { requestedIp: OFFERED, serverId: SERVER });
  t.like(decodeDhcp(fromHex(DNSMASQ_ACK_DHCLIENT)), { messageType: DhcpMessageType.Ack, hostName: 'pktkit-dhclient' });
});

test('a captured NAK: broadcast flag and message', (t) => {
  const m = fromHex(DNSMASQ_NAK);
  const v = new DhcpView().reset(m);
  t.is(v.check(), WireStatus.Ok);
  t.true(v.broadcast);
  t.is(v.flags, DHCP_FLAG_BROADCAST);
  const f = decodeDhcp(m);
  t.like(f, { messageType: DhcpMessageType.Nak, serverId: SERVER, message: 'wrong address', yiaddr: 0, flags: 0x8000 });
});

test('emit reproduces the captured dnsmasq NAK byte for byte (same option order, padded to 300)', (t) => {
  const m = fromHex(DNSMASQ_NAK);
  const f = decodeDhcp(m);
  t.is(dhcpEmitLen(f), 300);
  const out = filled(300);
  t.is(emitDhcp(f, out, 0), 300);
  t.is(toHex(out), toHex(m));
});

test('a captured overloaded OFFER: options in the file field are read after the options field', (t) => {
  const m = fromHex(DNSMASQ_OFFER_OVERLOAD);
  const v = new DhcpView().reset(m);
  t.is(v.check(), WireStatus.Ok);
  t.is(m[v.fileOff], 224, 'the file field starts with an option, not a name');
  const cur = new DhcpOptionCursor().reset(m, 0, m.length);
  const codes: number[] = [];
  const areas: number[] = [];
  while (cur.next()) {
    codes.push(cur.code);
    areas.push(cur.dataOff < v.optionsOff ? 1 : 0);
  }
  t.is(cur.status, WireStatus.Ok);
  t.is(cur.overload, DHCP_OVERLOAD_FILE);
  t.deepEqual(codes, [53, 54, 51, 58, 59, 1, 28, 226, 225, 52, 3, 224, 15, 6]);
  t.deepEqual(areas, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);

  for (const hex of [DNSMASQ_OFFER_OVERLOAD, DNSMASQ_ACK_OVERLOAD]) {
    const f = decodeDhcp(fromHex(hex));
    t.is(f.file, '', 'an overloaded file field is not a file name');
    t.is(f.domainName, 'pktkit.test');
    t.deepEqual(f.dnsServers, [SERVER, 0x0a610003]);
    t.deepEqual(f.routers, [SERVER]);
    // 28, then 226 (150 bytes) and 225 (100 bytes) from the options field, 224 (50) from file.
    const e = f.extraOptions;
    t.is(e.length, 6 + 152 + 102 + 52);
    t.deepEqual([e[0], e[6], e[6 + 152], e[6 + 152 + 102]], [28, 226, 225, 224]);
    t.is(e[6 + 152 + 102 + 1], 50);
  }
});

test('setters write exactly their fields into a 0xa5-filled buffer', (t) => {
  const b = filled(246);
  const v = new DhcpView().reset(b, 3, 240);
  v.op = DhcpOp.BootReply;
  v.htype = 1;
  v.hlen = 6;
  v.hops = 2;
  v.xid = 0xdeadbeef;
  v.secs = 0x0102;
  v.flags = 0;
  v.broadcast = true;
  v.ciaddr = 0x01020304;
  v.yiaddr = 0x0a000002;
  v.siaddr = 0x0a000001;
  v.giaddr = 0xc0a80101;
  v.chaddr = 0x5254_0012_3456;
  v.magicCookie = DHCP_MAGIC_COOKIE;
  t.is(
    toHex(b),
    'a5a5a5' +
      '02010602' +
      'deadbeef' +
      '0102' +
      '8000' +
      '01020304' +
      '0a000002' +
      '0a000001' +
      'c0a80101' +
      '525400123456' +
      'a5'.repeat(10 + 64 + 128) +
      '63825363' +
      'a5a5a5',
    'chaddr past the MAC, sname and file keep the fill',
  );
  t.is(v.check(), WireStatus.Ok);
  v.broadcast = false;
  t.is(v.flags, 0);
});

function fullFields(): DhcpFields {
  return {
    ...newDhcpFields(),
    op: DhcpOp.BootReply,
    hops: 1,
    xid: 0xfeedf00d,
    secs: 3,
    flags: DHCP_FLAG_BROADCAST,
    ciaddr: 0,
    yiaddr: OFFERED,
    siaddr: SERVER,
    giaddr: 0xc0a80001,
    chaddr: CLIENT_MAC,
    sname: 'boot.pktkit.test',
    file: 'pxelinux.0',
    messageType: DhcpMessageType.Ack,
    requestedIp: OFFERED,
    serverId: SERVER,
    leaseSecs: 0xffffffff,
    renewalSecs: 0,
    rebindingSecs: 7,
    subnetMask: 0xffffff00,
    routers: [SERVER, 0x0a6100fe],
    dnsServers: [0x01010101],
    domainName: 'pktkit.test',
    hostName: 'node-1',
    message: 'welcome',
    clientId: fromHex('ff00000001'),
    paramRequestList: fromHex('0103060f'),
    maxMessageSize: 1500,
    extraOptions: fromHex('1c04 0a6100ff 7900'), // broadcast address; an empty option 121
  };
}

test('emit -> parse -> emit round trip, also at a nonzero offset in a larger buffer', (t) => {
  const f = fullFields();
  const len = dhcpEmitLen(f);
  t.is(len, 240 + 3 + 6 * 6 + 10 + 6 + 13 + 8 + 7 + 6 + 4 + 9 + 8 + 1, 'every option once, then end');
  const a = filled(len);
  t.is(emitDhcp(f, a, 0), len);
  const parsed = newDhcpFields();
  t.is(parseDhcp(new DhcpView().reset(a), parsed), WireStatus.Ok);
  t.deepEqual(parsed, f);
  const big = filled(37 + len + 11);
  t.is(emitDhcp(parsed, big, 37), len);
  t.is(toHex(big, 37, len), toHex(a));
  t.is(toHex(big, 0, 37), toHex(filled(37)), 'nothing written before the offset');
  t.is(toHex(big, 37 + len), toHex(filled(11)), 'nothing written after the message');
});

test('options go out message type first, in a fixed order, padded to 300 bytes', (t) => {
  const f = {
    ...newDhcpFields(),
    messageType: DhcpMessageType.Discover,
    hostName: 'a',
    maxMessageSize: 576,
    chaddr: CLIENT_MAC,
  };
  const b = filled(300);
  t.is(emitDhcp(f, b, 0), 300);
  t.is(toHex(b, 0, 12), '01010600' + '00000000' + '00000000');
  t.is(toHex(b, 28, 16), '020000970002' + '00'.repeat(10));
  t.is(toHex(b, 236, 4), '63825363');
  t.is(toHex(b, 240, 12), '350101' + '0c0161' + '39020240' + 'ff' + '00');
  t.is(toHex(b, 251), '00'.repeat(49));
});

test('every captured message survives parse -> emit -> parse unchanged', (t) => {
  for (const hex of ALL_CAPTURED) {
    const f = decodeDhcp(fromHex(hex));
    const out = new Uint8Array(dhcpEmitLen(f));
    emitDhcp(f, out, 0);
    t.deepEqual(decodeDhcp(out), f);
    // The fixed header (bar sname/file, which an overloaded message used for options) is the same.
    t.is(toHex(out, 0, 44), toHex(fromHex(hex), 0, 44));
  }
});

/** A BOOTREQUEST over Ethernet with the cookie and the given option bytes (hex). */
function msg(opts: string, head = '01010600'): string {
  return head + '00'.repeat(232) + '63825363' + opts;
}
/** Hex of the options field for overload tests: options, then file and sname contents. */
function overloaded(opts: string, file: string, sname: string): Uint8Array {
  const m = fromHex(msg(opts));
  m.set(fromHex(sname), 44);
  m.set(fromHex(file), 108);
  return m;
}

const parses = test.macro({
  exec(t, hex: string, want: WireStatus) {
    t.is(parseDhcp(new DhcpView().reset(fromHex(hex)), newDhcpFields()), want);
  },
  title: (what = '', _hex, want) => `parseDhcp = ${WIRE_STATUS_NAMES[want as number] ?? String(want)}: ${what}`,
});
test('239 bytes', parses, msg('').slice(0, 478), WireStatus.Truncated);
test('240 bytes, no options at all', parses, msg(''), WireStatus.Ok);
test('no magic cookie (plain BOOTP)', parses, msg('').slice(0, 472) + '00000000', WireStatus.BadValue);
test('op 3', parses, msg('ff', '03010600'), WireStatus.BadValue);
test('hlen 17', parses, msg('ff', '01011100'), WireStatus.BadValue);
test('hlen 16 (the whole chaddr)', parses, msg('ff', '01011000'), WireStatus.Ok);
test('options without an end option', parses, msg('350101'), WireStatus.Ok);
test('pads only', parses, msg('00'.repeat(100)), WireStatus.Ok);
test('option length running past the message', parses, msg('0c05616263'), WireStatus.BadOption);
test('option code with no length byte', parses, msg('0000350101 0c'), WireStatus.BadOption);
test('message type of 2 bytes', parses, msg('35020101ff'), WireStatus.BadOption);
test('requested IP of 3 bytes', parses, msg('32030a0000ff'), WireStatus.BadOption);
test('server id of 5 bytes', parses, msg('36050a00000100ff'), WireStatus.BadOption);
test('lease time of 2 bytes', parses, msg('33020e10ff'), WireStatus.BadOption);
test('routers of 5 bytes', parses, msg('03050a00000100ff'), WireStatus.BadOption);
test('empty DNS server list', parses, msg('0600ff'), WireStatus.BadOption);
test('empty host name', parses, msg('0c00ff'), WireStatus.BadOption);
test('client id of 1 byte', parses, msg('3d0101ff'), WireStatus.BadOption);
test('empty parameter request list', parses, msg('3700ff'), WireStatus.BadOption);
test('max message size of 1 byte', parses, msg('390102ff'), WireStatus.BadOption);
test('unknown option of length 0 is fine', parses, msg('e000ff'), WireStatus.Ok);
test('overload of 2 bytes', parses, msg('34020100ff'), WireStatus.BadOption);
test('overload value 0', parses, msg('340100ff'), WireStatus.BadOption);
test('overload value 4', parses, msg('340104ff'), WireStatus.BadOption);
test(
  'an option in the overloaded file field running past it',
  parses,
  toHex(overloaded('340101ff', '00'.repeat(126) + 'e005', '')),
  WireStatus.BadOption,
);
test(
  'an overloaded file field without an end option',
  parses,
  toHex(overloaded('340101ff', 'e07e' + '00'.repeat(126), '')),
  WireStatus.Ok,
);

test('Option Overload 3: options, then file, then sname; strings of overloaded fields are empty', (t) => {
  const m = overloaded('340103 350103 ff', '0c0466696c65 ff', '0f07' + ascii('example') + 'ff');
  const f = newDhcpFields();
  t.is(parseDhcp(new DhcpView().reset(m), f), WireStatus.Ok);
  t.like(f, { messageType: 3, hostName: 'file', domainName: 'example', sname: '', file: '' });
  const cur = new DhcpOptionCursor().reset(m, 0, m.length);
  const codes: number[] = [];
  while (cur.next()) codes.push(cur.code);
  t.deepEqual(codes, [52, 53, 12, 15]);
});

test('Option Overload 2: only sname is walked; file stays a file name', (t) => {
  const m = overloaded('340102 ff', ascii('boot.img') + '00', '0c0161 ff');
  const f = decodeDhcp(m);
  t.is(f.hostName, 'a');
  t.is(f.file, 'boot.img');
  t.is(f.sname, '');
});

test('Option Overload is honoured only in the options field', (t) => {
  // The file field says "sname too", but that is not where option 52 counts.
  const m = overloaded('340101 ff', '340103 ff', '0c0161 ff');
  const f = decodeDhcp(m);
  t.is(f.hostName, '', 'sname was not walked');
  t.is(f.sname, '\x0c\x01a\xff', 'sname is still a (strange) name');
  t.is(f.extraOptions.length, 0, 'option 52 is structure, not an extra option');
});

test('a repeated typed option replaces the earlier one; repeated others are all kept', (t) => {
  const f = decodeDhcp(fromHex(msg('0c0161 0c0162 e00101 e00102 ff')));
  t.is(f.hostName, 'b');
  t.is(toHex(f.extraOptions), 'e00101e00102');
});

test('text options: trailing NULs dropped, Latin-1 kept', (t) => {
  const f = decodeDhcp(fromHex(msg('0c0461620000 0f02e900 ff')));
  t.is(f.hostName, 'ab');
  t.is(f.domainName, '\u00e9');
});

test('chaddr is a MAC only for htype 1, hlen 6', (t) => {
  const m = fromHex(msg('ff', '01200000'));
  m.set(fromHex('0200_0097_0002'.replace(/_/g, '')), 28);
  t.is(decodeDhcp(m).chaddr, 0, 'InfiniBand (32) uses hlen 0 and the client id');
  t.is(new DhcpView().reset(m).chaddr, CLIENT_MAC, 'the view reads the bytes regardless');
});

test('emit rejects fields that do not fit, naming the field', (t) => {
  const cases: Array<[Partial<DhcpFields>, RegExp]> = [
    [{ hostName: 'x'.repeat(256) }, /hostName: expected at most 255 bytes, got 256/],
    [{ routers: new Array<number>(64).fill(1) }, /routers: expected at most 255 bytes, got 256/],
    [{ sname: 'x'.repeat(65) }, /sname: expected at most 64 bytes, got 65/],
    [{ file: 'x'.repeat(129) }, /file: expected at most 128 bytes, got 129/],
    [{ clientId: new Uint8Array(300) }, /clientId/],
  ];
  for (const [patch, re] of cases) {
    const e = t.throws(() => dhcpEmitLen({ ...newDhcpFields(), ...patch }), { instanceOf: PktRangeError });
    t.regex(e?.message ?? '', re);
  }
  const longest = { ...newDhcpFields(), hostName: 'x'.repeat(255), routers: new Array<number>(63).fill(1) };
  t.is(dhcpEmitLen(longest), 240 + 257 + 254 + 1);
  for (const extra of ['ff', '3501 01', 'e005 0000', 'e0']) {
    const e = t.throws(() => emitDhcp({ ...newDhcpFields(), extraOptions: fromHex(extra) }, new Uint8Array(400), 0), {
      instanceOf: PktTypeError,
    });
    t.regex(e?.message ?? '', /dhcp: extraOptions: expected/);
  }
});

test('decodeDhcp throws a WireFormatError with a status and a message naming the reason', (t) => {
  const err = t.throws(() => decodeDhcp(fromHex('0101'), 0), { instanceOf: WireFormatError });
  t.is(err?.code, 'ERR_PKT_WIRE_FORMAT');
  t.is(err?.status, WireStatus.Truncated);
  t.regex(err?.message ?? '', /dhcp: truncated/);
  const e2 = t.throws(() => decodeDhcp(fromHex('0000' + msg('0c05')), 2), { instanceOf: WireFormatError });
  t.regex(e2?.message ?? '', /dhcp: bad-option \(header at offset 2\)/);
});

/** Random bytes, with a valid fixed header (op, hlen, cookie) half the time. */
const rawish = fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.boolean()).map(([bytes, shaped]) => {
  if (!shaped || bytes.length < 240) return bytes;
  bytes[0] = 1 + (bytes[0]! & 1);
  bytes[2] = bytes[2]! & 0x0f;
  bytes.set(fromHex('63825363'), 236);
  return bytes;
});

/** Option lists made of whole options, typed codes with right and wrong lengths among them. */
const TYPED_CODES = [1, 3, 6, 12, 15, 50, 51, 53, 54, 55, 56, 57, 58, 59, 61];
const option = fc
  .tuple(
    fc.oneof(fc.constantFrom(...TYPED_CODES), fc.integer({ min: 1, max: 254 })),
    fc.oneof(fc.constantFrom(1, 2, 4, 8), fc.nat(12)),
  )
  .chain(([code, n]) => fc.uint8Array({ minLength: n, maxLength: n }).map((d) => [code, n, ...d]));
const optionList = (maxLength: number) =>
  fc
    .array(fc.oneof({ weight: 6, arbitrary: option }, { weight: 1, arbitrary: fc.constant([0]) }), { maxLength })
    .map((l) => l.flat());

/** A DHCP message with random header fields, whole options, and sometimes overloaded fields. */
const structured = fc
  .tuple(
    fc.uint8Array({ minLength: 236, maxLength: 236 }),
    optionList(10),
    fc.nat(3),
    optionList(6),
    optionList(3),
    fc.boolean(),
  )
  .map(([head, opts, overload, fileOpts, snameOpts, end]) => {
    head[0] = 1 + (head[0]! & 1);
    head[2] = head[2]! & 0x0f;
    const file = fileOpts.slice(0, 127);
    const sname = snameOpts.slice(0, 63);
    if (overload & 1) head.set([...file, 255, ...new Array<number>(127 - file.length).fill(0)], 108);
    if (overload & 2) head.set([...sname, 255, ...new Array<number>(63 - sname.length).fill(0)], 44);
    const body = [...(overload > 0 ? [52, 1, overload] : []), ...opts, ...(end ? [255] : [])];
    return Uint8Array.from([...head, 0x63, 0x82, 0x53, 0x63, ...body]);
  });

test('property: random bytes never throw, and Ok means every option is inside the message', (t) => {
  const v = new DhcpView();
  const out = newDhcpFields();
  const cur = new DhcpOptionCursor();
  fc.assert(
    fc.property(fc.oneof(rawish, structured), (bytes) => {
      v.reset(bytes);
      const st = parseDhcp(v, out);
      cur.reset(bytes, 0, bytes.length);
      let steps = 0;
      while (cur.next()) {
        if (cur.dataOff < 44 || cur.dataOff + cur.dataLen > bytes.length) return false;
        steps++;
      }
      if (steps > bytes.length) return false;
      if (st !== WireStatus.Ok) return true;
      return (
        cur.status === WireStatus.Ok &&
        out.extraOptions.length <= bytes.length &&
        out.routers.length * 4 <= bytes.length
      );
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

test('property: whatever parses, emits and parses back to the same fields', (t) => {
  let ok = 0;
  fc.assert(
    fc.property(structured, (bytes) => {
      const f = newDhcpFields();
      if (parseDhcp(new DhcpView().reset(bytes), f) !== WireStatus.Ok) return true;
      ok++;
      const out = new Uint8Array(dhcpEmitLen(f));
      emitDhcp(f, out, 0);
      const back = newDhcpFields();
      return parseDhcp(new DhcpView().reset(out), back) === WireStatus.Ok && isDeepStrictEqual(back, f);
    }),
    { numRuns: 3000 },
  );
  t.true(ok > 300, `only ${ok} of 3000 generated messages parsed`);
});

test('property: any fields in range emit, parse back equal, and emit identically at an offset', (t) => {
  const addr = fc.integer({ min: 1, max: 0xffff_ffff });
  const text = fc.string({ unit: fc.integer({ min: 1, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
  const bytes = (min: number) => fc.uint8Array({ minLength: min, maxLength: 30 });
  const extra = fc
    .array(fc.tuple(fc.constantFrom(2, 28, 42, 60, 81, 82, 119, 121, 224, 254), fc.uint8Array({ maxLength: 20 })), {
      maxLength: 4,
    })
    .map((opts) => Uint8Array.from(opts.flatMap(([c, d]) => [c, d.length, ...d])));
  const fields = fc.record({
    op: fc.constantFrom(1, 2),
    hops: fc.nat(255),
    xid: fc.nat(0xffff_ffff),
    secs: fc.nat(0xffff),
    flags: fc.constantFrom(0, DHCP_FLAG_BROADCAST),
    ciaddr: fc.nat(0xffff_ffff),
    yiaddr: fc.nat(0xffff_ffff),
    chaddr: fc.integer({ min: 0, max: 0xffff_ffff_ffff }),
    sname: text,
    file: text,
    messageType: fc.nat(8),
    requestedIp: fc.oneof(fc.constant(0), addr),
    serverId: fc.oneof(fc.constant(0), addr),
    leaseSecs: fc.integer({ min: -1, max: 0xffff_ffff }),
    renewalSecs: fc.integer({ min: -1, max: 0xffff_ffff }),
    subnetMask: fc.nat(0xffff_ffff),
    routers: fc.array(addr, { maxLength: 63 }),
    dnsServers: fc.array(addr, { maxLength: 5 }),
    hostName: text,
    domainName: text,
    message: text,
    clientId: fc.oneof(fc.constant(new Uint8Array(0)), bytes(2)),
    paramRequestList: bytes(0),
    maxMessageSize: fc.nat(0xffff),
    extraOptions: extra,
  });
  fc.assert(
    fc.property(fields, fc.nat(9), (patch, at) => {
      const f: DhcpFields = { ...newDhcpFields(), ...patch };
      const len = dhcpEmitLen(f);
      const b = filled(at + len + 2);
      if (emitDhcp(f, b, at) !== len || toHex(b, at + len) !== 'a5a5') return false;
      const back = newDhcpFields();
      if (parseDhcp(new DhcpView().reset(b, at, len), back) !== WireStatus.Ok) return false;
      if (!isDeepStrictEqual(back, f)) return false;
      const again = new Uint8Array(len);
      emitDhcp(back, again, 0);
      return toHex(again) === toHex(b, at, len);
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('a message padded with option-area pads to 64 KB parses', (t) => {
  const m = new Uint8Array(65507);
  m.set(fromHex(msg('350101')));
  t.is(decodeDhcp(m).messageType, 1);
});

test('option walks stay linear: 1x vs 16x inputs (pads, tiny options, repeated lists, overload)', (t) => {
  const build = (n: number, unit: string, overload = false): Uint8Array => {
    const m = fromHex(msg((overload ? '340103' : '') + unit.repeat(n) + 'ff'));
    if (overload) {
      m.fill(0, 44, 236); // file and sname: all pads
    }
    return m;
  };
  const out = newDhcpFields();
  const v = new DhcpView();
  const cases: Array<[string, string, boolean]> = [
    ['pads', '00', false],
    ['empty unknown options (kept raw)', 'e000', false],
    ['repeated router lists (each allocates)', '03040a000001', false],
    ['pads with both fields overloaded', '00', true],
  ];
  for (const [what, unit, overload] of cases) {
    const n = Math.floor(3600 / (unit.length / 2));
    const small = build(n, unit, overload);
    const large = build(n * 16, unit, overload);
    t.is(parseDhcp(v.reset(large), out), WireStatus.Ok, what);
    const vs = new DhcpView().reset(small);
    const vl = new DhcpView().reset(large);
    const ratio = scalingRatio(() => parseDhcp(vs, out), () => parseDhcp(vl, out), 100);
    // Linear is about 16; quadratic would be about 256.
    t.log(`${what}: ${ratio.toFixed(1)}x`);
    t.true(ratio < 64, `${what}: 16x input took ${ratio.toFixed(1)}x as long`);
  }
});

test('the option cursor, and parsing a message with only scalar options, allocate nothing', (t) => {
  const dhcp = new URL('../../src/wire/dhcp.js', import.meta.url).href;
  // A REQUEST with message type, requested IP, server id, lease time and max size: no strings,
  // lists or raw options, so nothing to allocate.
  const m = msg('350103 32040a610045 36040a610001 33040000 0e10 39020240 ff').replace(/ /g, '');
  const body = `
    import { DhcpView, DhcpOptionCursor, parseDhcp, newDhcpFields } from ${JSON.stringify(dhcp)};
    const m = Uint8Array.from(Buffer.from(${JSON.stringify(m)}, 'hex'));
    const v = new DhcpView().reset(m);
    const f = newDhcpFields();
    const cur = new DhcpOptionCursor();
    function batch(n) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        s += parseDhcp(v, f);
        cur.reset(m, 0, m.length);
        while (cur.next()) s += cur.code;
      }
      return s;
    }
    let total = 0;
    for (let k = 0; k < 1000; k++) total += batch(1000);
    if (f.requestedIp !== 0x0a610045 || f.leaseSecs !== 3600) throw new Error('not parsed');
  `;
  const scavenges = countScavenges(body);
  t.log(`${scavenges} scavenges`);
  t.true(scavenges <= 3, `${scavenges} scavenges: the scalar parse allocates`);
});
