import test from 'ava';
import { Namespaces } from '../../src/core/namespace.js';
import type { Cleanup, L3Connector, L3Device } from '../../src/core/device.js';
import { PktError } from '../../src/errors.js';
import { RecordingL3 } from '../helpers/devices.js';
import { fromHex } from '../helpers/bytes.js';
import { KERNEL_IPV4_UDP } from '../vectors/kernel-tun.js';

/** A toy connector: each namespace counts its own packets and echoes them back. */
class EchoConnector implements L3Connector {
  readonly spaces = new Namespaces<{ id: number; seen: number; disposed: boolean }>({ max: 2, name: 'echo' });
  connectL3(dev: L3Device): Cleanup {
    return this.spaces.attach(
      dev,
      (id) => ({ id, seen: 0, disposed: false }),
      (state, packet) => {
        state.seen++;
        dev.send(packet);
      },
      (state) => (state.disposed = true),
    ).cleanup;
  }
}

test('each device gets its own state; cleanup detaches and disposes exactly once', (t) => {
  const c = new EchoConnector();
  const a = new RecordingL3('10.0.0.2/24');
  const b = new RecordingL3('10.0.0.2/24'); // same address: isolated anyway
  const ca = c.connectL3(a);
  c.connectL3(b);
  a.inject(fromHex(KERNEL_IPV4_UDP));
  a.inject(fromHex(KERNEL_IPV4_UDP));
  b.inject(fromHex(KERNEL_IPV4_UDP));
  const [sa, sb] = [...c.spaces].map((ns) => ns.state);
  t.is(sa!.seen, 2);
  t.is(sb!.seen, 1);
  t.is(a.got.length, 2);
  t.is(b.got.length, 1);
  ca();
  ca();
  t.true(sa!.disposed);
  t.is(c.spaces.size, 1);
  a.inject(fromHex(KERNEL_IPV4_UDP));
  t.is(sa!.seen, 2, 'detached: its packets no longer reach the namespace');
  t.is(c.spaces.get(sa!.id), undefined);
});

test('namespaces are bounded and ids are never reused', (t) => {
  const c = new EchoConnector();
  const cleanups = [c.connectL3(new RecordingL3(null)), c.connectL3(new RecordingL3(null))];
  const e = t.throws(() => c.connectL3(new RecordingL3(null)), { instanceOf: PktError });
  t.is(e?.code, 'ERR_PKT_LIMIT');
  t.regex(e?.message ?? '', /echo: at most 2/);
  cleanups[0]!();
  c.connectL3(new RecordingL3(null));
  t.deepEqual([...c.spaces].map((ns) => ns.id), [2, 3]);
  c.spaces.closeAll();
  t.is(c.spaces.size, 0);
});
