import test from 'ava';
import { L2Hub } from '../../src/core/l2-hub.js';
import { ManualClock } from '../../src/core/clock.js';
import { TapDirection, type PacketTap } from '../../src/core/device.js';
import { ClosedError } from '../../src/errors.js';
import { PipeL2 } from '../../src/core/pipe.js';
import { RecordingL2, frameTo } from '../helpers/devices.js';

const A = 0x0200_0000_000a;
const B = 0x0200_0000_000b;
const C = 0x0200_0000_000c;
const BCAST = 0xffff_ffff_ffff;

function setup(opts: ConstructorParameters<typeof L2Hub>[0] = {}) {
  const clock = new ManualClock();
  const hub = new L2Hub({ clock, hashSeed: 1, ...opts });
  const a = new RecordingL2(A);
  const b = new RecordingL2(B);
  const c = new RecordingL2(C);
  const ha = hub.connect(a);
  const hb = hub.connect(b);
  const hc = hub.connect(c);
  return { clock, hub, a, b, c, ha, hb, hc };
}

test('unknown unicast floods to every port but the source', (t) => {
  const { a, b, c } = setup();
  a.inject(frameTo(B, A, 1));
  t.is(a.got.length, 0);
  t.is(b.got.length, 1);
  t.is(c.got.length, 1);
});

test('broadcast and multicast flood', (t) => {
  const { a, b, c } = setup();
  b.inject(frameTo(BCAST, B));
  b.inject(frameTo(0x0100_5e00_00fb, B));
  t.is(a.got.length, 2);
  t.is(c.got.length, 2);
  t.is(b.got.length, 0);
});

test('a learned destination gets unicast only', (t) => {
  const { a, b, c, hub, hb } = setup();
  b.inject(frameTo(BCAST, B)); // learn B
  t.is(hub.portOfMac(B), hb.id);
  a.inject(frameTo(B, A, 7));
  t.is(b.got.length, 1);
  t.is(b.got[0]![14], 7);
  t.is(c.got.length, 1, 'only the broadcast reached C');
  t.is(hub.stats().learned, 2);
});

test('a MAC that moves port is followed', (t) => {
  const { a, b, c, hub, hc } = setup();
  b.inject(frameTo(BCAST, B));
  c.inject(frameTo(BCAST, B)); // B's MAC now on C's port
  t.is(hub.portOfMac(B), hc.id);
  a.inject(frameTo(B, A));
  t.is(c.got.length, 2, 'the first broadcast and the unicast');
  t.is(b.got.length, 1, 'only the second broadcast');
  t.is(hub.stats().moved, 1);
});

test('a destination on the source port is filtered', (t) => {
  const { a, b, c, ha } = setup();
  a.inject(frameTo(BCAST, A));
  const b0 = b.got.length;
  // A frame entering on A's port for A's own MAC (another host behind the same port).
  a.inject(frameTo(A, 0x0200_0000_00ee));
  t.is(b.got.length, b0);
  t.is(c.got.length, b0);
  t.is(ha.stats().drops['filtered'], 1);
});

test('entries age out 5 minutes after last seen; traffic refreshes them', (t) => {
  const { clock, hub, a, b, c } = setup();
  b.inject(frameTo(BCAST, B));
  clock.advance(200_000);
  b.inject(frameTo(BCAST, B)); // refresh at ~200 s
  clock.advance(200_000); // 400 s since first seen, 200 s since last
  a.inject(frameTo(B, A));
  t.is(c.got.length, 2, 'still unicast to B');
  clock.advance(101_000);
  t.is(hub.portOfMac(B), -1, 'aged out after 300 s of silence');
  a.inject(frameTo(B, A));
  t.is(c.got.length, 3, 'unknown again: flooded');
  t.true(hub.stats().expired >= 1);
});

test('the table is bounded: the least recently seen MAC is evicted', (t) => {
  const { hub, a, b } = setup({ maxMacs: 4 });
  b.inject(frameTo(BCAST, B));
  for (let i = 0; i < 10; i++) a.inject(frameTo(BCAST, 0x0200_0000_1000 + i));
  t.is(hub.macCount, 4);
  t.is(hub.stats().evicted, 7);
  t.is(hub.portOfMac(B), -1);
  t.not(hub.portOfMac(0x0200_0000_1009), -1);
});

test('detach stops delivery, forgets the port\'s MACs, and is idempotent', (t) => {
  const { hub, a, b, c, hb } = setup();
  b.inject(frameTo(BCAST, B));
  hb.close();
  hb.close();
  t.is(hub.portOfMac(B), -1);
  a.inject(frameTo(B, A));
  t.is(b.got.length, 0);
  t.is(c.got.length, 2);
  b.inject(frameTo(BCAST, B));
  t.is(c.got.length, 2, 'a detached device\'s frames go nowhere');
  t.is(hub.stats().ports.length, 2);
});

test('malformed frames are dropped and counted by reason, never thrown', (t) => {
  const { a, b, ha } = setup();
  a.inject(new Uint8Array(13));
  a.inject(frameTo(B, 0x0100_0000_0001)); // group source MAC
  t.is(b.got.length, 0);
  const s = ha.stats();
  t.is(s.drops['truncated'], 1);
  t.is(s.drops['bad-source-mac'], 1);
  t.is(s.rxFrames, 2);
});

test('a device that throws is counted and does not stop the flood', (t) => {
  const { hub, a, c } = setup();
  const bad = new PipeL2(0x0200_0000_0bad, () => {
    throw new Error('boom');
  });
  const hbad = hub.connect(bad);
  a.inject(frameTo(BCAST, A));
  t.is(c.got.length, 1);
  t.is(hbad.stats().drops['send-failed'], 1);
});

test('capture taps see both directions; reentrant delivery works', (t) => {
  const { hub, a, b, ha } = setup();
  const seen: [number, number][] = [];
  const tap: PacketTap = { tap: (d, dir) => seen.push([d[14] ?? -1, dir]) };
  ha.capture(tap);
  // B answers every frame it gets with a unicast to the sender, from inside the delivery.
  b.onSend = (f) => {
    if (f[14] === 1) b.inject(frameTo(A, B, 2));
  };
  a.inject(frameTo(B, A, 1));
  t.deepEqual(seen, [
    [1, TapDirection.In],
    [2, TapDirection.Out],
  ]);
  t.is(a.got.length, 1);
  t.is(hub.stats().ports[0]!.rxFrames, 1);
});

test('close detaches everything and stops the timer; connect after close throws', (t) => {
  const { hub, clock, a, b } = setup();
  hub.close();
  t.is(clock.pending, 0);
  a.inject(frameTo(BCAST, A));
  t.is(b.got.length, 0);
  t.throws(() => hub.connect(new PipeL2()), { instanceOf: ClosedError });
  t.notThrows(() => hub.close());
});

test('as an L2Connector, cleanup detaches', (t) => {
  const hub = new L2Hub({ clock: new ManualClock() });
  const a = new RecordingL2(A);
  const b = new RecordingL2(B);
  hub.connectL2(a);
  const cleanup = hub.connectL2(b) as () => void;
  cleanup();
  a.inject(frameTo(BCAST, A));
  t.is(b.got.length, 0);
  hub.close();
});
