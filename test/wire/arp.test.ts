import test from 'ava';
import fc from 'fast-check';
import {
  ARP_LEN,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ArpView,
  arpEmitLen,
  decodeArp,
  emitArp,
  newArpFields,
  parseArp,
  type ArpFields,
} from '../../src/wire/arp.js';
import { WireStatus } from '../../src/wire/status.js';
import { WireFormatError } from '../../src/errors.js';
import { filled, fromHex, toHex } from '../helpers/bytes.js';
import { BoundsProbe, getterNames, readGetters } from '../helpers/bounds.js';
import { KERNEL_ARP_REPLY, KERNEL_ARP_REQUEST } from '../vectors/kernel-tap.js';

/** The vectors are whole Ethernet frames; ARP starts after the 14-byte header. */
const ETH = 14;
const KERNEL_MAC = 0x026b_0000_0001;
const PEER_MAC = 0x0270_0000_0002;

test('getters on a kernel-written ARP request', (t) => {
  const v = new ArpView().reset(fromHex(KERNEL_ARP_REQUEST), ETH);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.len, ARP_LEN, 'the kernel does not pad the frame on a TAP');
  t.is(v.htype, 1);
  t.is(v.ptype, 0x0800);
  t.is(v.hlen, 6);
  t.is(v.plen, 4);
  t.is(v.op, ARP_OP_REQUEST);
  t.is(v.senderMac, KERNEL_MAC);
  t.is(v.senderIp, 0x0a62_0001);
  t.is(v.targetMac, 0, 'unknown in a request');
  t.is(v.targetIp, 0x0a62_0009);
  t.is(v.senderMacOff, ETH + 8);
  t.is(v.targetMacOff, ETH + 18);
});

test('getters on a kernel-written ARP reply', (t) => {
  const v = new ArpView().reset(fromHex(KERNEL_ARP_REPLY), ETH);
  t.is(v.check(), WireStatus.Ok);
  t.is(v.op, ARP_OP_REPLY);
  t.is(v.senderMac, KERNEL_MAC);
  t.is(v.senderIp, 0x0a62_0001);
  t.is(v.targetMac, PEER_MAC);
  t.is(v.targetIp, 0x0a62_0002);
});

test('setters write exactly their fields into a 0xa5-filled buffer', (t) => {
  const b = filled(ARP_LEN + 4);
  const v = new ArpView().reset(b, 2, ARP_LEN);
  v.op = ARP_OP_REPLY;
  t.is(toHex(b), 'a5a5' + 'a5a5a5a5a5a5' + '0002' + 'a5'.repeat(20) + 'a5a5');
  v.htype = 1;
  v.ptype = 0x0800;
  v.hlen = 6;
  v.plen = 4;
  v.senderMac = 0xffee_ddcc_bbaa;
  v.senderIp = 0xc000_0201;
  v.targetMac = 0x0000_0000_0001;
  v.targetIp = 0xfffffffe;
  t.is(toHex(b), 'a5a5' + '000108000604' + '0002' + 'ffeeddccbbaa' + 'c0000201' + '000000000001' + 'fffffffe' + 'a5a5');
  t.is(v.check(), WireStatus.Ok);
});

test('emit reproduces the kernel reply byte for byte', (t) => {
  const frame = fromHex(KERNEL_ARP_REPLY);
  const f = newArpFields();
  t.is(parseArp(new ArpView().reset(frame, ETH), f), WireStatus.Ok);
  t.deepEqual(f, {
    op: ARP_OP_REPLY,
    senderMac: KERNEL_MAC,
    senderIp: 0x0a62_0001,
    targetMac: PEER_MAC,
    targetIp: 0x0a62_0002,
  });
  const out = filled(arpEmitLen(f));
  t.is(emitArp(f, out, 0), ARP_LEN);
  t.is(toHex(out), toHex(frame, ETH));
});

test('emit -> parse -> emit round trip, also at a nonzero offset in a larger buffer', (t) => {
  const f: ArpFields = {
    op: ARP_OP_REQUEST,
    senderMac: 0xfeff_ffff_fffe, // above 2^47: exercises the high word of the 48-bit number
    senderIp: 0xffff_fffe,
    targetMac: 0,
    targetIp: 0x0a00_0001,
  };
  const len = arpEmitLen(f);
  const a = filled(len);
  t.is(emitArp(f, a, 0), len);
  const parsed = newArpFields();
  t.is(parseArp(new ArpView().reset(a), parsed), WireStatus.Ok);
  t.deepEqual(parsed, f);
  const big = filled(len + 37 + 11);
  t.is(emitArp(parsed, big, 37), len);
  t.is(toHex(big, 37, len), toHex(a));
  t.is(toHex(big, 0, 37), toHex(filled(37)), 'nothing written before the offset');
  t.is(toHex(big, 37 + len), toHex(filled(11)), 'nothing written after the packet');
});

test('Ethernet padding after the 28 bytes is ignored', (t) => {
  const p = fromHex(KERNEL_ARP_REQUEST + '00'.repeat(18));
  const f = newArpFields();
  t.is(parseArp(new ArpView().reset(p, ETH), f), WireStatus.Ok);
  t.is(f.targetIp, 0x0a62_0009);
});

// A valid request, then variants. Fields: htype ptype hlen plen op | sha spa | tha tpa.
const GOOD = '0001 0800 06 04 0001 026b00000001 0a620001 000000000000 0a620009';
const rejects = test.macro({
  exec(t, hex: string, want: WireStatus) {
    t.is(new ArpView().reset(fromHex(hex)).check(), want);
    t.is(parseArp(new ArpView().reset(fromHex(hex)), newArpFields()), want);
  },
  title: (what = '', _hex, want) => `check() = ${want}: ${what}`,
});
test('the valid packet the cases below vary', rejects, GOOD, WireStatus.Ok);
test('27 bytes', rejects, GOOD.slice(0, -2), WireStatus.Truncated);
test('empty', rejects, '', WireStatus.Truncated);
test('hardware type IEEE 802 (6)', rejects, '0006' + GOOD.slice(4), WireStatus.Unsupported);
test('protocol type IPv6', rejects, '0001 86dd' + GOOD.slice(9), WireStatus.Unsupported);
test('hardware length 5 for Ethernet', rejects, '0001 0800 05 04' + GOOD.slice(15), WireStatus.BadValue);
test('protocol length 16 for IPv4', rejects, '0001 0800 06 10' + GOOD.slice(15), WireStatus.BadValue);

test('an unknown operation is passed to the engine, not rejected', (t) => {
  const f = newArpFields();
  t.is(parseArp(new ArpView().reset(fromHex('0001 0800 06 04 0003' + GOOD.slice(20))), f), WireStatus.Ok);
  t.is(f.op, 3);
});

test('decodeArp throws a WireFormatError with a status and a message naming the reason', (t) => {
  const err = t.throws(() => decodeArp(fromHex('0001 0800 05 04' + GOOD.slice(15))), { instanceOf: WireFormatError });
  t.is(err?.code, 'ERR_PKT_WIRE_FORMAT');
  t.is(err?.status, WireStatus.BadValue);
  t.regex(err?.message ?? '', /arp: bad-value/);
  t.is(decodeArp(fromHex(KERNEL_ARP_REQUEST), ETH).targetIp, 0x0a62_0009);
});

test('the bounds probe used below sees a read past its window', (t) => {
  const probe = new BoundsProbe(fromHex(GOOD)).window(0, ARP_LEN - 1);
  const v = new ArpView().reset(probe.buf, 0, ARP_LEN - 1);
  t.is(v.check(), WireStatus.Truncated);
  t.is(probe.bad, -1, 'check() itself reads nothing out of bounds');
  readGetters(v, getterNames(ArpView.prototype));
  t.is(probe.bad, ARP_LEN - 1, 'targetIp reads the 28th byte');
});

test('property: random bytes never throw, and Ok means every accessor is in bounds', (t) => {
  const v = new ArpView();
  const out = newArpFields();
  const getters = getterNames(ArpView.prototype);
  // Mostly short random arrays, and some long enough to hold a whole header.
  const bytesArb = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 26, maxLength: 34 }));
  let okRuns = 0;
  const numRuns = 3000;
  fc.assert(
    fc.property(bytesArb, fc.nat(4), fc.boolean(), (raw, lead, forceGood) => {
      if (forceGood && raw.length >= 6) raw.set([0, 1, 8, 0, 6, 4]);
      const bytes = new Uint8Array(lead + raw.length);
      bytes.set(raw, lead);
      const probe = new BoundsProbe(bytes).window(lead, bytes.length);
      v.reset(probe.buf, lead);
      const st = parseArp(v, out);
      if (st !== WireStatus.Ok) return true;
      okRuns++;
      readGetters(v, getters);
      return probe.bad === -1 && out.senderMac <= 0xffff_ffff_ffff && out.targetMac <= 0xffff_ffff_ffff;
    }),
    { numRuns },
  );
  t.true(okRuns > numRuns / 10, `only ${okRuns} of ${numRuns} runs reached Ok`);
});
