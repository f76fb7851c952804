import test from 'ava';
import { newFrame } from '../../src/core/frame.js';
import { EtherType } from '../../src/wire/ethernet.js';
import { startDataplane } from '../helpers/dp.js';
import { fromHex } from '../helpers/bytes.js';
import { KERNEL_IPV4_UDP } from '../vectors/kernel-tun.js';

test.serial('pipe engines let the control thread inject frames and take what arrived, across a ring', async (t) => {
  const dp = startDataplane(t, { workers: 2 });
  await dp.ready();
  const a = await dp.create({ kind: 'pipe' }, { worker: 0 });
  const hub = await dp.create({ kind: 'l2hub' }, { worker: 1 });
  const b = await dp.create({ kind: 'pipe', options: { keep: 2 } }, { worker: 1 });
  await dp.link(a, hub);
  await dp.link(hub, b);
  const frames = [1, 2, 3].map((i) => newFrame('ff:ff:ff:ff:ff:ff', `02:00:00:00:00:0${i}`, EtherType.IPv4, new Uint8Array([i])));
  t.is(await dp.command(a, 'inject', frames), 3);
  let count = { received: 0, bytes: 0 };
  for (let i = 0; i < 200 && count.received < 3; i++) {
    await new Promise((r) => setTimeout(r, 5));
    count = (await dp.command(b, 'count')) as typeof count;
  }
  t.deepEqual(count, { received: 3, bytes: frames.reduce((n, f) => n + f.length, 0) });
  const taken = (await dp.command(b, 'take')) as Uint8Array[];
  t.deepEqual(taken.map((f) => f[14]), [2, 3], 'keep: 2 holds the last two');
  t.deepEqual(await dp.command(b, 'take'), [], 'take removes them');
  await t.throwsAsync(dp.command(a, 'inject', 'nope'), { code: 'ERR_PKT_INVALID_ARG' });
  await t.throwsAsync(dp.create({ kind: 'pipe', options: { keep: 5000 } }), { code: 'ERR_PKT_INVALID_ARG' });
});

test.serial('pipe-l3 engines inject and take IP packets through an L3Hub', async (t) => {
  const dp = startDataplane(t, { workers: 2 });
  await dp.ready();
  const src = await dp.create({ kind: 'pipe-l3' }, { worker: 0 });
  const router = await dp.create({ kind: 'l3hub' }, { worker: 1 });
  const dst = await dp.create({ kind: 'pipe-l3' }, { worker: 1 });
  await dp.link(src, router, { addr: { b: '10.99.0.1/32' } });
  await dp.link(dst, router, { addr: { b: '10.99.0.2/32' } });
  await dp.command(src, 'inject', fromHex(KERNEL_IPV4_UDP)); // 10.99.0.1 -> 10.99.0.2
  let got: Uint8Array[] = [];
  for (let i = 0; i < 200 && got.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 5));
    got = (await dp.command(dst, 'take')) as Uint8Array[];
  }
  t.is(got.length, 1);
  t.is(Buffer.from(got[0]!).toString('hex'), KERNEL_IPV4_UDP);
});
