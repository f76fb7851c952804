import test from 'ava';
import { ChunkWriter, type CaptureSink } from '../../src/capture/chunk-writer.js';
import { PktError } from '../../src/errors.js';
import { toHex } from '../helpers/bytes.js';
import { MemorySink, SlowSink } from '../helpers/capture-doubles.js';

/** Reserves, fills with `byte` and commits a record; returns whether it was accepted. */
function put(w: ChunkWriter, len: number, byte: number): boolean {
  const off = w.reserve(len);
  if (off < 0) return false;
  w.chunk.fill(byte, off, off + len);
  w.commit(len);
  return true;
}

test('records fill a chunk, then move on to the next; bytes reach the sink in order', async (t) => {
  const sink = new MemorySink();
  const w = new ChunkWriter(sink, 8, 1000, 'mem');
  t.true(put(w, 4, 1));
  t.true(put(w, 4, 2)); // exactly full
  t.is(sink.writes, 0, 'nothing handed over until a record does not fit');
  t.true(put(w, 3, 3)); // rotates: the first chunk goes to the writer
  t.is(w.bufferedBytes, 11);
  await w.close();
  t.is(toHex(sink.bytes()), '01010101' + '02020202' + '030303');
  t.is(w.writtenBytes, 11);
  t.is(w.bufferedBytes, 0);
});

test('a record larger than a chunk is refused, not split', (t) => {
  const w = new ChunkWriter(new MemorySink(), 8, 1000, 'mem');
  t.is(w.reserve(9), -1);
  t.true(put(w, 8, 1));
});

test('the bound counts queued and in-flight bytes; metadata passes it', async (t) => {
  const sink = new SlowSink();
  const w = new ChunkWriter(sink, 8, 16, 'slow');
  t.true(put(w, 8, 1));
  t.true(put(w, 8, 2)); // first chunk in flight
  t.false(put(w, 1, 3), 'bound reached');
  w.appendMeta(Uint8Array.of(9, 9, 9, 9));
  t.is(w.bufferedBytes, 20, 'metadata is never dropped');
  sink.autoRelease();
  await w.close();
  t.is(toHex(sink.bytes()), '0101010101010101' + '0202020202020202' + '09090909');
});

test('flushIfIdle hands a partial chunk to an idle writer only', async (t) => {
  const sink = new SlowSink();
  const w = new ChunkWriter(sink, 8, 1000, 'slow');
  w.flushIfIdle();
  t.is(sink.pendingWrites, 0, 'nothing to flush');
  put(w, 3, 1);
  w.flushIfIdle();
  t.is(sink.pendingWrites, 1);
  put(w, 3, 2);
  w.flushIfIdle();
  t.is(sink.pendingWrites, 1, 'the writer is busy: leave the chunk filling');
  sink.autoRelease();
  await w.flush();
  t.is(toHex(sink.bytes()), '010101' + '020202');
  await w.close();
});

test('a sink that throws synchronously fails the writer without hanging close', async (t) => {
  let closed = false;
  const sink: CaptureSink = {
    write() {
      throw new Error('EBADF');
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
  const w = new ChunkWriter(sink, 8, 1000, 'bad');
  put(w, 8, 1);
  put(w, 8, 2); // the writer starts and fails at once
  t.is(w.reserve(1), -1, 'a failed writer refuses records');
  const err = await t.throwsAsync(w.close(), { instanceOf: PktError });
  t.is(err?.code, 'ERR_PKT_IO');
  t.regex(err!.message, /writing bad failed: EBADF/);
  t.true(closed);
  await t.throwsAsync(w.close(), { is: err }, 'close twice: the same outcome');
});

test('a sink that writes short is called again for the rest', async (t) => {
  const got: number[] = [];
  const sink: CaptureSink = {
    write(buf, off, len) {
      const n = Math.min(len, 3);
      for (let i = 0; i < n; i++) got.push(buf[off + i]!);
      return Promise.resolve(n);
    },
    close: () => Promise.resolve(),
  };
  const w = new ChunkWriter(sink, 16, 1000, 'short');
  for (let i = 0; i < 10; i++) put(w, 1, i);
  await w.close();
  t.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('chunks are reused and their number stays bounded', async (t) => {
  const sink = new MemorySink(); // writes complete on the next microtask
  const w = new ChunkWriter(sink, 8, 32, 'mem'); // at most 5 chunks alive (+1 for a forced flush)
  const seen = new Set<Uint8Array>();
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 4; i++) {
      t.true(put(w, 8, round));
      seen.add(w.chunk);
    }
    await w.flush();
  }
  t.true(seen.size <= 6, `${seen.size} distinct chunks`);
  await w.close();
  t.is(sink.bytes().length, 50 * 32);
});
