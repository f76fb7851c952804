import test from 'ava';
import fc from 'fast-check';
import { CookieGenerator } from '../../src/wg/cookie.js';
import { WgDrop } from '../../src/wg/stats.js';
import { A_ADDR, B_ADDR, WALL0, makeNet, ping, sent, typeOf } from './device-helpers.js';

test('two devices: handshake on first packet, pings both ways, wg show counters', (t) => {
  const net = makeNet();
  const { a, b, link, clock } = net;
  a.send(ping('10.0.0.1', '10.0.0.2', 1));
  t.is(sent(net, A_ADDR).length, 1, 'an initiation, the packet staged');
  t.is(typeOf(sent(net, A_ADDR)[0]!), 1);
  clock.advance(3);
  link.pump();
  t.is(net.bInbox.length, 1, 'staged packet delivered after the handshake');
  t.deepEqual(net.bInbox[0], ping('10.0.0.1', '10.0.0.2', 1));
  b.send(ping('10.0.0.2', '10.0.0.1', 1));
  link.pump();
  t.is(net.aInbox.length, 1);
  for (let i = 2; i <= 10; i++) {
    a.send(ping('10.0.0.1', '10.0.0.2', i));
    b.send(ping('10.0.0.2', '10.0.0.1', i, 1000));
    link.pump();
  }
  t.is(net.bInbox.length, 10);
  t.is(net.aInbox.length, 10);
  t.deepEqual(net.aInbox[9], ping('10.0.0.2', '10.0.0.1', 10, 1000));
  // Wire sizes: 84-byte pings pad to 96 -> 128 on the wire; 1028 -> 1040 -> 1072.
  const aShow = a.show();
  const bShow = b.show();
  const pa = aShow.peers[0]!;
  const pb = bShow.peers[0]!;
  t.is(pa.txBytes, 148 + 10 * 128, 'initiation + 10 pings (the first one carried the key confirmation)');
  t.is(pa.rxBytes, 92 + 128 + 9 * 1072);
  t.is(pb.rxBytes, pa.txBytes);
  t.is(pb.txBytes, pa.rxBytes);
  t.is(pa.latestHandshake, Math.floor((WALL0 + 3) / 1000));
  t.is(pb.latestHandshake, Math.floor((WALL0 + 3) / 1000), 'responder: at key confirmation');
  t.is(pb.endpoint, A_ADDR, 'learned from the authenticated initiation');
  t.deepEqual(pa.allowedIps, ['10.0.0.2/32', 'fd00::2/128']);
  t.deepEqual(aShow.drops, {});
  t.deepEqual(bShow.drops, {});
});

test('IPv6 through the tunnel, padding stripped on delivery', (t) => {
  const net = makeNet();
  const p = new Uint8Array(40 + 13);
  p[0] = 0x60;
  p[5] = 13;
  p[6] = 17;
  p[7] = 64;
  p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
  p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 24);
  net.a.send(p);
  net.link.pump();
  t.is(net.bInbox.length, 1);
  t.deepEqual(net.bInbox[0], p);
});

test('key confirmation: the responder does not send on the new keypair until the initiator has', (t) => {
  const net = makeNet();
  const { a, b, link } = net;
  // Drop the initiator's first transport message (its keepalive).
  link.filter = (d) => !(typeOf(d) === 4 && d.from[1] === 51820);
  a.connect(net.bKey);
  link.pump();
  const peerOnB = b.peer(net.aKey)!;
  t.not(peerOnB.next, null);
  t.is(peerOnB.current, null);
  const before = sent(net, B_ADDR).length;
  b.send(ping('10.0.0.2', '10.0.0.1'));
  link.pump();
  t.is(sent(net, B_ADDR).length, before, 'nothing sent: staged');
  t.is(peerOnB.staged.count, 1);
  link.filter = null;
  a.send(ping('10.0.0.1', '10.0.0.2'));
  link.pump();
  t.is(peerOnB.current?.localIndex, peerOnB.current?.localIndex);
  t.is(peerOnB.next, null, 'rotated: next became current');
  t.not(peerOnB.current, null);
  t.is(net.aInbox.length, 1, 'the staged packet went out with the confirmed keypair');
  t.is(b.show().peers[0]!.latestHandshake, Math.floor(WALL0 / 1000));
});

test('AllowedIPs: no route drops outbound; inner source outside the peer is dropped inbound', (t) => {
  const net = makeNet();
  net.a.send(ping('10.0.0.1', '10.0.0.9'));
  t.is(net.a.drops.of(WgDrop.NoRoute), 1);
  t.is(net.link.log.length, 0);
  // B claims 10.0.0.3 as source: A only allows 10.0.0.2 from B.
  net.a.connect(net.bKey);
  net.link.pump();
  net.b.send(ping('10.0.0.2', '10.0.0.1'));
  net.link.pump();
  t.is(net.aInbox.length, 1);
  net.a.setAllowedIps(net.bKey, ['10.0.0.2/32', '10.0.0.0/8']);
  net.b.setAllowedIps(net.aKey, ['10.0.0.0/8']);
  // A routes 10.0.0.3 to B now, but B's peer A may not send from 10.0.0.3... build it on B's side:
  net.b.send(ping('10.0.0.3', '10.0.0.1'));
  net.link.pump();
  t.is(net.aInbox.length, 2, '10.0.0.0/8 covers it now');
  net.a.setAllowedIps(net.bKey, ['10.0.0.2/32']);
  net.b.send(ping('10.0.0.3', '10.0.0.1'));
  net.link.pump();
  t.is(net.aInbox.length, 2);
  t.is(net.a.drops.of(WgDrop.SourceNotAllowed), 1);
});

test('roaming: only authenticated packets move the endpoint', (t) => {
  const net = makeNet();
  const { a, b, link } = net;
  a.connect(net.bKey);
  link.pump();
  const peerOnB = b.peer(net.aKey)!;
  t.is(b.show().peers[0]!.endpoint, A_ADDR);
  // A forged transport packet from another port: dropped, endpoint unchanged.
  const forged = new Uint8Array(64);
  forged[0] = 4;
  forged[8] = 77; // a counter not seen yet, so it reaches the AEAD
  forged.set(new Uint8Array(new Uint32Array([peerOnB.current!.localIndex]).buffer), 4);
  link.inject('127.0.0.1:52001', B_ADDR, forged);
  // A replayed genuine packet from another port: dropped as a replay.
  const genuine = sent(net, A_ADDR, 4)[0]!.data;
  link.inject('127.0.0.1:52001', B_ADDR, genuine);
  link.pump();
  t.is(b.show().peers[0]!.endpoint, A_ADDR);
  t.is(b.drops.of(WgDrop.AuthFailed), 1);
  t.is(b.drops.of(WgDrop.Replay), 1);
  // A moves: its next packet comes from :52001 (rewrite the source in flight).
  link.filter = (d) => {
    if (d.from[1] === 51820) d.from[1] = 52001;
    return true;
  };
  a.send(ping('10.0.0.1', '10.0.0.2'));
  link.pump();
  t.is(b.show().peers[0]!.endpoint, '127.0.0.1:52001');
  link.filter = null;
  b.send(ping('10.0.0.2', '10.0.0.1'));
  t.is(link.queue.at(-1)!.to[1], 52001, 'the reply goes to the new endpoint');
});

test('forged transport with a huge counter does not stop genuine traffic (device level)', (t) => {
  const net = makeNet();
  const { a, b, link } = net;
  a.send(ping('10.0.0.1', '10.0.0.2', 1));
  link.pump();
  link.filter = (d) => typeOf(d) !== 4; // hold A's next packets
  a.send(ping('10.0.0.1', '10.0.0.2', 2));
  a.send(ping('10.0.0.1', '10.0.0.2', 3));
  const held = sent(net, A_ADDR, 4).slice(-2).map((d) => d.data);
  link.queue.length = 0;
  link.filter = null;
  for (const c of [0xffff_ffff, 5000]) {
    const f = Uint8Array.from(held[0]!);
    f[8] = c & 255;
    f[9] = (c >>> 8) & 255;
    f[12] = 0x7f;
    link.inject(A_ADDR, B_ADDR, f);
  }
  link.pump();
  t.is(b.drops.of(WgDrop.AuthFailed), 2);
  link.inject(A_ADDR, B_ADDR, held[1]!);
  link.inject(A_ADDR, B_ADDR, held[0]!);
  link.pump();
  t.deepEqual(net.bInbox.map((p) => p[27]), [1, 3, 2], 'genuine packets, out of order, all accepted');
});

test('garbage datagrams never throw and are counted by reason', (t) => {
  const net = makeNet();
  net.a.connect(net.bKey);
  net.link.pump();
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.constantFrom(32, 48, 64, 92, 148).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))), fc.integer({ min: 0, max: 5 }), (data, type) => {
      if (data.length >= 4 && type > 0) {
        data[0] = type;
        data[1] = data[2] = data[3] = 0;
      }
      net.b.receive(data, new Int32Array([4, 1, 0x7f000001, 0, 0, 0, 0, 0]), 0);
      return true;
    }),
    { numRuns: 2000 },
  );
  const drops = net.b.show().drops;
  for (const reason of ['bad-length', 'bad-type', 'bad-mac1', 'unknown-index']) t.true((drops[reason] ?? 0) > 0, `${reason}: ${JSON.stringify(drops)}`);
  // The session still works.
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  net.link.pump();
  t.is(net.bInbox.length, 1);
});

test('peers: typed errors on misuse; removal drops keys, indices and routes', (t) => {
  const net = makeNet();
  t.throws(() => net.a.addPeer({ publicKey: 'nope' }), { code: 'ERR_PKT_INVALID_ARG' });
  t.throws(() => net.a.addPeer({ publicKey: net.aKey }), { code: 'ERR_PKT_CONFIG' });
  t.throws(() => net.a.addPeer({ publicKey: net.bKey, endpoint: '1.2.3.4' }), { code: 'ERR_PKT_INVALID_ADDRESS' });
  t.throws(() => net.a.addPeer({ publicKey: net.bKey, persistentKeepalive: -1 }), { code: 'ERR_PKT_OUT_OF_RANGE' });
  const other = 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=';
  t.throws(() => net.a.addPeer({ publicKey: other, allowedIps: ['10.9.0.0/16', '10.1.0.0/99'] }), { code: 'ERR_PKT_INVALID_ADDRESS' });
  t.is(net.a.peer(other), null, 'a rejected configuration leaves no half-made peer');
  t.is(net.a.show().peers[0]!.allowedIps.length, 2);
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  net.link.pump();
  t.is(net.bInbox.length, 1);
  t.true(net.b.removePeer(net.aKey));
  t.false(net.b.removePeer(net.aKey));
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  net.link.pump();
  t.is(net.bInbox.length, 1);
  t.is(net.b.drops.of(WgDrop.UnknownIndex), 1);
  t.is(net.b.peerCount, 0);
  net.a.close();
  net.b.close();
  t.is(net.clock.pending, 0, 'no timer left armed');
});

test('onUnknownPeer: asked only after an initiation authenticates; accepted keys become peers', (t) => {
  const asked: string[] = [];
  let accept = false;
  const net = makeNet({
    b: {
      peers: [],
      onUnknownPeer: (key, endpoint) => {
        asked.push(`${Buffer.from(key).toString('base64')} ${endpoint}`);
        return accept ? { allowedIps: ['10.0.0.1/32'] } : null;
      },
    },
  });
  // A forged initiation (flipped timestamp, mac1 recomputed: mac1 is public) never reaches the callback.
  const hsAB = net.a.peer(net.bKey)!.handshake;
  net.link.filter = (d) => {
    if (typeOf(d) === 1) {
      d.data[100]! ^= 1;
      new CookieGenerator(hsAB.remoteMac1Key, hsAB.remoteCookieKey).addMacs(d.data, 0, 148, 0);
    }
    return true;
  };
  net.a.connect(net.bKey);
  net.link.pump();
  t.deepEqual(asked, []);
  t.is(net.b.drops.of(WgDrop.AuthFailed), 1);
  net.link.filter = null;
  net.clock.advance(5_500); // retransmit: a genuine initiation, refused by the callback
  net.link.pump();
  t.deepEqual(asked, [`${net.aKey} ${A_ADDR}`]);
  t.is(net.b.drops.of(WgDrop.UnknownPeer), 1);
  t.is(net.b.peerCount, 0);
  accept = true;
  net.clock.advance(5_500);
  net.link.pump();
  t.is(net.b.peerCount, 1);
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  net.b.send(ping('10.0.0.2', '10.0.0.1'));
  net.link.pump();
  t.is(net.bInbox.length, 1);
  t.is(net.aInbox.length, 1);
  t.deepEqual(net.b.show().peers[0]!.allowedIps, ['10.0.0.1/32']);
});
