/**
 * Bulk transfer over the simulated link: 10 MiB each way at once, byte-exact, at 0, 1, 5 and 10%
 * loss per direction (with duplication and reordering on top of the lossy links), for NewReno and
 * CUBIC, with and without SACK. Then both sides close and reach CLOSED through TIME-WAIT.
 */
import test from 'ava';
import type { CongestionControlName } from '../../../src/vtcp/contract.js';
import { TcpState } from '../../../src/vtcp/contract.js';
import { makePair } from '../../helpers/tcp-sim.js';

const MB10 = 10 * 1024 * 1024;

const bulk = test.macro({
  exec(t, cc: CongestionControlName, sack: boolean, loss: number) {
    const link = { delayMs: 5, bytesPerMs: 125_000, queueLimit: 256, loss, dup: loss > 0 ? 0.005 : 0, reorder: loss > 0 ? 0.01 : 0, reorderMs: 1 };
    const tcb = { congestionControl: cc, sack, rtoMinMs: 200, recvBufferSize: 1 << 20, sendBufferSize: 1 << 20, timeWaitMs: 1000 };
    const p = makePair({ sim: { seed: 1000 + Math.round(loss * 1000) + (sack ? 1 : 0), ab: link }, a: tcb, b: tcb });
    p.a.sendBytes = p.b.sendBytes = MB10;
    p.a.shutdownWhenDone = p.b.shutdownWhenDone = true;
    t.true(p.connect(), 'handshake');
    const t0 = p.sim.clock.now();
    const done = p.sim.run(() => p.a.received === MB10 && p.b.received === MB10 && p.a.ended && p.b.ended, 3_600_000);
    const simMs = p.sim.clock.now() - t0;
    const sa = p.a.tcb.stats();
    t.log(`${cc} sack=${sack} loss=${loss}: ${(simMs / 1000).toFixed(2)} s simulated, ${((MB10 * 8) / simMs / 1000).toFixed(1)} Mbit/s each way; A: ${sa.segmentsOut} segs, ${sa.retransmits} rtx, ${sa.fastRetransmits} fast, ${sa.rtoTimeouts} RTO; link A->B lost ${p.sim.dirs[0].lost}, queue drops ${p.sim.dirs[0].queueDrops}`);
    t.true(done, `A got ${p.a.received}, B got ${p.b.received}`);
    t.is(p.a.mismatchAt, -1, 'A received the bytes B sent, in order');
    t.is(p.b.mismatchAt, -1, 'B received the bytes A sent, in order');
    t.is(p.a.tcb.sackOn, sack);
    t.true(p.sim.run(() => p.a.tcb.state === TcpState.Closed && p.b.tcb.state === TcpState.Closed, 600_000), `final states ${p.a.tcb.stateName} ${p.b.tcb.stateName}`);
    t.is(p.a.closeReason, null);
    t.is(p.b.closeReason, null);
    if (loss > 0) t.true(sa.retransmits > 0);
  },
  title: (_p, cc: CongestionControlName, sack: boolean, loss: number) => `10 MiB both ways, ${cc}, ${sack ? 'SACK' : 'no SACK'}, ${loss * 100}% loss`,
});

for (const cc of ['newreno', 'cubic'] as const) {
  for (const sack of [true, false]) {
    for (const loss of [0, 0.01, 0.05, 0.1]) test(bulk, cc, sack, loss);
  }
}
