/**
 * Property tests: a Tcb in each RFC 9293 state, fed random segments (sequence and ACK numbers
 * near the interesting edges or anywhere, any flags, options and payloads), interleaved with
 * time passing and application calls, never throws and keeps its invariants.
 */
import test from 'ava';
import fc from 'fast-check';
import { TcpState } from '../../../src/vtcp/contract.js';
import { seqLe } from '../../../src/vtcp/seq.js';
import { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_SYN } from '../../../src/wire/tcp.js';
import { seg } from '../../helpers/tcp-sim.js';
import { Harness, ISS, PEER_ISS, bytes } from './scripted.js';

type Setup = (h: Harness) => void;

const SETUPS: Record<string, Setup> = {
  'SYN-SENT': (h) => h.tcb.connect(1, 2, ISS),
  'SYN-RECEIVED': (h) => h.tcb.acceptSyn(seg({ srcPort: 80, dstPort: 40000, flags: TCP_FLAG_SYN, seq: PEER_ISS, mss: 1000, window: 8000, windowScale: 3, sackPermitted: true, hasTimestamps: true, tsVal: 5 }), new Uint8Array(0), 0, 0, ISS),
  ESTABLISHED: (h) => {
    h.openActive();
    h.write(20_000);
  },
  'FIN-WAIT-1': (h) => {
    h.openActive();
    h.write(5000);
    h.tcb.shutdown();
  },
  'FIN-WAIT-2': (h) => {
    h.openActive();
    h.tcb.shutdown();
    h.send({ ack: h.tcb.sndMax });
  },
  'CLOSE-WAIT': (h) => {
    h.openActive();
    h.write(3000);
    h.send({ flags: TCP_FLAG_ACK | TCP_FLAG_FIN, ack: ISS + 1 });
  },
  CLOSING: (h) => {
    h.openActive();
    h.tcb.shutdown();
    h.send({ flags: TCP_FLAG_ACK | TCP_FLAG_FIN, ack: ISS + 1 });
  },
  'LAST-ACK': (h) => {
    h.openActive();
    h.send({ flags: TCP_FLAG_ACK | TCP_FLAG_FIN });
    h.tcb.shutdown();
  },
  'TIME-WAIT': (h) => {
    h.openActive();
    h.tcb.shutdown();
    h.send({ ack: h.tcb.sndMax });
    h.send({ flags: TCP_FLAG_ACK | TCP_FLAG_FIN });
  },
};

const near = fc.oneof(fc.integer({ min: -70_000, max: 70_000 }), fc.integer({ min: -3, max: 3 }), fc.constant(null));
const segArb = fc.record({
  kind: fc.constant('seg' as const),
  seqOff: near,
  ackOff: near,
  anySeq: fc.nat({ max: 0xffff_ffff }),
  anyAck: fc.nat({ max: 0xffff_ffff }),
  flags: fc.oneof(fc.nat({ max: 255 }), fc.constantFrom(0x10, 0x11, 0x18, 0x04, 0x14, 0x02, 0x12)),
  window: fc.nat({ max: 0xffff }),
  len: fc.oneof(fc.constant(0), fc.nat({ max: 3000 })),
  ts: fc.option(fc.tuple(fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 0xffff_ffff }))),
  sack: fc.array(fc.tuple(near, fc.nat({ max: 5000 })), { maxLength: 4 }),
  mss: fc.nat({ max: 9000 }),
  ws: fc.integer({ min: -1, max: 14 }),
});
const opArb = fc.oneof(
  { weight: 6, arbitrary: segArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.nat({ max: 5000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('app' as const), op: fc.constantFrom('write', 'read', 'shutdown', 'close', 'abort', 'nodelay') }) },
);

function checkInvariants(h: Harness): string | null {
  const t = h.tcb;
  if (t.state < TcpState.Closed || t.state > TcpState.TimeWait) return `bad state ${t.state}`;
  if (!seqLe(t.sndUna, t.sndNxt) || !seqLe(t.sndNxt, t.sndMax)) return `una ${t.sndUna} nxt ${t.sndNxt} max ${t.sndMax}`;
  if (t.sendBuf.length > t.sendBuf.capacity) return 'send buffer over capacity';
  if (t.recvBuf.readable > t.recvBuf.capacity) return 'receive buffer over capacity';
  if (t.recvBuf.outOfOrderRanges > 64) return 'reassembly unbounded';
  if (t.synchronized && t.state !== TcpState.Closed && !seqLe(t.recvBuf.nxt, t.rcvNxt)) return 'rcvNxt behind the buffer';
  if (t.pipe < 0 && t.inRecovery) return 'negative pipe';
  for (const s of h.sink.segs) if (s.data.length > 9000) return 'oversized segment';
  return null;
}

for (const [name, setup] of Object.entries(SETUPS)) {
  test(`random segments in ${name}: never throws, invariants hold`, (t) => {
    let runs = 0;
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const h = new Harness({ recvBufferSize: 16_384, sendBufferSize: 32_768, maxOutOfOrder: 8 });
        setup(h);
        if (h.tcb.stateName !== name) throw new Error(`setup reached ${h.tcb.stateName}`);
        const rbuf = new Uint8Array(4096);
        for (const op of ops) {
          if (op.kind === 'seg') {
            const f = seg({
              srcPort: 80,
              dstPort: 40000,
              seq: op.seqOff === null ? op.anySeq : (h.tcb.rcvNxt + op.seqOff) >>> 0,
              ack: op.ackOff === null ? op.anyAck : (h.tcb.sndUna + op.ackOff) >>> 0,
              flags: op.flags,
              window: op.window,
              mss: op.mss,
              windowScale: op.ws,
              hasTimestamps: op.ts !== null,
              tsVal: op.ts?.[0] ?? 0,
              tsEcr: op.ts?.[1] ?? 0,
              sack: op.sack.flatMap(([o, l]) => [(h.tcb.sndUna + (o ?? 0)) >>> 0, (h.tcb.sndUna + (o ?? 0) + l) >>> 0]),
            });
            h.tcb.input(f, bytes(op.len), 0, op.len);
          } else if (op.kind === 'time') {
            h.clock.advance(op.ms);
          } else {
            const tcb = h.tcb;
            if (op.op === 'write') {
              try {
                tcb.write(bytes(2000), 0, 2000);
              } catch (e) {
                if ((e as { code?: string }).code !== 'ERR_PKT_CLOSED') throw e;
              }
            } else if (op.op === 'read') tcb.read(rbuf, 0, rbuf.length);
            else if (op.op === 'shutdown') tcb.shutdown();
            else if (op.op === 'close') tcb.close();
            else if (op.op === 'abort') tcb.abort();
            else tcb.setNoDelay(true);
          }
          const bad = checkInvariants(h);
          if (bad !== null) throw new Error(bad);
        }
        runs++;
      }),
      { numRuns: 150, seed: 42 },
    );
    t.is(runs, 150);
  });
}
