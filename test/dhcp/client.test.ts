/**
 * DhcpClient alone, driven by hand-made server replies on a ManualClock: retransmission timing,
 * the checks on replies, T1/T2, NAKs while renewing, probes, stop.
 */

import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import { DhcpClientState, createDhcpClient } from '../../src/dhcp/client.js';
import { buildDhcpFrame } from '../../src/dhcp/frame.js';
import { DhcpMessageType, DhcpOp, newDhcpFields, type DhcpFields } from '../../src/wire/dhcp.js';
import { PktRangeError, PktTypeError } from '../../src/errors.js';
import { TestHost, decodeFrame, ip } from './helpers.js';

const MAC = 0x0200_0000_00aa;
const SERVER = ip('192.168.7.1');
const SERVER_MAC = 0x0200_0000_0001;
const OFFERED = ip('192.168.7.50');

function host(opts = {}, random?: () => number): TestHost {
  const h = new TestHost(MAC, new ManualClock(0), opts);
  if (random !== undefined) (h as { random: () => number }).random = random;
  return h;
}

/** A server reply to the host's last message, with `edit` applied to the fields. */
function reply(h: TestHost, type: number, edit: (f: DhcpFields) => void = () => {}): Uint8Array {
  const last = decodeFrame(h.sent.at(-1)!)!.dhcp;
  const f = newDhcpFields();
  f.op = DhcpOp.BootReply;
  f.xid = last.xid;
  f.chaddr = MAC;
  f.messageType = type;
  f.serverId = SERVER;
  if (type !== DhcpMessageType.Nak) {
    f.yiaddr = last.ciaddr !== 0 ? last.ciaddr : OFFERED;
    f.leaseSecs = 1000;
    f.subnetMask = 0xffff_ff00;
    f.routers = [SERVER];
    f.dnsServers = [SERVER];
  }
  edit(f);
  return buildDhcpFrame(f, { ethSrc: SERVER_MAC, ethDst: MAC, ipSrc: SERVER, ipDst: f.yiaddr || 0xffff_ffff, srcPort: 67, dstPort: 68, ident: 0 });
}

/** Drives `h` to BOUND with a lease of `edit`. */
function bind(h: TestHost, edit?: (f: DhcpFields) => void): void {
  h.engine.start();
  h.engine.handleFrame(reply(h, DhcpMessageType.Offer));
  h.engine.handleFrame(reply(h, DhcpMessageType.Ack, edit));
  h.clock.advance(h.probeDelayMs);
}

test('DISCOVER retransmission: 4, 8, 16, 32, 64, 64 s (RFC 2131 §4.1), same xid, secs counting', (t) => {
  const h = host({}, () => 0.5); // jitter 0
  h.engine.start();
  h.clock.advance(300_000);
  const times = [0, 4, 12, 28, 60, 124, 188, 252].map((s) => s * 1000);
  const msgs = h.messages(t).slice(0, times.length);
  t.deepEqual(msgs.map((m) => m.dhcp.secs), times.map((ms) => ms / 1000));
  t.true(msgs.every((m) => m.dhcp.xid === msgs[0]!.dhcp.xid && m.dhcp.messageType === DhcpMessageType.Discover));
  t.is(h.engine.stats().retransmits, h.sent.length - 1);
});

test('retransmission jitter is within ±1 s', (t) => {
  const low = host({}, () => 0);
  low.engine.start();
  low.clock.advance(2999);
  t.is(low.sent.length, 1);
  low.clock.advance(1);
  t.is(low.sent.length, 2, 'first retransmission at 4 s - 1 s');
  const high = host({}, () => 0.999_999);
  high.engine.start();
  high.clock.advance(4999);
  t.is(high.sent.length, 1);
  high.clock.advance(1);
  t.is(high.sent.length, 2, 'and at most 4 s + 1 s');
});

test('replies with another xid, another chaddr, or op BOOTREQUEST are dropped and counted', (t) => {
  const h = host();
  h.engine.start();
  t.false(h.engine.handleFrame(reply(h, DhcpMessageType.Offer, (f) => (f.xid ^= 1))));
  t.false(h.engine.handleFrame(reply(h, DhcpMessageType.Offer, (f) => (f.chaddr = MAC + 1))));
  t.false(h.engine.handleFrame(reply(h, DhcpMessageType.Offer, (f) => (f.op = DhcpOp.BootRequest))));
  t.true(h.engine.handleFrame(reply(h, DhcpMessageType.Offer, (f) => (f.serverId = 0))));
  t.true(h.engine.handleFrame(reply(h, DhcpMessageType.Offer, (f) => (f.yiaddr = 0))));
  t.true(h.engine.handleFrame(reply(h, DhcpMessageType.Ack)));
  t.is(h.engine.state, DhcpClientState.Selecting);
  t.deepEqual(h.engine.stats().drops, {
    'wrong-xid': 1,
    'wrong-chaddr': 1,
    'wrong-op': 1,
    'missing-option': 1,
    'bad-address': 1,
    'unexpected-type': 1,
  });
});

test('a corrupted UDP checksum is dropped as bad-checksum', (t) => {
  const h = host();
  h.engine.start();
  const f = reply(h, DhcpMessageType.Offer);
  f[f.length - 1]! ^= 0xff;
  t.false(h.engine.handleFrame(f));
  t.is(h.engine.stats().drops['bad-checksum'], 1);
});

test('REQUESTING: an ACK or NAK from a server other than the chosen one is ignored', (t) => {
  const h = host();
  h.engine.start();
  h.engine.handleFrame(reply(h, DhcpMessageType.Offer));
  t.is(h.engine.state, DhcpClientState.Requesting);
  h.engine.handleFrame(reply(h, DhcpMessageType.Ack, (f) => (f.serverId = ip('192.168.7.2'))));
  h.engine.handleFrame(reply(h, DhcpMessageType.Nak, (f) => (f.serverId = ip('192.168.7.2'))));
  t.is(h.engine.state, DhcpClientState.Requesting);
  t.is(h.engine.stats().drops['other-server'], 2);
  h.engine.handleFrame(reply(h, DhcpMessageType.Ack, (f) => (f.leaseSecs = -1)));
  t.is(h.engine.stats().drops['missing-option'], 1, 'an ACK without a lease time');
});

test('REQUEST is retransmitted maxRequestTries times, then the client DISCOVERs with a new xid', (t) => {
  const h = host({ maxRequestTries: 3 });
  h.engine.start();
  h.engine.handleFrame(reply(h, DhcpMessageType.Offer));
  const xid = decodeFrame(h.sent[0]!)!.dhcp.xid;
  // Retransmissions at 4 ± 1 s and 8 ± 1 s after that; the third try times out 16 ± 1 s later.
  h.clock.advance(14_000);
  t.deepEqual(h.messages(t).map((m) => m.dhcp.messageType), [1, 3, 3, 3]);
  t.true(h.messages().slice(1).every((m) => m.dhcp.xid === xid && m.dhcp.requestedIp === OFFERED && m.dhcp.serverId === SERVER));
  h.clock.advance(17_000);
  const last = h.messages(t).at(-1)!.dhcp;
  t.is(last.messageType, DhcpMessageType.Discover);
  t.not(last.xid, xid);
  t.is(h.engine.state, DhcpClientState.Selecting);
});

test('T1 and T2 from options 58 and 59; the defaults when they are out of order', (t) => {
  const a = host();
  bind(a, (f) => {
    f.renewalSecs = 100;
    f.rebindingSecs = 200;
  });
  t.is(a.engine.lease!.renewAt, 100_000);
  t.is(a.engine.lease!.rebindAt, 200_000);
  const b = host();
  bind(b, (f) => {
    f.renewalSecs = 900;
    f.rebindingSecs = 2000;
  });
  t.is(b.engine.lease!.rebindAt, 875_000, 'T2 beyond the lease: 0.875 L');
  t.is(b.engine.lease!.renewAt, 500_000, 'T1 beyond that T2: 0.5 L');
});

test('RENEWING retransmits at half the time to T2, at least 60 s; REBINDING broadcasts at T2', (t) => {
  const h = host();
  bind(h, (f) => (f.leaseSecs = 4000)); // T1 2000 s, T2 3500 s
  const n = h.sent.length;
  h.clock.set(3500_000 - 1);
  const renewTimes = h.messages(t).slice(n).map((m) => m.dhcp.secs);
  // T1, then +750 (half of 1500), +375, +187.5, +93.75, then the 60 s floor; T2 caps the last.
  t.deepEqual(renewTimes, [0, 750, 1125, 1312, 1406, 1466]);
  t.is(h.engine.state, DhcpClientState.Renewing);
  h.clock.set(3500_000);
  t.is(h.engine.state, DhcpClientState.Rebinding);
  t.is(h.messages(t).at(-1)!.ethDst, 0xffff_ffff_ffff);
});

test('NAK while RENEWING: the lease is withdrawn and the client starts over', (t) => {
  const h = host({ nakDelayMs: 500 });
  const seen: (number | null)[] = [];
  h.engine.onLeaseChange((l) => seen.push(l?.addr ?? null));
  bind(h);
  h.clock.set(500_000);
  t.is(h.engine.state, DhcpClientState.Renewing);
  h.engine.handleFrame(reply(h, DhcpMessageType.Nak));
  t.is(h.engine.state, DhcpClientState.Init);
  t.deepEqual(h.applied.at(-1), null);
  t.deepEqual(seen, [OFFERED, null]);
  h.clock.advance(500);
  t.is(h.messages().at(-1)!.dhcp.messageType, DhcpMessageType.Discover);
});

test('an infinite lease arms no timer', (t) => {
  const h = host();
  bind(h, (f) => (f.leaseSecs = 0xffff_ffff));
  t.is(h.engine.state, DhcpClientState.Bound);
  t.is(h.engine.lease!.expiresAt, Infinity);
  t.is(h.clock.pending, 0);
});

test('a probe that never answers times out and the address is taken', (t) => {
  const h = host({ probeTimeoutMs: 3000 });
  h.probeDelayMs = 1e9;
  h.engine.start();
  h.engine.handleFrame(reply(h, DhcpMessageType.Offer));
  h.engine.handleFrame(reply(h, DhcpMessageType.Ack));
  h.clock.advance(2999);
  t.is(h.engine.state, DhcpClientState.Probing);
  h.clock.advance(1);
  t.is(h.engine.state, DhcpClientState.Bound);
  h.engine.stop();
  h.clock.advance(1e9); // the late probe answer changes nothing
  t.is(h.engine.state, DhcpClientState.Stopped);
});

test('stop: RELEASE only when bound; no timers left; frames after stop are dropped', (t) => {
  const h = host();
  h.engine.start();
  h.engine.stop();
  t.is(h.sent.length, 1);
  t.is(h.clock.pending, 0);
  t.false(h.engine.handleFrame(new Uint8Array(60)));
  t.is(h.engine.stats().drops['closed'], 1);
  const b = host();
  bind(b);
  b.engine.stop();
  const rel = b.messages(t).at(-1)!;
  t.is(rel.dhcp.messageType, DhcpMessageType.Release);
  t.is(rel.dhcp.serverId, SERVER);
  t.is(rel.ipDst, SERVER);
  t.is(rel.ethDst, SERVER_MAC);
  t.is(b.clock.pending, 0);
});

test('a lease listener that stops the client leaves no timer behind', (t) => {
  const h = host();
  h.engine.onLeaseChange(() => h.engine.stop());
  bind(h);
  t.is(h.engine.state, DhcpClientState.Stopped);
  t.is(h.clock.pending, 0);
  t.deepEqual(h.applied.at(-1), null);
});

test('options: hostname, client id, broadcast flag, parameter list on the wire', (t) => {
  const h = host({ hostname: 'box', clientId: Uint8Array.of(1, 2, 0, 0, 0, 0, 0xaa), broadcastFlag: true, paramRequestList: [1, 3] });
  h.engine.start();
  const d = h.messages(t)[0]!.dhcp;
  t.is(d.hostName, 'box');
  t.deepEqual([...d.clientId], [1, 2, 0, 0, 0, 0, 0xaa]);
  t.is(d.flags, 0x8000);
  t.deepEqual([...d.paramRequestList], [1, 3]);
  t.is(d.maxMessageSize, 1472);
});

test('createDhcpClient validates its options at once', (t) => {
  t.throws(() => createDhcpClient({ hostname: 'x'.repeat(256) }), { instanceOf: PktTypeError });
  t.throws(() => createDhcpClient({ clientId: new Uint8Array(1) }), { instanceOf: PktTypeError });
  t.throws(() => createDhcpClient({ maxRequestTries: 0 }), { instanceOf: PktRangeError });
  t.throws(() => createDhcpClient({ requestedAddr: '10.0.0' }), { instanceOf: PktTypeError });
  const factory = createDhcpClient({ hostname: 'ok' });
  const h = host();
  const engine = factory(h);
  engine.start();
  t.is(decodeFrame(h.sent[0]!)!.dhcp.hostName, 'ok');
  engine.stop();
});
