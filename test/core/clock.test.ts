import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';

test('ManualClock runs due timers in order, each at its own time', (t) => {
  const c = new ManualClock(100);
  const seen: string[] = [];
  c.setTimer(() => seen.push(`b@${c.now()}`), 20);
  c.setTimer(() => seen.push(`a@${c.now()}`), 10);
  const x = c.setTimer(() => seen.push('never'), 15);
  c.setTimer(() => seen.push(`a2@${c.now()}`), 10);
  c.clearTimer(x);
  c.advance(15);
  t.deepEqual(seen, ['a@110', 'a2@110']);
  t.is(c.now(), 115);
  c.setTimer(() => {
    seen.push(`c@${c.now()}`);
    c.setTimer(() => seen.push(`d@${c.now()}`), 1); // armed while advancing, due within it
  }, 0);
  c.advance(10);
  t.deepEqual(seen, ['a@110', 'a2@110', 'c@115', 'd@116', 'b@120']);
  t.is(c.pending, 0);
});
