/**
 * Argument checks of AfXdpDevice.open: all of them happen before any descriptor is made, and need
 * neither root nor an interface. What the socket does on a real interface is in
 * test/interop/afxdp.test.ts (root, a veth pair in a namespace).
 */
import test from 'ava';
import { readdirSync } from 'node:fs';
import { AfXdpDevice, type AfXdpOptions } from '../../src/afxdp/index.js';
import { PktError, PktRangeError, PktTypeError } from '../../src/errors.js';

const rejected = test.macro({
  exec(t, opts: unknown, type: typeof PktTypeError | typeof PktRangeError, message: RegExp) {
    t.throws(() => AfXdpDevice.open(opts as AfXdpOptions), { instanceOf: type as typeof PktTypeError, message });
  },
  title: (_ = '', opts: unknown) => `open(${JSON.stringify(opts)}) is refused with a typed error`,
});

test(rejected, null, PktTypeError, /options object/);
test(rejected, {}, PktTypeError, /ifname/);
test(rejected, { ifname: 'a-name-longer-than-15' }, PktTypeError, /ifname/);
test(rejected, { ifname: 'lo', queue: 64 }, PktRangeError, /queue/);
test(rejected, { ifname: 'lo', frameSize: 1024 }, PktTypeError, /frameSize must be 2048 or 4096/);
test(rejected, { ifname: 'lo', frameCount: 16 }, PktRangeError, /frameCount/);
test(rejected, { ifname: 'lo', frameCount: 256, rxFrames: 250 }, PktRangeError, /rxFrames/);
test(rejected, { ifname: 'lo', ringSize: 1000 }, PktTypeError, /power of two/);
test(rejected, { ifname: 'lo', batch: 0 }, PktRangeError, /batch/);
test(rejected, { ifname: 'lo', mode: 'offload' }, PktTypeError, /mode must be one of 'auto', 'native', 'generic'/);
test(rejected, { ifname: 'lo', attach: 'tc' }, PktTypeError, /attach/);
test(rejected, { ifname: 'lo', zeroCopy: true }, PktTypeError, /zeroCopy/);
test(rejected, { ifname: 'lo', hwAddr: 'zz:zz' }, PktTypeError, /MAC/);

test('an interface that does not exist is an I/O error naming it, and leaves no descriptor', (t) => {
  const before = readdirSync('/proc/self/fd').length;
  const e = t.throws(() => AfXdpDevice.open({ ifname: 'pktkit-none0' }), { instanceOf: PktError });
  t.is(e?.code, 'ERR_PKT_IO');
  t.regex(e?.message ?? '', /no interface named "pktkit-none0"/);
  t.is(readdirSync('/proc/self/fd').length, before);
});
