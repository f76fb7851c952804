import test from 'ava';
import { ManualClock } from '../../../src/core/clock.js';
import { IsnGenerator, ISN_TICKS_PER_MS } from '../../../src/vtcp/isn.js';
import { PktRangeError } from '../../../src/errors.js';

const LOCAL = Uint8Array.of(10, 0, 0, 1);
const REMOTE = Uint8Array.of(192, 168, 1, 20);
const LOCAL6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]);
const REMOTE6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 2]);
const SECRET = new Uint8Array(32).fill(0x42);

test('ISN (RFC 6528): grows with the 4 µs timer for one tuple', (t) => {
  const clock = new ManualClock(5000);
  const gen = new IsnGenerator({ clock, secret: SECRET });
  const a = gen.next(LOCAL, REMOTE, 80, 40000);
  t.is(gen.next(LOCAL, REMOTE, 80, 40000), a, 'same time, same tuple, same ISN');
  clock.advance(1);
  t.is(gen.next(LOCAL, REMOTE, 80, 40000), (a + ISN_TICKS_PER_MS) >>> 0, '250 ticks per ms');
  clock.advance(0.004);
  t.is(gen.next(LOCAL, REMOTE, 80, 40000), (a + ISN_TICKS_PER_MS + 1) >>> 0, 'one tick per 4 µs');
  clock.advance(4 * 2 ** 32 / 1000); // the timer wraps after 2^32 ticks (about 4.77 hours)
  t.is(gen.next(LOCAL, REMOTE, 80, 40000), (a + ISN_TICKS_PER_MS + 1) >>> 0);
});

test('ISN differs per tuple and per secret', (t) => {
  const clock = new ManualClock(5000);
  const gen = new IsnGenerator({ clock, secret: SECRET });
  const seen = new Set<number>();
  seen.add(gen.next(LOCAL, REMOTE, 80, 40000));
  seen.add(gen.next(LOCAL, REMOTE, 80, 40001));
  seen.add(gen.next(LOCAL, REMOTE, 81, 40000));
  seen.add(gen.next(LOCAL, Uint8Array.of(192, 168, 1, 21), 80, 40000));
  seen.add(gen.next(Uint8Array.of(10, 0, 0, 2), REMOTE, 80, 40000));
  seen.add(gen.next(LOCAL6, REMOTE6, 80, 40000));
  seen.add(gen.next(REMOTE, LOCAL, 40000, 80));
  seen.add(new IsnGenerator({ clock, secret: new Uint8Array(32) }).next(LOCAL, REMOTE, 80, 40000));
  seen.add(new IsnGenerator({ clock }).next(LOCAL, REMOTE, 80, 40000));
  t.is(seen.size, 9);
  t.throws(() => new IsnGenerator({ clock, secret: new Uint8Array(4) }), { instanceOf: PktRangeError });
});
