import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import { TaskPool } from '../../src/dataplane/task-pool.js';
import { MemoryLink } from '../../src/wg/bind.js';
import { CookieGenerator } from '../../src/wg/cookie.js';
import { keyPairFromPrivate, keyToBase64 } from '../../src/wg/crypto.js';
import { WgDevice } from '../../src/wg/device.js';
import { consumeInitiationJob, createResponseJob, type ConsumedInitiation, type CreatedResponse } from '../../src/wg/handshake-jobs.js';
import { inlineJobRunner, type HandshakeJobRunner } from '../../src/wg/handshake-offload.js';
import { consumeInitiation, createInitiation, createResponse, HandshakeState } from '../../src/wg/noise.js';
import { WgDrop } from '../../src/wg/stats.js';
import { fromHex, toHex } from '../../src/wire/bytes.js';
import * as V from '../vectors/wg-noise.js';
import { WALL0, ping } from './device-helpers.js';
import { seededRandom, vectorPair } from './helpers.js';

const TS = fromHex(V.inputs.timestamp);

test('handshake jobs reproduce the inline responder exactly (notes §7.2 vectors, with and without PSK)', (t) => {
  for (const psk of [null, fromHex(V.inputs.psk)]) {
    const p = vectorPair(psk);
    const init = new Uint8Array(148);
    t.true(createInitiation(p.ini, p.iHs, p.ei, V.inputs.initiatorIndex, TS, init, 0));
    new CookieGenerator(p.iHs.remoteMac1Key, p.iHs.remoteCookieKey).addMacs(init, 0, 148, 0);
    const job = consumeInitiationJob({ privateKey: fromHex(V.inputs.sr), msg: init }) as ConsumedInitiation;
    t.is(job.drop, 0);
    t.is(consumeInitiation(p.res, init, 0, 148, 1000, () => p.rHs), p.rHs);
    t.is(toHex(job.remoteStatic), toHex(p.ini.publicKey));
    t.is(toHex(job.chainKey), toHex(p.rHs.chainKey));
    t.is(toHex(job.hash), toHex(p.rHs.hash));
    t.is(toHex(job.timestamp), V.inputs.timestamp);
    t.is(job.sender, V.inputs.initiatorIndex);
    const resp = createResponseJob({
      privateKey: fromHex(V.inputs.sr),
      chainKey: job.chainKey,
      hash: job.hash,
      remoteEphemeral: job.remoteEphemeral,
      remoteStatic: job.remoteStatic,
      psk: p.rHs.psk,
      remoteIndex: job.sender,
      ephemeralPrivate: fromHex(V.inputs.er),
    }) as CreatedResponse;
    const inline = new Uint8Array(92);
    t.true(createResponse(p.res, p.rHs, p.er, V.inputs.responderIndex, inline, 0));
    // The job leaves the sender index to the device (it is not in the Noise hash).
    resp.msg.set(inline.subarray(4, 8), 4);
    t.is(toHex(resp.msg), toHex(inline));
    t.is(toHex(resp.chainKey), toHex(p.rHs.chainKey));
    t.is(toHex(resp.hash), toHex(p.rHs.hash));
    if (psk !== null) t.is(toHex(resp.msg.subarray(0, 60)), V.withPsk.response.slice(0, 120));
  }
  // Bad input: numeric drops, no throw.
  t.deepEqual(consumeInitiationJob({ privateKey: fromHex(V.inputs.sr), msg: new Uint8Array(10) }), { drop: WgDrop.BadLength });
  const forged = new Uint8Array(148);
  forged[0] = 1;
  forged.set(keyPairFromPrivate(new Uint8Array(32).fill(7)).publicKey, 8);
  t.deepEqual(consumeInitiationJob({ privateKey: fromHex(V.inputs.sr), msg: forged }), { drop: WgDrop.AuthFailed });
});

/** A runner that holds every job until the test releases it (to interleave results with events). */
class HeldRunner implements HandshakeJobRunner {
  readonly jobs: { name: string; payload: unknown; resolve: (v: unknown) => void }[] = [];
  run(name: 'wg-consume-initiation' | 'wg-create-response', payload: unknown): Promise<unknown> {
    return new Promise((resolve) => this.jobs.push({ name, payload, resolve }));
  }
  /** Runs held job `i` (its kind checked) and lets its result reach the device. */
  async release(i: number, name: string): Promise<void> {
    const j = this.jobs.splice(i, 1)[0]!;
    if (j.name !== name) throw new Error(`job ${i} is ${j.name}, not ${name}`);
    j.resolve(j.name === 'wg-consume-initiation' ? consumeInitiationJob(j.payload as never) : createResponseJob(j.payload as never));
    for (let k = 0; k < 4; k++) await Promise.resolve();
  }
}

const skR = new Uint8Array(32).fill(0x71);
const pubR = keyToBase64(keyPairFromPrivate(skR).publicKey);
const R_ADDR = '192.0.2.1:51820';

function pair(runner: HandshakeJobRunner) {
  const clock = new ManualClock(0);
  const link = new MemoryLink(() => clock.now());
  const skI = new Uint8Array(32).fill(0x72);
  const pubI = keyToBase64(keyPairFromPrivate(skI).publicKey);
  const r = new WgDevice({
    privateKey: skR,
    bind: link.bind(R_ADDR),
    clock,
    wallClock: () => WALL0 + clock.now(),
    random: seededRandom(3),
    handshakeOffload: { runner, mode: 'always' },
    peers: [{ publicKey: pubI, allowedIps: ['10.0.0.2/32'] }],
  });
  const i = new WgDevice({
    privateKey: skI,
    bind: link.bind('192.0.2.2:40000'),
    clock,
    wallClock: () => WALL0 + clock.now(),
    random: seededRandom(4),
    peers: [{ publicKey: pubR, endpoint: R_ADDR, allowedIps: ['10.0.0.0/24'] }],
  });
  const rInbox: Uint8Array[] = [];
  r.setHandler((p) => rInbox.push(p.slice()));
  return { clock, link, r, i, pubI, rInbox };
}

test('offloaded handshake: both jobs run in the pool, results applied on the device thread, the session works', async (t) => {
  const runner = new HeldRunner();
  const { link, r, i, pubI, rInbox } = pair(runner);
  i.send(ping('10.0.0.2', '10.0.0.1', 1));
  link.pump();
  t.is(runner.jobs.length, 1, 'the initiation went to the pool');
  t.is(r.offloadStats.inFlight, 1);
  await runner.release(0, 'wg-consume-initiation');
  t.is(runner.jobs.length, 1, 'consumed, committed, the response job is out');
  t.is(r.peer(pubI)!.handshake.state, HandshakeState.InitiationConsumed);
  await runner.release(0, 'wg-create-response');
  link.pump();
  t.truthy(i.peer(pubR)!.current, 'the initiator has its keypair');
  t.is(rInbox.length, 1, 'the staged ping arrived over the new session');
  t.like(r.offloadStats, { inFlight: 0, completed: 1 });

});

test('offloaded handshake: an unknown key is enrolled by onUnknownPeer once the pool authenticated it', async (t) => {
  const clock = new ManualClock(0);
  const link = new MemoryLink(() => clock.now());
  const asked: string[] = [];
  const r = new WgDevice({
    privateKey: skR,
    bind: link.bind(R_ADDR),
    clock,
    random: seededRandom(6),
    handshakeOffload: { runner: inlineJobRunner, mode: 'always' },
    onUnknownPeer: (pub) => {
      asked.push(keyToBase64(pub));
      return asked.length === 1 ? { allowedIps: ['10.0.0.7/32'] } : null;
    },
  });
  const inbox: Uint8Array[] = [];
  r.setHandler((p) => inbox.push(p.slice()));
  const mk = (n: number) => {
    const sk = new Uint8Array(32).fill(n);
    return new WgDevice({ privateKey: sk, bind: link.bind(`192.0.2.${n}:4000`), clock, random: seededRandom(n), peers: [{ publicKey: pubR, endpoint: R_ADDR, allowedIps: ['10.0.0.0/24'] }] });
  };
  const yes = mk(0x30);
  const no = mk(0x31);
  yes.send(ping('10.0.0.7', '10.0.0.1', 1));
  no.send(ping('10.0.0.8', '10.0.0.1', 2));
  for (let k = 0; k < 5; k++) {
    link.pump();
    await new Promise((res) => setTimeout(res, 1));
  }
  t.is(asked.length, 2);
  t.is(r.peerCount, 1);
  t.deepEqual(r.show().peers.map((p) => p.allowedIps), [['10.0.0.7/32']]);
  t.is(inbox.length, 1, 'the enrolled peer packet arrived');
  t.is(no.peer(pubR)!.current, null);
  t.is(r.drops.of(WgDrop.UnknownPeer), 1);
});

test('offloaded handshake: removing the peer while its job is out drops the result as stale and sends nothing', async (t) => {
  const runner = new HeldRunner();
  const { link, r, i, pubI } = pair(runner);
  i.connect(pubR);
  link.pump();
  await runner.release(0, 'wg-consume-initiation');
  t.true(r.removePeer(pubI));
  const logged = link.log.length;
  await runner.release(0, 'wg-create-response');
  link.pump();
  t.is(r.drops.of(WgDrop.HandshakeStale), 1);
  t.is(link.log.length, logged, 'no response sent');
  t.is(i.peer(pubR)!.current, null);
  t.is(r.offloadStats.inFlight, 0);
});

test('offloaded handshake: a newer initiation consumed meanwhile wins; the older result is stale or a replay', async (t) => {
  const runner = new HeldRunner();
  const { clock, link, r, i, pubI } = pair(runner);
  i.connect(pubR);
  link.pump(); // init 1 -> job c1
  await runner.release(0, 'wg-consume-initiation'); // committed, r1 out
  clock.advance(5400); // the initiator retransmits: init 2, a later TAI64N
  link.pump();
  t.is(runner.jobs.length, 2);
  await runner.release(1, 'wg-consume-initiation'); // c2 committed over c1: r2 out
  await runner.release(0, 'wg-create-response'); // r1: its handshake changed
  t.is(r.drops.of(WgDrop.HandshakeStale), 1);
  await runner.release(0, 'wg-create-response'); // r2: sent
  link.pump();
  t.truthy(i.peer(pubR)!.current, 'the newer handshake completed');
  t.is(r.peer(pubI)!.stats[4], 1, 'one handshake completed on the responder (key confirmation)');

  // The other order: a result from an older initiation arriving after a newer one was committed
  // fails the TAI64N rule, as a replayed initiation would.
  clock.advance(130_000);
  i.connect(pubR);
  link.pump(); // c3
  clock.advance(5400);
  link.pump(); // c4 (retransmit)
  const n = runner.jobs.length;
  t.true(n >= 2);
  await runner.release(n - 1, 'wg-consume-initiation'); // the newest first
  const replays = r.drops.of(WgDrop.HandshakeReplay);
  await runner.release(n - 2, 'wg-consume-initiation');
  t.is(r.drops.of(WgDrop.HandshakeReplay), replays + 1);
});

test('offloaded handshake: in-flight jobs are bounded (HandshakeBusy)', async (t) => {
  const runner = new HeldRunner();
  const clock = new ManualClock(0);
  const link = new MemoryLink(() => clock.now());
  const clients = Array.from({ length: 5 }, (_, k) => {
    const sk = new Uint8Array(32).fill(0x20 + k);
    return { sk, pub: keyToBase64(keyPairFromPrivate(sk).publicKey) };
  });
  const r = new WgDevice({
    privateKey: skR,
    bind: link.bind(R_ADDR),
    clock,
    random: seededRandom(5),
    handshakeOffload: { runner, mode: 'always', maxJobs: 3 },
    peers: clients.map((c) => ({ publicKey: c.pub })),
  });
  for (const [k, c] of clients.entries()) {
    const d = new WgDevice({ privateKey: c.sk, bind: link.bind(`192.0.2.${10 + k}:4000`), clock, random: seededRandom(20 + k), peers: [{ publicKey: pubR, endpoint: R_ADDR }] });
    d.connect(pubR);
  }
  link.pump();
  t.is(runner.jobs.length, 3);
  t.is(r.drops.of(WgDrop.HandshakeBusy), 2);
  t.throws(() => new WgDevice({ privateKey: skR, bind: link.bind('192.0.2.99:1'), handshakeOffload: { runner, maxJobs: 0 } }), { message: /maxJobs/ });
});

test('offloaded handshake: a failing pool or a runner answering nonsense is counted, never an unhandled rejection', async (t) => {
  for (const runner of [{ run: () => Promise.reject(new Error('pool gone')) }, { run: () => Promise.resolve(undefined) }] as HandshakeJobRunner[]) {
    const { link, r, i } = pair(runner);
    i.connect(pubR);
    link.pump();
    await new Promise((res) => setTimeout(res, 10));
    t.is(r.drops.of(WgDrop.HandshakeBusy), 1);
    t.is(r.offloadStats.inFlight, 0);
    t.is(i.peer(pubR)!.current, null);
  }
});

// ---------------------------------------------------------------------------------------------
// The storm: N initiations under load through the real piscina pool while transport flows.

interface StormResult {
  /** From the start of the pump holding the storm to the delivery of its last data packet. */
  dataMs: number;
  delivered: number;
  inFlightAfterPump: number;
  established: number;
  completed: number;
  drops: Record<string, number>;
}

async function storm(n: number, pool: TaskPool | null): Promise<StormResult> {
  const clock = new ManualClock(0);
  const link = new MemoryLink(() => clock.now());
  const wallClock = (): number => WALL0 + clock.now();
  const keys = Array.from({ length: n + 1 }, (_, k) => {
    const sk = new Uint8Array(32);
    sk[4] = k & 255; // not in byte 0, whose low 3 bits clamping clears
    sk[5] = k >> 8;
    sk[6] = 0x99;
    return { sk, pub: keyToBase64(keyPairFromPrivate(sk).publicKey) };
  });
  const r = new WgDevice({
    privateKey: skR,
    bind: link.bind(R_ADDR),
    clock,
    wallClock,
    random: seededRandom(7),
    underLoad: () => true, // a storm: mac2 required, cookies answered, then the pool
    handshakeOffload: pool === null ? null : { runner: pool },
    peers: keys.map((k, idx) => ({ publicKey: k.pub, allowedIps: [`10.1.${idx >> 8}.${idx & 255}/32`] })),
  });
  const deliveredAt: number[] = [];
  r.setHandler(() => deliveredAt.push(performance.now()));
  const clients = keys.map(
    (k, idx) =>
      new WgDevice({
        privateKey: k.sk,
        bind: link.bind(`198.51.${100 + (idx >> 8)}.${idx & 255}:${40000 + idx}`),
        clock,
        wallClock,
        random: seededRandom(100 + idx),
        peers: [{ publicKey: pubR, endpoint: R_ADDR, allowedIps: ['10.0.0.0/8'] }],
      }),
  );
  const settle = async (done: () => boolean): Promise<void> => {
    const end = performance.now() + 30_000;
    link.pump();
    while (!done() && performance.now() < end) {
      await new Promise((res) => setTimeout(res, 2));
      link.pump();
    }
  };
  // The data client: cookie reply, retry with mac2 after REKEY_TIMEOUT, then the handshake.
  const d = clients[0]!;
  d.connect(pubR);
  link.pump();
  clock.advance(5400);
  await settle(() => d.peer(pubR)!.current !== null);
  // The storm: every other client's initiation is answered with a cookie, then retried with mac2.
  for (const c of clients.slice(1)) c.connect(pubR);
  link.pump();
  clock.advance(5400);
  // Interleave the n retried initiations with n data packets from the established client.
  const inits = link.queue.splice(0, link.queue.length);
  for (let k = 0; k < n; k++) d.send(ping('10.1.0.0', '10.0.0.1', k));
  const data = link.queue.splice(0, link.queue.length);
  for (let k = 0; k < Math.max(inits.length, data.length); k++) {
    if (k < inits.length) link.queue.push(inits[k]!);
    if (k < data.length) link.queue.push(data[k]!);
  }
  deliveredAt.length = 0;
  const t0 = performance.now();
  link.pump();
  const dataMs = deliveredAt.length === 0 ? Infinity : deliveredAt[Math.min(n, deliveredAt.length) - 1]! - t0;
  const delivered = deliveredAt.length;
  const inFlightAfterPump = r.offloadStats.inFlight;
  await settle(() => clients.every((c) => c.peer(pubR)!.current !== null));
  const result = {
    dataMs,
    delivered,
    inFlightAfterPump,
    established: clients.filter((c) => c.peer(pubR)!.current !== null).length,
    completed: r.offloadStats.completed,
    drops: r.drops.snapshot(),
  };
  r.close();
  for (const c of clients) c.close();
  return result;
}

test.serial('handshake storm: N initiations under load go to the piscina pool while transport packets flow; every handshake completes', async (t) => {
  const N = 64;
  const pool = new TaskPool(1);
  t.teardown(() => pool.close());
  const inline = await storm(N, null);
  const offloaded = await storm(N, pool);
  t.log(`data latency through a storm of ${N}: inline ${inline.dataMs.toFixed(1)} ms, offloaded ${offloaded.dataMs.toFixed(1)} ms (${offloaded.inFlightAfterPump} jobs still out)`);
  for (const res of [inline, offloaded]) {
    t.is(res.delivered >= N, true, 'every data packet delivered');
    t.is(res.established, N + 1, 'every handshake completed');
    t.is(res.drops['handshake-busy'], undefined);
    t.is(res.drops['handshake-stale'], undefined);
  }
  t.is(offloaded.completed, N + 1, 'all responses were made by the pool');
  t.true(offloaded.inFlightAfterPump > 0, 'the data went through while handshakes were still in the pool');
  // Inline, the last data packet waits for the N handshakes queued before it (~0.5 ms each).
  t.true(offloaded.dataMs * 2 < inline.dataMs, `offloaded ${offloaded.dataMs} ms vs inline ${inline.dataMs} ms`);
  t.true(offloaded.dataMs < N * 0.5, "bounded: under what the handshakes would cost inline (~0.5 ms each)");
});
