/** Engines on two port workers, joined through a switch by a lock-free ring. */
import { Dataplane } from 'pktkit/dataplane';

const dp = new Dataplane({ workers: 2, modules: [new URL('./dataplane-engines.js', import.meta.url)] });
dp.on('error', (e) => console.error(`worker ${e.worker} died`, e.error));
await dp.ready();
const hub = await dp.create({ kind: 'l2hub' }, { worker: 0 });
const a = await dp.create({ kind: 'counter', options: { mac: '02:00:00:00:00:01' } }, { worker: 0 });
const b = await dp.create({ kind: 'counter', options: { mac: '02:00:00:00:00:02' } }, { worker: 1 });
const la = await dp.link(a, hub); // same worker: a direct link, no copy
const lb = await dp.link(b, hub); // across workers: one SPSC ring per direction
console.log(`links: ${la.mode}, ${lb.mode}`);

await dp.command(a, 'send', 1000); // 1000 broadcasts: through the hub, across the ring, to b
let received = 0;
for (let i = 0; i < 200 && received < 1000; i++) {
  await new Promise((r) => setTimeout(r, 10));
  const s = await dp.stats();
  received = (s.workers[1]!.engines.find((e) => e.id === b.id)!.stats as { received: number }).received;
}
const ring = (await dp.stats()).links.find((l) => l.id === lb.id)!;
console.log(`b received ${received} frames; the ring carried ${ring.bToA?.consumed} of them to worker 1`);
await dp.close(); // ends both workers, leaves nothing running
