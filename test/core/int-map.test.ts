import test from 'ava';
import fc from 'fast-check';
import { IntMap } from '../../src/core/int-map.js';

test('set, get, replace, delete, grow', (t) => {
  const m = new IntMap<string>(1);
  for (let i = -50; i < 50; i++) m.set(i * 7919, `v${i}`);
  t.is(m.size, 100);
  t.is(m.get(-50 * 7919), 'v-50');
  m.set(0, 'zero');
  t.is(m.get(0), 'zero');
  t.is(m.size, 100);
  t.true(m.delete(0));
  t.false(m.delete(0));
  t.is(m.get(0), undefined);
  t.is(m.size, 99);
  m.set(-1, 'minus one');
  m.set(0x7fffffff, 'max');
  m.set(-0x80000000, 'min');
  t.is(m.get(-1), 'minus one');
  t.is(m.get(0x7fffffff), 'max');
  t.is(m.get(-0x80000000), 'min');
  m.clear();
  t.is(m.size, 0);
  t.is(m.get(-1), undefined);
});

test('property: behaves like a Map under random operations (few keys, many collisions)', (t) => {
  const op = fc.tuple(fc.constantFrom('set', 'delete', 'get'), fc.integer({ min: -40, max: 40 }), fc.nat(1000));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), fc.integer(), (ops, seed) => {
      const m = new IntMap<number>(seed);
      const model = new Map<number, number>();
      for (const [kind, k0, v] of ops) {
        const k = k0 * 0x10000; // keys that differ only in high bits
        if (kind === 'set') {
          m.set(k, v);
          model.set(k, v);
        } else if (kind === 'delete') {
          if (m.delete(k) !== model.delete(k)) return false;
        } else if (m.get(k) !== model.get(k)) return false;
        if (m.size !== model.size) return false;
      }
      for (const [k, v] of model) if (m.get(k) !== v) return false;
      return m.keyList().length === model.size;
    }),
    { numRuns: 300 },
  );
  t.pass();
});
