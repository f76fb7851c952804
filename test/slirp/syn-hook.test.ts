/**
 * The deferred-accept hook slirp needs in vtcp's TcpStack (`onSyn`, `acceptSyn`, `refuseSyn`):
 * a SYN with no listener is offered to onSyn; held, it gets no answer and retransmissions are
 * offered again; `acceptSyn` of the stored copy completes the handshake into a Conn; `refuseSyn`
 * answers with the RST of a closed port; without the hook (or returning false) nothing changes.
 * Deterministic: two stacks on joined pipes, ManualClock.
 */
import test from 'ava';
import { ManualClock } from '../../src/core/clock.js';
import { PipeL3 } from '../../src/core/pipe.js';
import { TcpStack, type HeldSyn } from '../../src/vtcp/stack.js';
import { ConnError, type Conn } from '../../src/vtcp/conn.js';
import { joinPipes, pump, pumpFor } from '../vtcp/stack/helpers.js';

function pair(onSyn: (s: HeldSyn) => boolean): { clock: ManualClock; a: TcpStack; b: TcpStack } {
  const clock = new ManualClock(1000);
  const pa = new PipeL3('10.0.0.1/24');
  const pb = new PipeL3('10.0.0.2/24');
  joinPipes(pa, pb);
  const a = new TcpStack(pa, { clock, addrs: ['10.0.0.1', 'fd00::1'] });
  const b = new TcpStack(pb, { clock, addrs: ['10.0.0.2'], acceptAnyAddr: true, onSyn });
  return { clock, a, b };
}

test('a held SYN gets no answer; retransmissions are offered again; acceptSyn of the stored copy completes the handshake', async (t) => {
  const held: { packet: Uint8Array; family: number; localPort: number; remotePort: number; local: number[] }[] = [];
  const { clock, a, b } = pair((s) => {
    held.push({ packet: s.packet.slice(), family: s.family, localPort: s.localPort, remotePort: s.remotePort, local: [...s.local] });
    return true;
  });
  const dial = a.dial('192.0.2.9', 443); // any address: b terminates everything
  let settled = false;
  dial.then(() => (settled = true), () => (settled = true));
  await pump(clock, () => held.length >= 2, 5000);
  t.true(held.length >= 2, 'the retransmitted SYN was offered again');
  t.false(settled);
  t.is(b.stats().resetsSent, 0);
  t.is(held[0]!.family, 4);
  t.is(held[0]!.localPort, 443);
  t.deepEqual(held[0]!.local, [192, 0, 2, 9]);
  const conn = b.acceptSyn(held[0]!.packet);
  t.truthy(conn);
  t.is(conn!.localAddress, '192.0.2.9');
  t.is(conn!.localPort, 443);
  const ca = await pumpFor(clock, dial);
  ca.on('error', () => {});
  conn!.on('error', () => {});
  await pump(clock, () => conn!.connected, 1000);
  t.true(conn!.connected, 'the accepted Conn emitted connect');
  // Bytes flow.
  let got = '';
  conn!.on('data', (d: Buffer) => (got += d.toString()));
  ca.write('through');
  await pump(clock, () => got === 'through', 1000);
  t.is(got, 'through');
  // A second acceptSyn of the same SYN finds the tuple taken: null.
  t.is(b.acceptSyn(held[0]!.packet), null);
  a.close();
  b.close();
});

test('refuseSyn answers with a RST: the dialler gets ECONNREFUSED', async (t) => {
  let packet: Uint8Array | null = null;
  const { clock, a, b } = pair((s) => {
    packet = s.packet.slice();
    return true;
  });
  const dial = a.dial('198.51.100.1', 80);
  await pump(clock, () => packet !== null, 1000);
  b.refuseSyn(packet!);
  const err = await t.throwsAsync(pumpFor(clock, dial));
  t.true(err instanceof ConnError && err.code === 'ECONNREFUSED');
  a.close();
  b.close();
});

test('onSyn returning false keeps the RST of a closed port; listeners and known connections never reach it', async (t) => {
  let offered = 0;
  const { clock, a, b } = pair(() => {
    offered++;
    return false;
  });
  const err = await t.throwsAsync(pumpFor(clock, a.dial('10.0.0.2', 81)));
  t.true(err instanceof ConnError && err.code === 'ECONNREFUSED');
  t.is(offered, 1);
  const srv = b.listen(82);
  let accepted: Conn | null = null;
  srv.on('connection', (c: Conn) => {
    c.on('error', () => {});
    accepted = c;
  });
  (await pumpFor(clock, a.dial('10.0.0.2', 82))).on('error', () => {});
  await pump(clock, () => accepted !== null, 1000);
  t.truthy(accepted);
  t.is(offered, 1, 'a listened port never asks onSyn');
  a.close();
  b.close();
});
