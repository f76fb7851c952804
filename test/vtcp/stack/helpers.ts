/**
 * Helpers of the TcpStack tests: two stacks joined over PipeL3s in one thread, a clock pump,
 * and byte helpers.
 *
 * Orientation: a stack sits on the handler side of its device (as on a Tun), so it receives what
 * `pipe.inject` produces and sends into `pipe.onSend`. Two stacks are joined by pointing each
 * pipe's `onSend` at the other's `inject` (connectL3 wires the handler sides of two devices, which
 * the stacks hold already).
 */
import { createHash } from 'node:crypto';
import { ManualClock } from '../../../src/core/clock.js';
import { PipeL3 } from '../../../src/core/pipe.js';
import { TcpStack, type TcpStackOptions } from '../../../src/vtcp/stack.js';
import type { Conn } from '../../../src/vtcp/conn.js';
import { prng } from '../../helpers/tcp-sim.js';

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Joins two pipes: what one's stack sends is produced by the other. */
export function joinPipes(a: PipeL3, b: PipeL3, tap?: (dir: 0 | 1, p: Uint8Array) => boolean): void {
  a.onSend = (p) => {
    if (tap === undefined || tap(0, p)) b.inject(p);
  };
  b.onSend = (p) => {
    if (tap === undefined || tap(1, p)) a.inject(p);
  };
}

export interface Pair {
  clock: ManualClock;
  pa: PipeL3;
  pb: PipeL3;
  a: TcpStack;
  b: TcpStack;
}

/** Stack a (10.0.0.1, fd00::1) and stack b (10.0.0.2, fd00::2) on joined pipes, one ManualClock. */
export function stackPair(opts: TcpStackOptions = {}, tap?: (dir: 0 | 1, p: Uint8Array) => boolean): Pair {
  const clock = new ManualClock(1000);
  const pa = new PipeL3('10.0.0.1/24');
  const pb = new PipeL3('10.0.0.2/24');
  joinPipes(pa, pb, tap);
  const a = new TcpStack(pa, { clock, random: prng(1), addrs: ['10.0.0.1', 'fd00::1'], ...opts });
  const b = new TcpStack(pb, { clock, random: prng(2), addrs: ['10.0.0.2', 'fd00::2'], ...opts });
  return { clock, pa, pb, a, b };
}

/** Alternates event-loop turns and `stepMs` of simulated time until `done()` or `maxMs` pass. */
export async function pump(clock: ManualClock, done: () => boolean, maxMs = 60_000, stepMs = 1): Promise<boolean> {
  const end = clock.now() + maxMs;
  while (!done() && clock.now() < end) {
    await tick();
    if (done()) break;
    clock.advance(stepMs);
  }
  return done();
}

/** Waits for a promise while pumping the clock. */
export async function pumpFor<T>(clock: ManualClock, p: Promise<T>, maxMs = 60_000): Promise<T> {
  let settled = false;
  let value: T | undefined;
  let error: unknown = null;
  let failed = false;
  p.then(
    (v) => {
      settled = true;
      value = v;
    },
    (e: unknown) => {
      settled = true;
      failed = true;
      error = e;
    },
  );
  await pump(clock, () => settled, maxMs);
  if (!settled) throw new Error(`still pending after ${maxMs} simulated ms`);
  if (failed) throw error;
  return value as T;
}

/** Deterministic pattern bytes. */
export function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  const r = prng(seed);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Collects everything a Conn reads until 'end'. */
export function collect(c: Conn): { chunks: Buffer[]; ended: boolean; bytes(): Buffer } {
  const st = {
    chunks: [] as Buffer[],
    ended: false,
    bytes(): Buffer {
      return Buffer.concat(st.chunks);
    },
  };
  c.on('data', (d: Buffer) => st.chunks.push(d));
  c.on('end', () => (st.ended = true));
  return st;
}

/** Writes `data` in chunks honouring back-pressure, then ends. */
export async function writeAll(c: Conn, data: Buffer, chunk = 64 * 1024): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) {
    if (!c.write(data.subarray(off, Math.min(data.length, off + chunk)))) {
      await new Promise<void>((r, j) => {
        c.once('drain', r);
        c.once('error', j);
      });
    }
  }
  c.end();
}
