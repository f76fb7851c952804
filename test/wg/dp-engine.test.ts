import test from 'ava';
import { genkey, pubkey } from '../../src/wg/crypto.js';
import { WG_ENGINE_MODULE } from '../../src/dataplane/wg-engine.js';
import { hasNative } from '../../src/native/index.js';
import { assertNoLeak, snapshot, startDataplane } from '../helpers/dp.js';

interface HostStats {
  received: number;
  bySrc: Record<string, number>;
}
interface WgEngineStats {
  handshakes: { completed: number };
  wg: { peers: { latestHandshake: number; rxBytes: number; txBytes: number; endpoint: string | null }[]; drops: Record<string, number> };
  udp: string;
  batches: number;
}

const kA = genkey();
const kB = genkey();

const tunnel = test.macro({
  async exec(t, udp: 'batched' | 'dgram', aead: 'native' | 'node') {
    if ((udp === 'batched' && !hasNative('udp')) || (aead === 'native' && !hasNative('aead'))) {
      // The addon is built in this project's CI and here; without it these rows cannot run.
      t.fail('the native addon (udp, aead) is not built');
      return;
    }
    const before = await snapshot();
    const dp = startDataplane(t, { workers: 2, modules: [WG_ENGINE_MODULE] });
    //   hostA(w1) -- l3hub(w1) ==ring== wgA(w0) ~~UDP loopback~~ wgB(w1) --direct-- hostB(w1)
    // A answers handshakes from a piscina pool of its own (its port worker's), B inline.
    const wgA = await dp.create({ kind: 'wg', options: { privateKey: kA, listen: '127.0.0.1:0', udp, aead, handshakeThreads: 1, handshakeOffload: 'always' } }, { worker: 0 });
    const portA = (await dp.command(wgA, 'port')) as number;
    const wgB = await dp.create(
      { kind: 'wg', options: { privateKey: kB, listen: '127.0.0.1:0', udp, aead, peers: [{ publicKey: pubkey(kA), endpoint: `127.0.0.1:${portA}`, allowedIps: ['10.0.1.0/24'] }] } },
      { worker: 1 },
    );
    const portB = (await dp.command(wgB, 'port')) as number;
    t.not(portA, portB);
    await dp.command(wgA, 'addPeer', { publicKey: pubkey(kB), endpoint: `127.0.0.1:${portB}`, allowedIps: ['10.0.2.0/24'] });
    const hub = await dp.create({ kind: 'l3hub' }, { worker: 1 });
    const hostA = await dp.create({ kind: 'host', options: { addr: '10.0.1.1' } }, { worker: 1 });
    const hostB = await dp.create({ kind: 'host', options: { addr: '10.0.2.1' } }, { worker: 1 });
    const toTunnel = await dp.link(wgA, hub, { addr: { b: '10.0.2.1/24' } }); // the hub routes 10.0.2/24 into the tunnel
    t.is(toTunnel.mode, 'ring');
    await dp.link(hub, hostA, { addr: { a: '10.0.1.1/32' } });
    await dp.link(wgB, hostB);

    // B initiates (its first packets staged meanwhile, bound 128) and A answers from its pool.
    await dp.command(hostB, 'send', { dst: '10.0.1.1', count: 50 });
    t.is(await dp.command(hostA, 'wait', { count: 50, timeoutMs: 10_000 }), 50);
    await dp.command(hostA, 'send', { dst: '10.0.2.1', count: 100 });
    t.is(await dp.command(hostB, 'wait', { count: 100, timeoutMs: 10_000 }), 100);
    await dp.command(hostB, 'send', { dst: '10.0.1.1', count: 1000 });
    t.is(await dp.command(hostA, 'wait', { count: 1050, timeoutMs: 10_000 }), 1050);

    const s = await dp.stats();
    const byId = new Map(s.workers.flatMap((w) => w.engines).map((e) => [e.id, e.stats]));
    t.like(byId.get(hostB.id) as HostStats, { received: 100, bySrc: { '10.0.1.1': 100 } });
    t.like(byId.get(hostA.id) as HostStats, { received: 1050, bySrc: { '10.0.2.1': 1050 } });
    t.is((byId.get(wgA.id) as WgEngineStats).handshakes.completed, 1, 'the handshake was answered by the pool in the port worker');
    for (const id of [wgA.id, wgB.id]) {
      const w = byId.get(id) as WgEngineStats;
      t.is(w.udp, udp);
      t.is(w.wg.peers.length, 1);
      t.true(w.wg.peers[0]!.latestHandshake > 0, 'wg show: a handshake');
      t.true(w.wg.peers[0]!.rxBytes > 100 * 32 && w.wg.peers[0]!.txBytes > 100 * 32);
      t.deepEqual(w.wg.drops, {}, 'nothing dropped');
      if (udp === 'batched') t.true(w.batches > 0);
    }
    await dp.close();
    await assertNoLeak(t, before);
  },
  title: (_ = '', udp, aead) => `wg engine: two engines on two workers talk over loopback UDP (${udp} UDP, ${aead} AEAD), linked to an L3Hub and a host; close leaves no handle`,
});

test.serial(tunnel, 'batched', 'native');
test.serial(tunnel, 'dgram', 'node');

test.serial('wg engine: bad options are refused on create with a typed error', async (t) => {
  const dp = startDataplane(t, { workers: 1, modules: [WG_ENGINE_MODULE] });
  await t.throwsAsync(dp.create({ kind: 'wg', options: { listen: '127.0.0.1:0' } }), { message: /privateKey/ });
  await t.throwsAsync(dp.create({ kind: 'wg', options: { privateKey: kA, nope: 1 } }), { message: /unknown option 'nope'/ });
  await t.throwsAsync(dp.create({ kind: 'wg', options: { privateKey: kA, listen: 'nowhere' } }), { message: /expected listen/ });
  await t.throwsAsync(dp.create({ kind: 'wg', options: { privateKey: kA, udp: 'tcp' } }), { message: /option udp must be/ });
  const wg = await dp.create({ kind: 'wg', options: { privateKey: kA, listen: '127.0.0.1:0' } });
  await t.throwsAsync(dp.command(wg, 'nope'), { message: /unknown command 'nope'/ });
  const h1 = await dp.create({ kind: 'host', options: { addr: '10.0.1.1' } });
  const h2 = await dp.create({ kind: 'host', options: { addr: '10.0.1.2' } });
  await dp.link(wg, h1);
  await t.throwsAsync(dp.link(wg, h2), { message: /one inner link at a time/ });
  await dp.close();
});
