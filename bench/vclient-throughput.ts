/**
 * vclient end to end, one thread, real time: bulk TCP between two Clients joined back to back
 * (each one's output is the other's `send`), and the flow set-up rate (dial, accept, one byte
 * back, close). Run: `node build/bench/vclient-throughput.js [--mb 256] [--flows 2000]`.
 *
 * What it measures: the whole path a virtual host's bytes take (Conn stream, Tcb, stack output
 * queue, Client demultiplexing, and back), twice per byte (both Clients run in this thread).
 * Against slirp, or the kernel through a TUN, only one side is ours: see bench/vtcp-throughput.ts.
 */

import { parseArgs } from 'node:util';
import { connectL3 } from '../src/core/connect.js';
import { Client } from '../src/vclient/client.js';
import type { Conn } from '../src/vtcp/conn.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '256' }, flows: { type: 'string', default: '2000' } } });
const totalBytes = Number(values.mb) * 1024 * 1024;
const flows = Number(values.flows);

function pair(): { a: Client; b: Client } {
  const a = new Client({ addr: '10.0.0.1/24' });
  const b = new Client({ addr: '10.0.0.2/24' });
  connectL3(a, b);
  return { a, b };
}

async function bulk(): Promise<void> {
  const { a, b } = pair();
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  b.listen(5001).on('connection', (c: Conn) => {
    c.on('error', () => {}); // a.close() resets it at the end
    c.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= totalBytes) done();
    });
  });
  const conn = await a.dial('tcp', '10.0.0.2:5001');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let sent = 0;
  const start = performance.now();
  const pumpWrites = (): void => {
    while (sent < totalBytes) {
      sent += chunk.length;
      if (!conn.write(chunk)) return;
    }
  };
  conn.on('drain', pumpWrites);
  pumpWrites();
  await finished;
  const s = (performance.now() - start) / 1000;
  console.log(`bulk: ${(totalBytes / 1048576).toFixed(0)} MiB in ${s.toFixed(2)} s = ${((totalBytes * 8) / s / 1e9).toFixed(2)} Gbit/s (both stacks in one thread)`);
  a.close();
  b.close();
}

async function setup(): Promise<void> {
  const { a, b } = pair();
  b.listen(80, { backlog: 4096, acceptQueue: 4096 }).on('connection', (c: Conn) => {
    c.on('error', () => {});
    c.end('k');
  });
  const start = performance.now();
  const batch = 200;
  for (let i = 0; i < flows; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, flows - i) }, async () => {
        const c = await a.dial('tcp', '10.0.0.2:80');
        c.resume();
        await new Promise((r) => c.once('end', r));
        c.destroy();
      }),
    );
  }
  const s = (performance.now() - start) / 1000;
  console.log(`flow set-up: ${flows} flows (dial, accept, 1 byte, close) in ${s.toFixed(2)} s = ${(flows / s).toFixed(0)} flows/s`);
  a.close();
  b.close();
}

await bulk();
await setup();
