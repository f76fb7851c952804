/**
 * The `vnetHdr` option without root or the kernel: its checking (typed errors with stable
 * codes, raised before the addon is asked for anything), the offload bits it asks for, the
 * header reader for rx 'raw' frames, and the counters it adds. The kernel tests are in
 * test/interop/tuntap-vnet.test.ts; segmentation and checksum completion are tested in Rust
 * (native/src/tuntap/vnet_tests.rs, vnet_io.rs).
 */
import test from 'ava';
import { Tap, Tun, TunOffload, VnetGso, attachTap, attachTun, newVnetHdrFields, offloadNames, readVnetHdr } from '../../src/tuntap/index.js';
import { checkVnetOption } from '../../src/tuntap/vnet.js';
import { IO_STATS_LEN, IoStat, VnetState, ioStats, vnetScratchLen, vnetState } from '../../src/tuntap/native.js';
import type { Dataplane } from '../../src/dataplane/index.js';

const TSO = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.TSO_ECN;

const accepts = test.macro({
  exec(t, v: unknown, want: object | null) {
    t.deepEqual(checkVnetOption('Tun.open', v), want);
  },
  title: (what = '', v) => `vnetHdr ${JSON.stringify(v)} is accepted ${what}`.trim(),
});
test('(absent: no header)', accepts, undefined, null);
test('(false: no header)', accepts, false, null);
test('(true: segment, 10 bytes, checksum + TSO)', accepts, true, { rx: 'segment', headerLen: 10, offloads: TSO });
test('', accepts, {}, { rx: 'segment', headerLen: 10, offloads: TSO });
test('', accepts, { rx: 'raw', headerLen: 12 }, { rx: 'raw', headerLen: 12, offloads: TSO });
test('(USO asked for too)', accepts, { offloads: { uso: true } }, { rx: 'segment', headerLen: 10, offloads: TSO | TunOffload.USO4 | TunOffload.USO6 });
test('(checksum only)', accepts, { offloads: { tso: false } }, { rx: 'segment', headerLen: 10, offloads: TunOffload.CSUM });
test('(the header without offloads)', accepts, { offloads: { csum: false, tso: false } }, { rx: 'segment', headerLen: 10, offloads: 0 });

const refuses = test.macro({
  exec(t, v: unknown, code: string, message: RegExp) {
    t.throws(() => checkVnetOption('Tun.open', v), { code, message });
  },
  title: (what = '', v) => `vnetHdr ${JSON.stringify(v)} is refused ${what}`.trim(),
});
test('', refuses, 'yes', 'ERR_PKT_INVALID_ARG', /vnetHdr must be a boolean or an object, got string/);
test('', refuses, null, 'ERR_PKT_INVALID_ARG', /got null/);
test('', refuses, { rx: 'gro' }, 'ERR_PKT_INVALID_ARG', /vnetHdr\.rx must be 'segment' or 'raw', got "gro"/);
test('', refuses, { headerLen: 11 }, 'ERR_PKT_OUT_OF_RANGE', /headerLen must be 10 or 12, got 11/);
test('', refuses, { hdrLen: 12 }, 'ERR_PKT_INVALID_ARG', /unknown vnetHdr option "hdrLen"/);
test('', refuses, { offloads: [] }, 'ERR_PKT_INVALID_ARG', /offloads must be an object/);
test('', refuses, { offloads: { tso4: true } }, 'ERR_PKT_INVALID_ARG', /unknown vnetHdr\.offloads option "tso4"/);
test('', refuses, { offloads: { tso: 1 } }, 'ERR_PKT_INVALID_ARG', /offloads\.tso must be a boolean/);
test('(TSO without the checksum offload)', refuses, { offloads: { csum: false } }, 'ERR_PKT_CONFIG', /tso needs csum/);
test('(USO without the checksum offload)', refuses, { offloads: { csum: false, tso: false, uso: true } }, 'ERR_PKT_CONFIG', /uso needs csum/);

const fakeDp = { attachPort: () => Promise.reject(new Error('not reached')) } as unknown as Dataplane;
const badOpen = test.macro({
  async exec(t, open: () => Promise<unknown>, code: string, message: RegExp) {
    await t.throwsAsync(open(), { code, message });
  },
  title: (what = '') => `${what} is refused before the addon is asked`.trim(),
});
test('Tun.open with a 9-byte header', badOpen, () => Tun.open({ vnetHdr: { headerLen: 9 as 10 } }), 'ERR_PKT_OUT_OF_RANGE', /Tun\.open: vnetHdr\.headerLen/);
test('Tun.attach with a bad rx', badOpen, () => Tun.attach('tun0', { vnetHdr: { rx: 'x' as 'raw' } }), 'ERR_PKT_INVALID_ARG', /Tun\.attach: vnetHdr\.rx/);
test('Tap.open with vnetHdr', badOpen, () => Tap.open({ vnetHdr: true }), 'ERR_PKT_CONFIG', /TUN devices only/);
test("attachTun with rx 'raw'", badOpen, () => attachTun(fakeDp, 'e', { vnetHdr: { rx: 'raw' } }), 'ERR_PKT_CONFIG', /'raw' is for standalone Tun/);
test('attachTap with vnetHdr', badOpen, () => attachTap(fakeDp, 'e', { vnetHdr: true }), 'ERR_PKT_CONFIG', /TUN devices only/);
test('attachTun with a bad vnetHdr', badOpen, () => attachTun(fakeDp, 'e', { vnetHdr: 1 as unknown as boolean }), 'ERR_PKT_INVALID_ARG', /vnetHdr must be/);

test('readVnetHdr reads the little-endian fields of a raw frame, allocating nothing', (t) => {
  // NEEDS_CSUM, TCPV4 | ECN, hdr_len 66, gso_size 1448, csum_start 20, csum_offset 16, then the packet.
  const frame = Uint8Array.from([0x01, 0x81, 66, 0, 0xa8, 0x05, 20, 0, 16, 0, 0x45, 0]);
  const out = newVnetHdrFields();
  t.is(readVnetHdr(frame, out), out);
  t.deepEqual(out, { flags: 1, gsoType: 0x81, hdrLen: 66, gsoSize: 1448, csumStart: 20, csumOffset: 16 });
  t.is(out.gsoType & ~VnetGso.ECN, VnetGso.TCPV4);
});

test('offload bits have their names', (t) => {
  t.deepEqual(offloadNames(TSO), ['csum', 'tso4', 'tso6', 'tso_ecn']);
  t.deepEqual(offloadNames(0), []);
});

test('the counters report super-packets and vnet drops', (t) => {
  const a = new Float64Array(IO_STATS_LEN);
  a[IoStat.RxGso] = 5;
  a[IoStat.RxVnetBad] = 2;
  t.like(ioStats([a]), { rxGso: 5, dropped: 2, drops: { 'rx-vnet-bad': 2 } });
});

test("a vnet reader's state and scratch as the addon expects them", (t) => {
  const s = vnetState(12, true);
  t.deepEqual([...s], [12, 1, 0, 0]);
  t.is(s[VnetState.CarryLen], 0);
  t.deepEqual([...vnetState(10, false)], [10, 0, 0, 0]);
  t.is(vnetScratchLen(1500), 16 + 1500 + 65536);
});
