import test from 'ava';
import { Worker } from 'node:worker_threads';
import { assertNoLeak, snapshot, startDataplane } from '../helpers/dp.js';

const GEN_MAC = 0x0200_0000_0031;
const SINK_MAC = 0x0200_0000_0032;
const EXT_MAC = 0x0200_0000_0033;

interface SinkStats {
  received: number;
  outOfOrder: number;
}

// A thread outside the dataplane (as a TUN or AF_XDP reader will be) plugs into an engine as a
// ring producer and consumer.
test.serial('an external port joins a thread outside the dataplane to an engine, both ways', async (t) => {
  const before = await snapshot();
  const dp = startDataplane(t, { workers: 2 });
  await dp.ready();
  const hub = await dp.create({ kind: 'l2hub' }, { worker: 1 });
  const gen = await dp.create({ kind: 'gen', options: { mac: GEN_MAC } }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink', options: { mac: SINK_MAC } }, { worker: 1 });
  await dp.link(gen, hub, { policy: 'wait', maxWaitMs: 1000 });
  await dp.link(hub, sink);
  const { link, end } = await dp.attachPort(hub, { policy: 'wait', maxWaitMs: 1000 });
  t.is(link.mode, 'external');
  t.is(link.b.kind, 'external');
  t.is(link.b.worker, -1);
  t.is(end.layer, 2);

  const N = 5000;
  const ext = new Worker(new URL('./external-port-worker.js', import.meta.url), {
    workerData: { end, mac: EXT_MAC, dst: SINK_MAC, count: N, expect: N },
  });
  t.teardown(() => ext.terminate());
  const reported = new Promise<{ sent: number; received: number; outOfOrder: number; parks: number }>((resolve, reject) => {
    ext.once('message', resolve);
    ext.once('error', reject);
  });
  // The external side's frames reach the sink through the hub (with its hello, a stream of its own)...
  t.is(await dp.command(sink, 'wait', { count: N + 1, timeoutMs: 10_000 }), N + 1);
  // ...and, once the hub has learned the external MAC (its hello), the generator's reach it.
  await dp.command(gen, 'send', { count: N, burst: 64, size: 64, dst: EXT_MAC, stream: 3 });
  const r = await reported;
  t.like(r, { sent: N, received: N, outOfOrder: 0 });
  await new Promise((resolve) => ext.once('exit', resolve));

  const s = await dp.stats();
  t.like(s.workers[1]!.engines.find((e) => e.id === sink.id)!.stats as SinkStats, { received: N + 1, outOfOrder: 0 });
  const l = s.links.find((x) => x.id === link.id)!;
  t.like(l, { mode: 'external', up: true, a: hub.id, b: link.b.id });
  t.is(l.bToA!.consumed, N + 1, 'into the engine: the hello and N frames');
  t.true(l.aToB!.consumed >= N, 'out of the engine: at least the N frames (and the flood of the sink hello)');
  t.is(l.aToB!.dropped + l.bToA!.dropped, 0);

  await dp.unlink(link);
  t.false((await dp.stats()).links.some((x) => x.id === link.id));
  await dp.close();
  await assertNoLeak(t, before);
});

test.serial('an external port goes down with the worker of its engine: the far end sees its rings closed', async (t) => {
  const dp = startDataplane(t, { workers: 2 });
  dp.on('error', () => {});
  await dp.ready();
  const crash = await dp.create({ kind: 'crash' }, { worker: 1 });
  const { link, end } = await dp.attachPort(crash);
  await dp.command(crash, 'exit').catch(() => {});
  for (let i = 0; i < 200 && (await dp.stats()).links.find((x) => x.id === link.id)!.up; i++) await new Promise((r) => setTimeout(r, 10));
  const l = (await dp.stats()).links.find((x) => x.id === link.id)!;
  t.false(l.up);
  t.true(l.aToB!.closed && l.bToA!.closed);
  const { openExternalPort } = await import('../../src/dataplane/external-port.js');
  const port = openExternalPort(end);
  t.false(port.producer.send(new Uint8Array(60)), 'a send into a closed port is dropped');
  t.true(port.consumer.closed);
});

test.serial('attachPort checks its options and the engine', async (t) => {
  const dp = startDataplane(t, { workers: 1 });
  await dp.ready();
  const hub = await dp.create({ kind: 'l2hub' });
  await t.throwsAsync(dp.attachPort(hub, { slots: 3 }), { code: 'ERR_PKT_OUT_OF_RANGE' });
  await t.throwsAsync(dp.attachPort(hub, { addr: '10.0.0.1/24' }), { code: 'ERR_PKT_CONFIG', message: /layer-3/ });
  await t.throwsAsync(dp.attachPort('no-such-engine'), { code: 'ERR_PKT_INVALID_ARG' });
});
