/**
 * Allocation check of the capture packet path, in a file of its own: ava runs each file in its
 * own process, so here the tap sees one clock class and one sink, as in a real capture, and its
 * optimised code inlines the clock (a clock call that is not inlined returns its double as a new
 * heap number: that would be the clock's allocation, not the capture's).
 */
import test from 'ava';
import { CaptureFile, LINKTYPE_ETHERNET } from '../../src/capture/index.js';
import { TapDirection } from '../../src/core/device.js';
import { MemorySink, StepClock } from '../helpers/capture-doubles.js';

/** Epoch milliseconds with a fractional tail: the timestamps are doubles, not small integers. */
const T0_MS = 1_700_000_000_123.4567;

test('the packet path allocates nothing in steady state', async (t) => {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const sink = new MemorySink();
  sink.write = (_b, _o, len) => Promise.resolve(len); // keep nothing
  const cap = CaptureFile.toSink(sink, {
    snaplen: 64,
    maxBufferedBytes: 8 * 1024 * 1024,
    clock: new StepClock(T0_MS, 0.001),
    flushIntervalMs: 0,
  });
  const tap = cap.addInterface('eth', LINKTYPE_ETHERNET);
  const frame = new Uint8Array(60);
  const truncated = new Uint8Array(200);
  const perRound = 25_000;
  // Synchronous, as on a packet path: the writer only runs between rounds.
  const round = (n: number): void => {
    for (let i = 0; i < n; i++) {
      tap.tap(frame, TapDirection.In);
      tap.tap(truncated, TapDirection.Out);
    }
  };
  for (let i = 0; i < 10; i++) {
    round(perRound); // warm up: JIT, chunk pool
    await cap.flush();
  }
  // Young-generation bytes in use, right after a full GC and with no GC during the round, is the
  // number of bytes the round allocated (give or take allocation-buffer bookkeeping, which an
  // empty round measured the same way shows).
  const newSpace = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
  const measure = (n: number): number => {
    gc();
    const before = newSpace();
    round(n);
    return newSpace() - before;
  };
  const empty = measure(0);
  await cap.flush();
  const full = measure(perRound);
  await cap.flush();
  // 50k packets: one 16-byte heap number each would be 800 KB. What may remain is per chunk
  // (about 80 chunks of 64 KiB handed to the writer), not per packet.
  t.log(`${2 * perRound} packets: ${full - empty} bytes allocated`);
  t.true(full - empty < 64 * 1024, `${2 * perRound} packets allocated ${full - empty} bytes`);
  t.is(tap.drops, 0);
  await cap.close();
});
