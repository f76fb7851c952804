import test from 'ava';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcapng } from '../helpers/pcap-reader.js';
import { startDataplane } from '../helpers/dp.js';

const GEN_MAC = 0x0200_0000_0011;
const SINK_MAC = 0x0200_0000_0012;

test.serial('a hub engine records its ports into a pcapng file written by its worker, complete at close', async (t) => {
  const path = join(tmpdir(), `pktkit-dp-capture-${process.pid}.pcapng`);
  t.teardown(() => rm(path, { force: true }));
  const dp = startDataplane(t, { workers: 2 });
  await dp.ready();
  const hub = await dp.create({ kind: 'l2hub', options: { capture: { path } } }, { worker: 1 });
  const gen = await dp.create({ kind: 'gen', options: { mac: GEN_MAC } }, { worker: 0 });
  const sink = await dp.create({ kind: 'sink', options: { mac: SINK_MAC } }, { worker: 1 });
  const up = await dp.link(gen, hub, { policy: 'wait', maxWaitMs: 1000 });
  const down = await dp.link(hub, sink);
  t.is(await dp.command(sink, 'hello'), SINK_MAC);
  const N = 300;
  await dp.command(gen, 'send', { count: N, burst: 32, size: 100, dst: SINK_MAC });
  t.is(await dp.command(sink, 'wait', { count: N, timeoutMs: 10_000 }), N);
  const s = await dp.stats();
  const hubStats = s.workers[1]!.engines.find((e) => e.id === hub.id)!.stats as { capture: { packets: number } };
  t.true(hubStats.capture.packets >= 2 * N, 'each frame recorded as it enters and as it leaves the hub');
  await dp.close(); // closes the engine, which flushes and closes the file

  const file = readPcapng(await readFile(path));
  t.deepEqual(file.interfaces.map((i) => i.name).sort(), [`${hub.id}:${down.id}`, `${hub.id}:${up.id}`].sort());
  // The sink's hello (in on its port, out on the generator's), then N frames in and out.
  t.is(file.packets.length, 2 + 2 * N);
  t.is(file.packets.filter((p) => p.data.length === 100).length, 2 * N, 'every generated frame, byte-complete, both ways');
  t.is(new Set(file.packets.map((p) => p.interfaceId)).size, 2);
});
