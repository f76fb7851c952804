import test from 'ava';
import fc from 'fast-check';
import { MacTable } from '../../src/core/mac-table.js';

const key = (mac: number) => [Math.floor(mac / 2 ** 32), mac | 0] as const;

test('learn, lookup, move, remove', (t) => {
  const m = new MacTable(4, 1);
  const [h1, l1] = key(0x0200_0000_0001);
  t.is(m.lookup(h1, l1), -1);
  const e = m.learn(h1, l1, 3, 10);
  t.is(m.lookup(h1, l1), e);
  t.is(m.portOf(e), 3);
  m.setPort(e, 5);
  t.is(m.portOf(m.lookup(h1, l1)), 5);
  m.removeEntry(e);
  t.is(m.lookup(h1, l1), -1);
  t.is(m.size, 0);
});

test('when full the least recently seen entry is evicted', (t) => {
  const m = new MacTable(3, 7);
  const macs = [1, 2, 3, 4].map((i) => key(0x0200_0000_0000 + i));
  m.learn(...macs[0]!, 0, 1);
  m.learn(...macs[1]!, 0, 2);
  m.learn(...macs[2]!, 0, 3);
  m.touch(m.lookup(...macs[0]!), 4); // 1 is now the most recent; 2 the least
  m.learn(...macs[3]!, 0, 5);
  t.is(m.evictions, 1);
  t.is(m.lookup(...macs[1]!), -1);
  t.not(m.lookup(...macs[0]!), -1);
  t.not(m.lookup(...macs[2]!), -1);
  t.not(m.lookup(...macs[3]!), -1);
});

test('expireOlderThan removes from the old end only', (t) => {
  const m = new MacTable(8, 3);
  for (let i = 0; i < 6; i++) m.learn(0, i, 0, i * 10);
  t.is(m.expireOlderThan(25), 3);
  t.is(m.size, 3);
  for (let i = 0; i < 6; i++) t.is(m.lookup(0, i) === -1, i < 3);
});

test('removePort removes exactly that port\'s entries', (t) => {
  const m = new MacTable(16, 5);
  for (let i = 0; i < 10; i++) m.learn(1, i, i % 3, 0);
  t.is(m.removePort(1), 3);
  for (let i = 0; i < 10; i++) t.is(m.lookup(1, i) === -1, i % 3 === 1);
});

test('property: behaves like a model under random operations (with heavy collisions)', (t) => {
  const op = fc.oneof(
    fc.record({ k: fc.constant('learn' as const), mac: fc.nat(40), port: fc.nat(4) }),
    fc.record({ k: fc.constant('remove' as const), mac: fc.nat(40) }),
    fc.record({ k: fc.constant('touch' as const), mac: fc.nat(40) }),
    fc.record({ k: fc.constant('expire' as const), age: fc.nat(30) }),
    fc.record({ k: fc.constant('port' as const), port: fc.nat(4) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), fc.nat(), (ops, seed) => {
      const cap = 12;
      const m = new MacTable(cap, seed);
      // Model: insertion-ordered map of mac -> { port, seen }; order = LRU (re-inserted on touch).
      const model = new Map<number, { port: number; seen: number }>();
      let now = 0;
      for (const o of ops) {
        now++;
        // Few distinct high words and spread low words make probe runs collide and wrap.
        const hi = (o as { mac?: number }).mac === undefined ? 0 : (o as { mac: number }).mac % 3;
        const lo = (o as { mac?: number }).mac === undefined ? 0 : ((o as { mac: number }).mac * 0x10001) | 0;
        const id = hi * 2 ** 32 + (lo >>> 0);
        if (o.k === 'learn') {
          const e = m.lookup(hi, lo);
          if (e >= 0) {
            m.setPort(e, o.port);
            m.touch(e, now);
            model.delete(id);
          } else {
            m.learn(hi, lo, o.port, now);
            if (model.size === cap) model.delete(model.keys().next().value!);
          }
          model.set(id, { port: o.port, seen: now });
        } else if (o.k === 'remove') {
          const e = m.lookup(hi, lo);
          if (e >= 0) m.removeEntry(e);
          model.delete(id);
        } else if (o.k === 'touch') {
          const e = m.lookup(hi, lo);
          if (e >= 0) {
            m.touch(e, now);
            const v = model.get(id)!;
            model.delete(id);
            model.set(id, { ...v, seen: now });
          }
        } else if (o.k === 'expire') {
          const cutoff = now - o.age;
          m.expireOlderThan(cutoff);
          for (const [k, v] of [...model]) if (v.seen < cutoff) model.delete(k);
        } else {
          m.removePort(o.port);
          for (const [k, v] of [...model]) if (v.port === o.port) model.delete(k);
        }
        if (m.size !== model.size) return false;
      }
      for (const [id, v] of model) {
        const e = m.lookup(Math.floor(id / 2 ** 32), id | 0);
        if (e < 0 || m.portOf(e) !== v.port) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});
