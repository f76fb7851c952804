import test from 'ava';
import { connectL2, connectL3, serve, serveWithDone } from '../../src/core/connect.js';
import { L2Hub } from '../../src/core/l2-hub.js';
import { ManualClock } from '../../src/core/clock.js';
import { PipeL2 } from '../../src/core/pipe.js';
import type { AcceptedL2, L2Acceptor, L2Connector, L2Device } from '../../src/core/device.js';
import { ClosedError } from '../../src/errors.js';
import { RecordingL2, RecordingL3, frameTo } from '../helpers/devices.js';
import { fromHex } from '../helpers/bytes.js';
import { KERNEL_IPV4_UDP } from '../vectors/kernel-tun.js';

test('connectL2 and connectL3 wire two devices both ways', (t) => {
  const a = new RecordingL2(1);
  const b = new RecordingL2(2);
  connectL2(a, b);
  a.inject(frameTo(2, 1, 5));
  b.inject(frameTo(1, 2, 6));
  t.is(b.got[0]![14], 5);
  t.is(a.got[0]![14], 6);
  const x = new RecordingL3('10.0.0.1/24');
  const y = new RecordingL3('10.0.0.2/24');
  connectL3(x, y);
  x.inject(fromHex(KERNEL_IPV4_UDP));
  t.is(y.got.length, 1);
  t.is(x.got.length, 0);
});

/** An acceptor fed by the test; `close()` makes acceptL2 reject with ClosedError. */
class TestAcceptor implements L2Acceptor {
  private queue: L2Device[] = [];
  private waiting: ((d: L2Device | Error) => void) | null = null;
  private closed = false;
  push(d: L2Device) {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(d);
    } else this.queue.push(d);
  }
  close() {
    this.closed = true;
    this.waiting?.(new ClosedError('acceptor'));
    this.waiting = null;
  }
  acceptL2(): Promise<L2Device> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift()!);
    if (this.closed) return Promise.reject(new ClosedError('acceptor'));
    return new Promise((resolve, reject) => {
      this.waiting = (d) => (d instanceof Error ? reject(d) : resolve(d));
    });
  }
}

/** A device whose connection ends when the test says so. */
class EndingL2 extends RecordingL2 {
  private end!: () => void;
  readonly done = new Promise<void>((r) => (this.end = r));
  hangUp() {
    this.end();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test('serve attaches each device and runs cleanup when a device signals done', async (t) => {
  const hub = new L2Hub({ clock: new ManualClock() });
  const acceptor = new TestAcceptor();
  const loop = serve(acceptor, hub);
  const a = new EndingL2(0xa);
  const b = new EndingL2(0xb);
  acceptor.push(a);
  acceptor.push(b);
  await tick();
  a.inject(frameTo(0xffff_ffff_ffff, 0xa));
  t.is(b.got.length, 1);
  b.hangUp();
  await tick();
  t.is(hub.stats().ports.length, 1, 'b was detached when its connection ended');
  a.inject(frameTo(0xffff_ffff_ffff, 0xa));
  t.is(b.got.length, 1);
  acceptor.close();
  await loop;
  hub.close();
});

test('a device the connector refuses is closed and reported', async (t) => {
  const refusing: L2Connector = {
    connectL2() {
      throw new Error('full');
    },
  };
  const acceptor = new TestAcceptor();
  const errors: unknown[] = [];
  const loop = serve(acceptor, refusing, { onError: (e) => errors.push(e) });
  const d = new PipeL2(1);
  acceptor.push(d);
  await tick();
  t.true(d.isClosed);
  t.is((errors[0] as Error).message, 'full');
  acceptor.close();
  await loop;
});

test('serve rejects with a non-close acceptor error', async (t) => {
  const failing: L2Acceptor = { acceptL2: () => Promise.reject(new Error('EMFILE')) };
  await t.throwsAsync(serve(failing, new L2Hub({ clock: new ManualClock() })), { message: 'EMFILE' });
});

test('serve stops on abort and closes a device that arrives afterwards', async (t) => {
  const hub = new L2Hub({ clock: new ManualClock() });
  const acceptor = new TestAcceptor();
  const ac = new AbortController();
  const loop = serve(acceptor, hub, { signal: ac.signal });
  ac.abort();
  await loop;
  const late = new PipeL2(9);
  acceptor.push(late);
  await tick();
  t.true(late.isClosed);
  t.is(hub.stats().ports.length, 0);
  hub.close();
});

test('serveWithDone uses the done promise that comes with each device (async iterable acceptor)', async (t) => {
  const hub = new L2Hub({ clock: new ManualClock() });
  let endA!: () => void;
  const a = new RecordingL2(0xa);
  const b = new RecordingL2(0xb);
  async function* acceptor(): AsyncGenerator<AcceptedL2> {
    yield { device: a, done: new Promise<void>((r) => (endA = r)) };
    yield { device: b };
  }
  await serveWithDone(acceptor(), hub);
  t.is(hub.stats().ports.length, 2);
  endA();
  await tick();
  t.is(hub.stats().ports.length, 1);
  hub.close();
});
