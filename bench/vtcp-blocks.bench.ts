/**
 * vtcp building-block rows, mirroring the Go vtcp benchmarks (vtcp/benchmark_test.go) under the
 * same names: send buffer write / write+acknowledge / peek, receive buffer in-order insert,
 * out-of-order insert, read, and SYN cookie generation and validation. 1460-byte segments,
 * 1 MiB buffers, as in Go.
 *
 * Differences from the Go loops: Go's SendBufWrite, RecvBufInsertInOrder and RecvBufInsertOOO
 * build a new 1 MiB buffer per iteration (NewSendBuf/NewRecvBuf); here one buffer is reused and
 * emptied (clear, or read) each iteration, since a Tcb allocates its buffers once. Sequence
 * numbers start just below 2^31 and are passed as int32s (seq.ts). Baseline rows: a plain
 * `Uint8Array.set` of 1460 bytes (native memcpy with no bookkeeping, the floor for the buffer
 * rows) and an HMAC-SHA256 cookie via `createHmac` (what the Go original computes, for the
 * choice of prefix-keyed SHA-256 in syn-cookies.ts). Cookie rows allocate (one digest Buffer per
 * hash) by design.
 *
 * The buffer rows run with the JavaScript copy (an allocation-free DataView loop) and, when the
 * addon is built, again with its memcpy (core/bulk-copy.ts: what a process that loads the addon
 * gets from 1 KiB up), plus a 64 KiB pair (the segments of a TUN at MTU 65520).
 */

import { createHmac } from 'node:crypto';
import { BulkCopy, type BulkCopyFn } from '../src/core/bulk-copy.js';
import { ManualClock } from '../src/core/clock.js';
import { loadNative } from '../src/native/index.js';
import { RecvBuffer } from '../src/vtcp/recv-buffer.js';
import { SendBuffer } from '../src/vtcp/send-buffer.js';
import { SynCookies } from '../src/vtcp/syn-cookies.js';
import type { Row } from './harness.js';

const INNER = 1000;
const COOKIE_INNER = 100;
const SEG = 1460;
const MIB = 1 << 20;
const START_SEQ = 0x7fff_0000;
const BIG = 64 * 1024;
const BIG_INNER = 50;

/** `fn` run with BulkCopy.fn set to `copy` (null: the JavaScript loop), restored afterwards. */
function withCopy(fn: () => number, copy: BulkCopyFn | null): () => number {
  return () => {
    const saved = BulkCopy.fn;
    BulkCopy.fn = copy;
    try {
      return fn();
    } finally {
      BulkCopy.fn = saved;
    }
  };
}

export function vtcpBlockRows(): Row[] {
  const data = new Uint8Array(SEG);
  for (let i = 0; i < SEG; i++) data[i] = i & 0xff;
  const seg2 = new Uint8Array(SEG);
  for (let i = 0; i < SEG; i++) seg2[i] = (i + 100) & 0xff;
  const readBuf = new Uint8Array(2 * SEG);
  let sink = 0;

  // Baseline: memcpy of one segment into a 1 MiB buffer, nothing else.
  const ring = new Uint8Array(MIB);
  const memcpy = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      ring.set(data, (i * SEG) & (MIB - 2048));
      s += ring[i]!;
    }
    sink = (sink + s) | 0;
    return sink;
  };

  const sbWrite = new SendBuffer(MIB);
  sbWrite.init(START_SEQ);
  const sendBufWrite = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      s += sbWrite.write(data, 0, SEG);
      if (sbWrite.free < SEG) sbWrite.clear();
    }
    sink = (sink + s) | 0;
    return sink;
  };

  const sbAck = new SendBuffer(MIB);
  sbAck.init(START_SEQ);
  const sendBufWriteAck = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      s += sbAck.write(data, 0, SEG);
      s += sbAck.ack(sbAck.end | 0);
    }
    sink = (sink + s) | 0;
    return sink;
  };

  const sbPeek = new SendBuffer(MIB);
  sbPeek.init(START_SEQ);
  sbPeek.write(data, 0, SEG);
  const peekSeq = sbPeek.una | 0;
  const sendBufPeek = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) s += sbPeek.peek(peekSeq, SEG) + sbPeek.viewOff;
    sink = (sink + s) | 0;
    return sink;
  };

  const rbIn = new RecvBuffer(MIB);
  rbIn.init(START_SEQ);
  const recvInOrder = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      s += rbIn.insert(rbIn.nxt | 0, data, 0, SEG);
      s += rbIn.read(readBuf, 0, SEG);
    }
    sink = (sink + s) | 0;
    return sink;
  };

  const rbOoo = new RecvBuffer(MIB);
  rbOoo.init(START_SEQ);
  const recvOoo = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      const nxt = rbOoo.nxt | 0;
      s += rbOoo.insert((nxt + SEG) | 0, seg2, 0, SEG); // segment 2 first: held out of order
      s += rbOoo.insert(nxt, data, 0, SEG); // segment 1 joins it
      s += rbOoo.read(readBuf, 0, 2 * SEG);
    }
    sink = (sink + s) | 0;
    return sink;
  };

  const rbRead = new RecvBuffer(MIB);
  rbRead.init(START_SEQ);
  for (let j = 0; j < 100; j++) rbRead.insert(rbRead.nxt | 0, data, 0, SEG);
  const recvRead = (): number => {
    let s = 0;
    for (let i = 0; i < INNER; i++) {
      if (rbRead.readable < SEG) rbRead.insert(rbRead.nxt | 0, data, 0, SEG);
      s += rbRead.read(readBuf, 0, SEG);
    }
    sink = (sink + s) | 0;
    return sink;
  };

  const clock = new ManualClock(1_000_000);
  const cookies = new SynCookies({ clock, secret: new Uint8Array(32).fill(7) });
  const local = Uint8Array.of(10, 0, 0, 1);
  const remote = Uint8Array.of(192, 168, 1, 20);
  const peerIsn = 0x1234_5678;
  const cookie = cookies.generate(local, remote, 80, 40000, peerIsn, 1460);
  const generate = (): number => {
    let s = 0;
    for (let i = 0; i < COOKIE_INNER; i++) s += cookies.generate(local, remote, 80, 40000 + i, peerIsn, 1460) & 0xff;
    sink = (sink + s) | 0;
    return sink;
  };
  const validate = (): number => {
    let s = 0;
    for (let i = 0; i < COOKIE_INNER; i++) s += cookies.validate(local, remote, 80, 40000, peerIsn + 1, cookie + 1);
    sink = (sink + s) | 0;
    return sink;
  };
  const validateInvalid = (): number => {
    let s = 0;
    for (let i = 0; i < COOKIE_INNER; i++) s += cookies.validate(local, remote, 80, 40000, peerIsn + 1, (cookie ^ 0x100) + 1);
    sink = (sink + s) | 0;
    return sink;
  };
  // What the Go original computes: HMAC-SHA256 over ports, ISN and counter.
  const hmacKey = new Uint8Array(32).fill(7);
  const msg = new Uint8Array(14);
  const hmacCookie = (): number => {
    let s = 0;
    for (let i = 0; i < COOKIE_INNER; i++) {
      msg[0] = i;
      s += createHmac('sha256', hmacKey).update(msg).digest()[0]!;
    }
    sink = (sink + s) | 0;
    return sink;
  };

  // 64 KiB segments through a 4 MiB receive buffer, in order, read back out.
  const big = new Uint8Array(BIG).fill(0x5a);
  const bigOut = new Uint8Array(BIG);
  const rbBig = new RecvBuffer(4 * MIB);
  rbBig.init(START_SEQ);
  const recvBig = (): number => {
    let s = 0;
    for (let i = 0; i < BIG_INNER; i++) {
      s += rbBig.insert(rbBig.nxt | 0, big, 0, BIG);
      s += rbBig.read(bigOut, 0, BIG);
    }
    sink = (sink + s) | 0;
    return sink;
  };

  const loop = (fn: () => number) => withCopy(fn, null);
  const rows: Row[] = [
    { name: 'memcpy 1460 B (Uint8Array.set, baseline)', fn: memcpy, inner: INNER, bytes: SEG },
    { name: 'SendBufWrite', fn: loop(sendBufWrite), inner: INNER, bytes: SEG, baseline: 'memcpy 1460 B (Uint8Array.set, baseline)' },
    { name: 'SendBufWriteAcknowledge', fn: loop(sendBufWriteAck), inner: INNER, bytes: SEG, baseline: 'memcpy 1460 B (Uint8Array.set, baseline)' },
    { name: 'SendBufPeekUnsent', fn: sendBufPeek, inner: INNER, bytes: SEG, goNs: 0.24 },
    { name: 'RecvBufInsertInOrder', fn: loop(recvInOrder), inner: INNER, bytes: SEG, baseline: 'memcpy 1460 B (Uint8Array.set, baseline)' },
    { name: 'RecvBufInsertOOO', fn: loop(recvOoo), inner: INNER, bytes: 2 * SEG, baseline: 'RecvBufInsertInOrder' },
    { name: 'RecvBufRead', fn: loop(recvRead), inner: INNER, bytes: SEG },
    { name: 'RecvBuf insert + read 64 KiB (JavaScript copy)', fn: loop(recvBig), inner: BIG_INNER, bytes: BIG },
  ];
  const memCopy = loadNative()?.memCopy;
  if (typeof memCopy === 'function') {
    const native = (fn: () => number) => withCopy(fn, memCopy);
    rows.push(
      { name: 'SendBufWrite (addon memcpy)', fn: native(sendBufWrite), inner: INNER, bytes: SEG, baseline: 'SendBufWrite' },
      { name: 'RecvBufInsertInOrder (addon memcpy)', fn: native(recvInOrder), inner: INNER, bytes: SEG, baseline: 'RecvBufInsertInOrder' },
      { name: 'RecvBufRead (addon memcpy)', fn: native(recvRead), inner: INNER, bytes: SEG, baseline: 'RecvBufRead' },
      { name: 'RecvBuf insert + read 64 KiB (addon memcpy)', fn: native(recvBig), inner: BIG_INNER, bytes: BIG, baseline: 'RecvBuf insert + read 64 KiB (JavaScript copy)' },
    );
  }
  rows.push(
    { name: 'SYNCookieGenerate', fn: generate, inner: COOKIE_INNER, allocates: true, baseline: 'SYN cookie as HMAC-SHA256 via createHmac (Go construction)' },
    { name: 'SYNCookieValidate', fn: validate, inner: COOKIE_INNER, allocates: true },
    { name: 'SYNCookieValidateInvalid', fn: validateInvalid, inner: COOKIE_INNER, allocates: true },
    { name: 'SYN cookie as HMAC-SHA256 via createHmac (Go construction)', fn: hmacCookie, inner: COOKIE_INNER, allocates: true },
  );
  return rows;
}
