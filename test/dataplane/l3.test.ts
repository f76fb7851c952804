import test from 'ava';
import type { L3HubStats } from '../../src/core/l3-hub.js';
import { assertNoLeak, snapshot, startDataplane } from '../helpers/dp.js';

interface HostStats {
  received: number;
  bySrc: Record<string, number>;
  byDst: Record<string, number>;
}

test.serial('an L3Hub on one worker routes by prefix between hosts on another, across rings', async (t) => {
  const before = await snapshot();
  const dp = startDataplane(t, { workers: 2 });
  const hub = await dp.create({ kind: 'l3hub', options: { maxRoutes: 64 } }, { worker: 0 });
  const h1 = await dp.create({ kind: 'host', options: { addr: '10.0.1.2' } }, { worker: 1 });
  const h2 = await dp.create({ kind: 'host', options: { addr: '10.0.2.2' } }, { worker: 1 });
  const h3 = await dp.create({ kind: 'host', options: { addr: '192.168.9.9' } }, { worker: 1 });
  t.is(h1.layer, 3);
  // The hub's side of each link carries the address of the host behind it.
  const l1 = await dp.link(hub, h1, { addr: { a: '10.0.1.2/24' } });
  const l2 = await dp.link(hub, h2, { addr: { a: '10.0.2.2/24' } });
  const l3 = await dp.link(hub, h3);
  t.is(l1.mode, 'ring');

  t.is(await dp.command(hub, 'lookup', '10.0.2.77'), l2.id, 'the /24 prefix');
  t.is(await dp.command(hub, 'lookup', '10.0.1.2'), l1.id, 'the host route');
  t.is(await dp.command(hub, 'lookup', '10.7.0.1'), null);

  await dp.command(h1, 'send', { dst: '10.0.2.2', count: 10 }); // host route
  await dp.command(h1, 'send', { dst: '10.0.2.77', count: 5 }); // the prefix
  await dp.command(h1, 'send', { dst: '10.7.0.1', count: 3 }); // no route: dropped at the hub
  await dp.command(h2, 'send', { dst: '10.0.1.2', count: 4 });
  t.is(await dp.command(h2, 'wait', { count: 15 }), 15);
  t.is(await dp.command(h1, 'wait', { count: 4 }), 4);

  // A route added by command: 172.16/12 goes to h3 (whose link has no address).
  await dp.command(hub, 'addRoute', { link: l3.id, prefix: '172.16.0.0/12' });
  await dp.command(h1, 'send', { dst: '172.20.1.1', count: 2 });
  t.is(await dp.command(h3, 'wait', { count: 2 }), 2);

  const s = await dp.stats();
  const byId = new Map(s.workers.flatMap((w) => w.engines).map((e) => [e.id, e.stats]));
  t.like(byId.get(h2.id) as HostStats, { received: 15, bySrc: { '10.0.1.2': 15 }, byDst: { '10.0.2.2': 10, '10.0.2.77': 5 } });
  t.like(byId.get(h1.id) as HostStats, { received: 4, bySrc: { '10.0.2.2': 4 } });
  t.like(byId.get(h3.id) as HostStats, { received: 2, byDst: { '172.20.1.1': 2 } });
  const hubStats = byId.get(hub.id) as L3HubStats;
  const p1 = hubStats.ports.find((p) => p.addr === '10.0.1.2/24')!;
  t.like(p1, { rxFrames: 20, txFrames: 4, dropped: 3, drops: { 'no-route': 3 } });
  const link1 = s.links.find((l) => l.id === l1.id)!;
  t.like(link1.bToA, { pushed: 20, consumed: 20 });
  t.like(link1.aToB, { pushed: 4, consumed: 4 });
  await dp.close();
  await assertNoLeak(t, before);
});

test.serial('L3 engines on one worker are linked directly', async (t) => {
  const dp = startDataplane(t, { workers: 1 });
  const hub = await dp.create({ kind: 'l3hub' });
  const a = await dp.create({ kind: 'host', options: { addr: '10.1.0.1' } });
  const b = await dp.create({ kind: 'host', options: { addr: '10.2.0.1' } });
  const la = await dp.link(a, hub, { addr: { b: '10.1.0.1/16' } });
  await dp.link(hub, b, { addr: { a: '10.2.0.1/16' } });
  t.is(la.mode, 'direct');
  await dp.command(a, 'send', { dst: '10.2.3.4', count: 7 });
  t.is(await dp.command(b, 'wait', { count: 7 }), 7);
  const s = await dp.stats();
  t.like(s.links.find((l) => l.id === la.id)!.ends.a, { txFrames: 7 });
});
