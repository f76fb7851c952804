import test from 'ava';
import { ClosedError, ConfigError, PktRangeError, PktTypeError } from '../../src/errors.js';
import { Dataplane, type EngineSpec } from '../../src/dataplane/index.js';
import { assertNoLeak, snapshot, startDataplane } from '../helpers/dp.js';

test.serial('bad specs, unknown kinds and workers, mixed-layer links and bad link options are typed errors', async (t) => {
  const dp = startDataplane(t, { workers: 2 });
  await dp.ready();

  const notObject = await t.throwsAsync(dp.create(null as unknown as EngineSpec), { instanceOf: PktTypeError });
  t.is(notObject.code, 'ERR_PKT_INVALID_ARG');
  t.regex(notObject.message, /expected a spec \{ kind, options\? \}, got null/);
  await t.throwsAsync(dp.create({ kind: 42 } as unknown as EngineSpec), { instanceOf: PktTypeError, message: /spec\.kind/ });

  const unknown = await t.throwsAsync(dp.create({ kind: 'warp-drive' }), { instanceOf: ConfigError });
  t.is(unknown.code, 'ERR_PKT_CONFIG');
  t.regex(unknown.message, /unknown engine kind 'warp-drive' \(expected one of l2hub, l3hub, pipe, pipe-l3, gen, sink, crash, host, stubborn\)/);

  await t.throwsAsync(dp.create({ kind: 'l2hub', options: { maxMac: 10 } }), { instanceOf: PktTypeError, message: /unknown option 'maxMac' \(expected maxMacs, agingMs, capture\)/ });
  await t.throwsAsync(dp.create({ kind: 'l2hub', options: { maxMacs: '10' } } as unknown as EngineSpec), { instanceOf: PktTypeError, message: /maxMacs must be a number/ });
  // A range the hub itself checks, inside the worker: the same class and code reach the caller.
  const range = await t.throwsAsync(dp.create({ kind: 'l2hub', options: { maxMacs: 0 } }), { instanceOf: PktRangeError });
  t.is(range.code, 'ERR_PKT_OUT_OF_RANGE');
  t.regex(range.message, /L2Hub maxMacs: expected an integer in \[1, 4194304\], got 0/);
  // A plugin engine whose create throws.
  await t.throwsAsync(dp.create({ kind: 'host' }), { instanceOf: TypeError, message: /options\.addr/ });

  const badWorker = await t.throwsAsync(dp.create({ kind: 'l2hub' }, { worker: 2 }), { instanceOf: PktRangeError });
  t.regex(badWorker.message, /worker: expected an integer in \[0, 1\], got 2/);

  const l2 = await dp.create({ kind: 'l2hub' }, { worker: 0 });
  const l3 = await dp.create({ kind: 'l3hub' }, { worker: 1 });
  const other = await dp.create({ kind: 'l2hub' }, { worker: 1 });
  const mixed = await t.throwsAsync(dp.link(l2, l3), { instanceOf: ConfigError });
  t.regex(mixed.message, /both ends must be the same layer, got l2hub-\d+ \(l2hub, layer 2\) and l3hub-\d+ \(l3hub, layer 3\)/);
  await t.throwsAsync(dp.link(l2, l2), { instanceOf: ConfigError, message: /to itself/ });
  await t.throwsAsync(dp.link(l2, 'nope'), { instanceOf: PktTypeError, message: /expected an engine of this dataplane, got "nope"/ });
  await t.throwsAsync(dp.link(l2, other, { slots: 100 }), { instanceOf: PktRangeError, message: /slots: expected a power of two, got 100/ });
  await t.throwsAsync(dp.link(l2, other, { slotSize: 20 }), { instanceOf: PktRangeError, message: /slotSize/ });
  await t.throwsAsync(dp.link(l2, other, { policy: 'maybe' as 'drop' }), { instanceOf: PktTypeError, message: /policy must be 'drop' or 'wait', got "maybe"/ });
  await t.throwsAsync(dp.link(l2, other, { addr: { a: '10.0.0.1/24' } }), { instanceOf: ConfigError, message: /layer-3 links only/ });
  await t.throwsAsync(dp.link(l2, other, { colour: 'red' } as object), { instanceOf: PktTypeError, message: /unknown option 'colour'/ });
  const l3b = await dp.create({ kind: 'l3hub' }, { worker: 0 });
  const badAddr = await t.throwsAsync(dp.link(l3, l3b, { addr: { a: '10.0.0.300/24' } }), { instanceOf: PktTypeError });
  t.is(badAddr.code, 'ERR_PKT_INVALID_ADDRESS');

  await t.throwsAsync(dp.command(l2, 'reboot'), { instanceOf: PktTypeError, message: /l2hub: unknown command 'reboot'/ });
  t.is(await dp.command(l2, 'macCount'), 0);
  await t.throwsAsync(dp.command(l2, 'macCount', () => 1), { instanceOf: PktTypeError, message: /not structured-clonable/ });
  // After all that, the dataplane still works.
  t.is((await dp.link(l2, other)).mode, 'ring');
});

test.serial('a closed dataplane refuses everything with ClosedError', async (t) => {
  const before = await snapshot();
  const dp = startDataplane(t, { workers: 1 });
  const hub = await dp.create({ kind: 'l2hub' });
  await dp.close();
  for (const p of [dp.create({ kind: 'l2hub' }), dp.link(hub, hub), dp.command(hub, 'macCount'), dp.stats(), dp.unlink('link-1'), dp.tasks.run('x25519-keypair')]) {
    const err = await t.throwsAsync(p, { instanceOf: ClosedError });
    t.is(err.code, 'ERR_PKT_CLOSED');
  }
  await assertNoLeak(t, before);
});

test.serial('bad constructor options throw at once; a module that fails to load rejects ready()', async (t) => {
  t.throws(() => new Dataplane({ workers: 0 }), { instanceOf: PktRangeError, message: /Dataplane workers: expected an integer in \[1, 256\], got 0/ });
  t.throws(() => new Dataplane({ modules: ['relative/engines.js'] }), { instanceOf: PktTypeError, message: /absolute path/ });
  t.throws(() => new Dataplane({ spinUs: -1 }), { instanceOf: PktRangeError });
  const before = await snapshot();
  const dp = startDataplane(t, { workers: 2, modules: [new URL('./no-such-engines.js', import.meta.url)] });
  const err = await t.throwsAsync(dp.ready(), { instanceOf: ConfigError });
  t.regex(err.message, /no-such-engines\.js failed to load/);
  await t.throwsAsync(dp.create({ kind: 'l2hub' }), { instanceOf: ConfigError });
  await dp.close();
  await assertNoLeak(t, before);
});
