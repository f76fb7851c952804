/**
 * The protocol timers in virtual time (notes §4.2, §7.3 item 5), two devices over a MemoryLink:
 * A (127.0.0.1:51820) initiates, B (127.0.0.2:51821) responds.
 */
import test from 'ava';
import { WgDrop } from '../../src/wg/stats.js';
import { A_ADDR, B_ADDR, makeNet, ping, sent, typeOf, type Net } from './device-helpers.js';

const INIT = 1;
const COOKIE = 3;
const DATA = 4;

function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

/** Advances `ms` in 100 ms steps, delivering what is sent on the way. */
function run(net: Net, ms: number): void {
  const end = net.clock.now() + ms;
  while (net.clock.now() < end) {
    net.clock.advance(Math.min(100, end - net.clock.now()));
    net.link.pump();
  }
}

/** A session between A and B established at the current time. */
function session(net: Net): void {
  net.a.connect(net.bKey);
  net.link.pump();
}

test('handshake retransmit: every 5 s + jitter < 334 ms, a new index each time, gives up after 20 initiations', (t) => {
  const net = makeNet();
  net.link.filter = (d) => d.to[1] !== 51821; // B unreachable
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  run(net, 200_000);
  const inits = sent(net, A_ADDR, INIT);
  t.is(inits.length, 20);
  for (let i = 1; i < inits.length; i++) {
    const gap = inits[i]!.at - inits[i - 1]!.at;
    t.true(gap >= 5000 && gap < 5334, `gap ${i}: ${gap} ms`);
  }
  t.true(inits[19]!.at >= 95_000 && inits[19]!.at < 100_000);
  t.is(new Set(inits.map((d) => le32(d.data, 4))).size, 20, 'a new sender index each time');
  t.is(net.a.drops.of(WgDrop.StagedFlushed), 1, 'the staged packet is flushed when it gives up');
  const peer = net.a.peer(net.bKey)!;
  t.false(peer.timerPending('retransmit'));
  t.true(peer.timerPending('zeroKeys'));
});

test('keepalive exactly 10 s after receiving data with nothing sent back', (t) => {
  const net = makeNet();
  session(net);
  net.clock.advance(1000);
  const t0 = net.clock.now();
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  net.link.pump();
  run(net, 12_000);
  const fromB = sent(net, B_ADDR, DATA);
  t.is(fromB.length, 1);
  t.is(fromB[0]!.at, t0 + 10_000);
  t.is(fromB[0]!.data.length, 32, 'an empty transport message');
});

test('data answered by data gets no keepalive', (t) => {
  const net = makeNet();
  session(net);
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  net.link.pump();
  net.b.send(ping('10.0.0.2', '10.0.0.1'));
  net.link.pump();
  run(net, 30_000);
  t.is(sent(net, B_ADDR, DATA).length, 1);
  t.true(sent(net, B_ADDR, DATA).every((d) => d.data.length > 32));
});

test('a new handshake 15 s (+ jitter) after sending data when nothing comes back', (t) => {
  const net = makeNet();
  session(net);
  net.clock.advance(2000);
  net.link.filter = (d) => d.from[1] !== 51821; // B's packets are lost from now on
  const t0 = net.clock.now();
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  run(net, 16_000);
  const inits = sent(net, A_ADDR, INIT);
  t.is(inits.length, 2);
  const at = inits[1]!.at - t0;
  t.true(at >= 15_000 && at < 15_334, `${at} ms`);
});

test('initiator rekeys on the first send after 120 s; the responder does not', (t) => {
  const net = makeNet();
  session(net);
  run(net, 119_000);
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  net.link.pump();
  t.is(sent(net, A_ADDR, INIT).length, 1, 'not yet at 119 s');
  run(net, 2_000);
  net.b.send(ping('10.0.0.2', '10.0.0.1'));
  net.link.pump();
  t.is(sent(net, B_ADDR, INIT).length, 0, 'the responder never rekeys by time');
  t.is(sent(net, A_ADDR, INIT).length, 1);
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  t.is(sent(net, A_ADDR, INIT).length, 2, 'rekey at the first send past 120 s');
  net.link.pump();
  t.is(net.bInbox.length, 2, 'the packet that triggered it still went out on the old keypair');
  t.is(net.aInbox.length, 1);
});

test('receive-triggered rekey once the initiators keypair is older than 165 s', (t) => {
  const net = makeNet();
  session(net);
  run(net, 164_000);
  net.b.send(ping('10.0.0.2', '10.0.0.1'));
  net.link.pump();
  t.is(sent(net, A_ADDR, INIT).length, 1);
  run(net, 2_000);
  net.b.send(ping('10.0.0.2', '10.0.0.1'));
  net.link.pump();
  t.is(sent(net, A_ADDR, INIT).length, 2, 'A re-keys when receiving at 166 s');
  t.is(net.aInbox.length, 2);
  net.link.pump();
  t.not(net.a.peer(net.bKey)!.current!.createdMs, 0, 'a new keypair');
});

test('no sending after 180 s: traffic queues, triggers a handshake, then flows; old packets are refused', (t) => {
  const net = makeNet();
  session(net);
  run(net, 10_000);
  // Capture a genuine packet of the first keypair, undelivered.
  net.link.filter = () => false;
  net.a.send(ping('10.0.0.1', '10.0.0.2', 9));
  const old = sent(net, A_ADDR, DATA).at(-1)!.data;
  run(net, 171_000); // t = 181 s; A's retries (new-handshake timer) are lost too
  net.link.filter = null;
  const dataBefore = sent(net, A_ADDR, DATA).length;
  const initsBefore = sent(net, A_ADDR, INIT).length;
  net.a.send(ping('10.0.0.1', '10.0.0.2', 1));
  t.is(sent(net, A_ADDR, DATA).length, dataBefore, 'nothing sealed with the expired keypair');
  t.is(sent(net, A_ADDR, INIT).length, initsBefore + 1, 'a handshake instead');
  t.is(net.a.peer(net.bKey)!.staged.count, 1);
  net.link.pump();
  t.deepEqual(net.bInbox.map((p) => p[27]), [1], 'delivered after the new handshake');
  net.link.inject(A_ADDR, B_ADDR, old);
  net.link.pump();
  t.is(net.b.drops.of(WgDrop.KeypairExpired), 1);
});

test('responder with an expired keypair starts its own handshake (roles swap)', (t) => {
  const net = makeNet();
  session(net);
  net.clock.advance(181_000);
  net.link.pump();
  net.b.send(ping('10.0.0.2', '10.0.0.1'));
  t.is(sent(net, B_ADDR, INIT).length, 1);
  net.link.pump();
  t.is(net.aInbox.length, 1);
});

test('all keys zeroed 540 s after the last session derivation', (t) => {
  const net = makeNet();
  session(net);
  const peer = net.a.peer(net.bKey)!;
  const idx = peer.current!.localIndex;
  net.clock.advance(539_999);
  t.not(peer.current, null);
  net.clock.advance(1);
  t.is(peer.current, null);
  t.is(peer.previous, null);
  t.is(peer.next, null);
  const onB = net.b.peer(net.aKey)!;
  t.is(onB.current, null);
  // A transport message to the zeroed index is unknown now.
  const m = new Uint8Array(32);
  m[0] = 4;
  m.set(new Uint8Array(new Uint32Array([idx]).buffer), 4);
  net.link.inject(B_ADDR, A_ADDR, m);
  net.link.pump();
  t.is(net.a.drops.of(WgDrop.UnknownIndex), 1);
});

test('persistent keepalive: on when configured (immediate handshake), then every interval of silence', (t) => {
  const net = makeNet({ a: { peers: [] } });
  net.a.addPeer({ publicKey: net.bKey, endpoint: B_ADDR, allowedIps: ['10.0.0.2/32'], persistentKeepalive: 25 });
  t.is(sent(net, A_ADDR, INIT).length, 1, 'turning it on sends at once (a handshake first)');
  net.link.pump();
  const t0 = net.clock.now();
  run(net, 80_000);
  const ka = sent(net, A_ADDR, DATA).filter((d) => d.data.length === 32);
  t.deepEqual(ka.map((d) => d.at - t0), [0, 25_000, 50_000, 75_000]);
});

test('cookie path: a responder under load answers with a cookie; the retry carries mac2 and gets through', (t) => {
  const net = makeNet({ b: { underLoad: () => true } });
  net.a.send(ping('10.0.0.1', '10.0.0.2'));
  net.link.pump();
  t.deepEqual(net.link.log.map(typeOf), [INIT, COOKIE]);
  t.is(net.b.drops.of(WgDrop.CookieSent), 1);
  t.true(net.link.log[0]!.data.subarray(132).every((x) => x === 0), 'first initiation: no mac2');
  run(net, 6_000);
  const types = net.link.log.map(typeOf);
  t.deepEqual(types, [INIT, COOKIE, INIT, 2, DATA], 'retransmit with mac2 -> response -> staged data');
  t.false(net.link.log[2]!.data.subarray(132).every((x) => x === 0), 'second initiation carries mac2');
  t.is(net.bInbox.length, 1);
  t.is(net.a.show().peers[0]!.endpoint, B_ADDR);
});

test('under load: the per-source rate limit (burst 5, 20/s) applies after mac2', (t) => {
  const net = makeNet({ b: { underLoad: () => true } });
  session(net); // initiation, cookie reply
  run(net, 6_000); // retry with mac2 succeeds
  t.is(net.b.peer(net.aKey)!.current !== null || net.b.peer(net.aKey)!.next !== null, true);
  const init = sent(net, A_ADDR, INIT).at(-1)!.data;
  for (let i = 0; i < 8; i++) net.link.inject(A_ADDR, B_ADDR, init);
  net.link.pump();
  t.true(net.b.drops.of(WgDrop.RateLimited) >= 2, `rate-limited ${net.b.drops.of(WgDrop.RateLimited)}`);
  t.true(net.b.drops.of(WgDrop.HandshakeReplay) >= 1, 'the rest are replays');
});

test('message limits: rekey past 2^60 sent; at REJECT_AFTER_MESSAGES traffic queues and re-keys', (t) => {
  const net = makeNet();
  session(net);
  run(net, 6_000); // past the 5 s rate limit on initiations
  const peer = net.a.peer(net.bKey)!;
  peer.current!.sendCounter[1] = 2 ** 28; // counter = 2^60 = REKEY_AFTER_MESSAGES
  const data0 = sent(net, A_ADDR, DATA).length;
  net.a.send(ping('10.0.0.1', '10.0.0.2', 1));
  t.is(sent(net, A_ADDR, DATA).length, data0 + 1, 'still sent on the old keypair');
  t.is(sent(net, A_ADDR, INIT).length, 2, 'and a rekey started');
  net.link.pump();
  const fresh = peer.current!;
  t.is(fresh.sendCounter[1], 0, 'a new keypair');
  run(net, 6_000);
  fresh.sendCounter[0] = 0xffff_dfff; // REJECT_AFTER_MESSAGES: no counter left
  fresh.sendCounter[1] = 0xffff_ffff;
  const data1 = sent(net, A_ADDR, DATA).length;
  net.a.send(ping('10.0.0.1', '10.0.0.2', 2));
  t.is(sent(net, A_ADDR, DATA).length, data1, 'nothing sealed on the exhausted keypair');
  t.is(sent(net, A_ADDR, INIT).length, 3);
  t.is(peer.staged.count, 1);
  net.link.pump();
  t.deepEqual(net.bInbox.map((p) => p[27]), [1, 2]);
});

test('the staged queue is bounded: 128 packets, the oldest dropped and counted', (t) => {
  const net = makeNet();
  net.link.filter = () => false; // no handshake completes
  for (let i = 0; i < 130; i++) net.a.send(ping('10.0.0.1', '10.0.0.2', i));
  const peer = net.a.peer(net.bKey)!;
  t.is(peer.staged.count, 128);
  t.is(net.a.drops.of(WgDrop.StagedFull), 2);
  t.is(peer.staged.peekBuf()[27], 2, 'packets 0 and 1 went');
  t.is(sent(net, A_ADDR, INIT).length, 1, 'one initiation, not one per packet (5 s rate limit)');
});
