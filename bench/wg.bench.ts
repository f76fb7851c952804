/**
 * WireGuard rows, named after the Go pktkit README's (benchmark_test.go in wg/): EncryptTo
 * (a 1420-byte packet sealed in place, no allocation), EncryptDecrypt (sealed then opened),
 * HandshakeFull (initiation, response, both sessions derived: 6 X25519 and 2 key generations),
 * KeyGeneration, ReplayFilter and PeerLookup; plus the batched transport (64 packets per
 * sealBatch/openBatch over a SharedArrayBuffer) and the node:crypto backend as the baseline of
 * the per-packet rows. The crypto backend is named in each row.
 */

import { hasNative } from '../src/native/index.js';
import { AllowedIps } from '../src/wg/allowed-ips.js';
import { generateKeyPair, tai64n } from '../src/wg/crypto.js';
import { Handshake, StaticIdentity, beginSession, consumeInitiation, consumeResponse, createInitiation, createResponse } from '../src/wg/noise.js';
import { ReplayFilter } from '../src/wg/replay.js';
import { Keypair, TransportBatch, openTransport, sealTransport } from '../src/wg/transport.js';
import type { WgBind, WgBindReceiver } from '../src/wg/bind.js';
import { WgDevice } from '../src/wg/device.js';
import type { Row } from './harness.js';

/**
 * A bind that hands each datagram straight to the other device (one memcpy into its receive
 * slot, a view cached per size): the device path alone, without sockets. Queues until `direct`.
 */
class DirectBind implements WgBind {
  readonly addr: Int32Array;
  other: DirectBind | null = null;
  direct = false;
  readonly queue: Uint8Array[] = [];
  #rec: WgBindReceiver | null = null;
  readonly #rx = new Uint8Array(65536);
  readonly #views: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(2048).fill(undefined);
  constructor(port: number) {
    this.addr = Int32Array.of(4, port, 0x7f00_0001, 0, 0, 0, 0, 0);
  }
  setReceiver(r: WgBindReceiver): void {
    this.#rec = r;
  }
  send(d: Uint8Array): void {
    const o = this.other!;
    if (!this.direct) {
      o.queue.push(d.slice());
      return;
    }
    o.#rx.set(d);
    let v = o.#views[d.length];
    if (v === undefined) v = o.#views[d.length] = o.#rx.subarray(0, d.length);
    o.#rec!(v, this.addr, 0);
  }
  pump(): void {
    while (this.queue.length > 0) this.#rec!(this.queue.shift()!, this.other!.addr, 0);
  }
  close(): void {}
}

const SIZE = 1420;
const MTU = 1420;
const BATCH = 64;
const SLOT = 2048;

function keypairs(native: boolean): { ini: Keypair; res: Keypair } {
  const k1 = new Uint8Array(32).fill(7);
  const k2 = new Uint8Array(32).fill(9);
  const opts = { native };
  return {
    ini: new Keypair({ sendKey: k1.slice(), recvKey: k2.slice(), isInitiator: true, localIndex: 0x9122_3344, remoteIndex: 0xaabb_ccdd }, 0, opts),
    res: new Keypair({ sendKey: k2.slice(), recvKey: k1.slice(), isInitiator: false, localIndex: 0xaabb_ccdd, remoteIndex: 0x9122_3344 }, 0, opts),
  };
}

export function wgRows(): Row[] {
  const rows: Row[] = [];
  const backends: [string, boolean][] = [['node:crypto', false]];
  if (hasNative('aead')) backends.push(['addon', true]);
  const nativeName = hasNative('aead') ? 'addon' : 'node:crypto';

  for (const [name, native] of backends) {
    const { ini, res } = keypairs(native);
    const buf = new Uint8Array(new SharedArrayBuffer(SLOT));
    // The counter advances per call; 2^64 is far away. Every open succeeds (checked below).
    rows.push({
      name: `wg EncryptTo ${SIZE}B (${name})`,
      fn: () => sealTransport(ini, buf, 0, SIZE, MTU),
      bytes: SIZE,
      baseline: native ? `wg EncryptTo ${SIZE}B (node:crypto)` : undefined,
      goNs: 555,
      allocates: !native,
    });
    const { ini: i2, res: r2 } = keypairs(native);
    rows.push({
      name: `wg EncryptDecrypt ${SIZE}B (${name})`,
      fn: () => {
        const n = sealTransport(i2, buf, 0, SIZE, MTU);
        const m = openTransport(r2, buf, 0, n);
        if (m !== SIZE) throw new Error(`open failed: ${m}`);
        return m;
      },
      bytes: SIZE,
      baseline: native ? `wg EncryptDecrypt ${SIZE}B (node:crypto)` : undefined,
      goNs: 1131,
      allocates: !native,
    });
    void res;
  }

  // Batches of 64 over one SharedArrayBuffer: one AEAD call per direction per batch.
  {
    const { ini, res } = keypairs(hasNative('aead'));
    const sab = new Uint8Array(new SharedArrayBuffer(BATCH * SLOT));
    const batch = new TransportBatch(BATCH);
    const sealLen = 16 + SIZE + 16;
    rows.push({
      name: `wg EncryptDecrypt ${SIZE}B batch ${BATCH} (${nativeName})`,
      fn: () => {
        batch.clear();
        for (let s = 0; s < BATCH; s++) batch.addSeal(ini, sab, s * SLOT, SIZE, MTU);
        batch.seal(ini, sab);
        batch.clear();
        for (let s = 0; s < BATCH; s++) batch.addOpen(res, sab, s * SLOT, sealLen);
        batch.open(res, sab);
        if (batch.result(BATCH - 1) !== SIZE) throw new Error('batch open failed');
        return batch.result(0);
      },
      inner: BATCH,
      bytes: SIZE,
      baseline: `wg EncryptDecrypt ${SIZE}B (${nativeName})`,
      goNs: 1131,
      allocates: !hasNative('aead'),
    });
  }

  // Full handshake: fresh ephemerals every time; timestamps and `now` move forward so the
  // replay and flood rules accept each initiation.
  {
    const a = new StaticIdentity(generateKeyPair().privateKey);
    const b = new StaticIdentity(generateKeyPair().privateKey);
    const aHs = new Handshake(a, b.publicKey);
    const bHs = new Handshake(b, a.publicKey);
    const init = new Uint8Array(148);
    const resp = new Uint8Array(92);
    const ts = new Uint8Array(12);
    let t = 0;
    rows.push({
      name: 'wg HandshakeFull (node:crypto X25519)',
      fn: () => {
        t++;
        tai64n(1_700_000_000 + Math.floor(t / 1000), (t % 1000) * 1000, ts, 0);
        if (!createInitiation(a, aHs, generateKeyPair(), 1, ts, init, 0)) throw new Error('initiation');
        if (consumeInitiation(b, init, 0, 148, t * 20, () => bHs) !== bHs) throw new Error('consume initiation');
        if (!createResponse(b, bHs, generateKeyPair(), 2, resp, 0)) throw new Error('response');
        if (consumeResponse(a, aHs, resp, 0, 92) !== 0) throw new Error('consume response');
        return beginSession(a, aHs)!.sendKey[0]! + beginSession(b, bHs)!.sendKey[0]!;
      },
      goNs: 578_000,
      allocates: true,
    });
    rows.push({ name: 'wg KeyGeneration (node:crypto)', fn: () => generateKeyPair().publicKey[0], goNs: 57_000, allocates: true });
  }

  // The whole device path, in process: inner packet -> AllowedIPs -> seal -> bind -> open ->
  // replay -> timers -> source check -> inner handler (A to B, 1420-byte packets).
  {
    const ba = new DirectBind(51820);
    const bb = new DirectBind(51821);
    ba.other = bb;
    bb.other = ba;
    const ska = new Uint8Array(32).fill(0x41);
    const skb = new Uint8Array(32).fill(0x42);
    const a = new WgDevice({ privateKey: ska, bind: ba, peers: [{ publicKey: new WgDevice({ privateKey: skb, bind: new DirectBind(1) }).publicKey, endpoint: '127.0.0.1:51821', allowedIps: ['10.8.0.2/32'] }] });
    const b = new WgDevice({ privateKey: skb, bind: bb, peers: [{ publicKey: a.publicKey, allowedIps: ['10.8.0.1/32'] }] });
    const got = new Float64Array(1);
    b.setHandler((p) => {
      got[0]! += p.length;
    });
    const pkt = new Uint8Array(SIZE);
    pkt[0] = 0x45;
    pkt[2] = SIZE >> 8;
    pkt[3] = SIZE & 255;
    pkt.set([10, 8, 0, 1, 10, 8, 0, 2], 12);
    a.connect(b.publicKey);
    for (let k = 0; k < 4; k++) {
      bb.pump();
      ba.pump();
    }
    ba.direct = bb.direct = true;
    rows.push({
      name: `wg device send->receive ${SIZE}B, in process (${nativeName})`,
      fn: () => {
        for (let i = 0; i < 100; i++) a.send(pkt);
        if (got[0] === 0) throw new Error('nothing delivered');
        return got[0];
      },
      inner: 100,
      bytes: SIZE,
      baseline: `wg EncryptDecrypt ${SIZE}B (${nativeName})`,
      allocates: !hasNative('aead'),
    });
  }

  // Replay filter: in-order counters with some reordering, the common case.
  {
    const f = new ReplayFilter();
    let c = 0;
    rows.push({
      name: 'wg ReplayFilter',
      fn: () => {
        let ok = 0;
        for (let i = 0; i < 1000; i++) {
          c += 1;
          if (f.validate((c ^ (i & 3)) >>> 0, 0)) ok++;
        }
        return ok;
      },
      inner: 1000,
      goNs: 9.1,
    });
  }

  // Peer lookup: AllowedIPs for 256 peers (a /32 and a /64 each) by the destination of a packet.
  {
    const allowed = new AllowedIps<object>();
    for (let i = 0; i < 256; i++) {
      const p = { i };
      allowed.insert(`10.7.${i}.2/32`, p);
      allowed.insert(`fd00:7:0:${i.toString(16)}::/64`, p);
    }
    const pkt = new Uint8Array(20);
    pkt[0] = 0x45;
    pkt.set([10, 7, 0, 2], 16);
    rows.push({
      name: 'wg PeerLookup (AllowedIPs, 256 peers)',
      fn: () => {
        let hits = 0;
        for (let i = 0; i < 1000; i++) {
          pkt[18] = i & 255;
          if (allowed.lookupDestination(pkt, 0, 20) !== null) hits++;
        }
        return hits;
      },
      inner: 1000,
      goNs: 13,
    });
  }
  return rows;
}
