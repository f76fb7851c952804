/**
 * Allocation check of the concentrator's per-peer path: client -> tunnel -> concentrator ->
 * the peer's port (peer.sink) -> an echo connector that answers in place through the port
 * (sendToPeer) -> tunnel -> client, 400k round trips in a fresh `node --trace-gc`, as
 * device-alloc.test.ts does for the plain device (same synchronous binds, same threshold).
 */
import test from 'ava';
import { scavengesAfterMarker } from '../helpers/alloc.js';
import { hasNative } from '../../src/native/index.js';

const urls = {
  device: new URL('../../src/wg/device.js', import.meta.url).href,
  concentrator: new URL('../../src/wg/concentrator.js', import.meta.url).href,
  crypto: new URL('../../src/wg/crypto.js', import.meta.url).href,
  namespace: new URL('../../src/core/namespace.js', import.meta.url).href,
};

function body(extra: string): string {
  return `
    import { WgDevice } from ${JSON.stringify(urls.device)};
    import { WgConcentrator } from ${JSON.stringify(urls.concentrator)};
    import { keyPairFromPrivate } from ${JSON.stringify(urls.crypto)};
    import { Namespaces } from ${JSON.stringify(urls.namespace)};
    class DirectBind {
      constructor(port) { this.addr = Int32Array.of(4, port, 0x7f000001, 0, 0, 0, 0, 0); this.rec = null; this.other = null; this.rx = new Uint8Array(65536); this.views = []; this.queue = []; this.direct = false; }
      setReceiver(r) { this.rec = r; }
      send(d) {
        const o = this.other;
        if (!this.direct) { o.queue.push(d.slice()); return; }
        const rx = o.rx, len = d.length;
        rx.set(d);
        let v = o.views[len];
        if (v === undefined) v = o.views[len] = rx.subarray(0, len);
        o.rec(v, this.addr, 0);
      }
      pump() { while (this.queue.length > 0) this.rec(this.queue.shift(), this.other.addr, 0); }
      close() {}
    }
    const ba = new DirectBind(51820), bc = new DirectBind(51821);
    ba.other = bc; bc.other = ba;
    const ska = new Uint8Array(32).fill(0x41), skc = new Uint8Array(32).fill(0x43);
    const aead = { native: true };
    // Echo connector: one namespace per port; swaps the addresses in place and answers through the port.
    const spaces = new Namespaces({ max: 4 });
    const echo = { connectL3: (dev) => spaces.attach(dev, () => dev, (d, p) => { for (let i = 12; i < 16; i++) { const x = p[i]; p[i] = p[i + 4]; p[i + 4] = x; } d.send(p); }).cleanup };
    const c = new WgConcentrator({ privateKey: skc, bind: bc, aead, inner: echo, peers: [{ publicKey: keyPairFromPrivate(ska).publicKey, allowedIps: ['10.0.0.2/32'] }] });
    const a = new WgDevice({ privateKey: ska, bind: ba, aead, peers: [{ publicKey: keyPairFromPrivate(skc).publicKey, endpoint: '127.0.0.1:51821', allowedIps: ['10.0.0.0/24'] }] });
    const cnt = new Float64Array(2);
    a.setHandler((p) => { cnt[0] += p.length; ${extra} });
    const p = new Uint8Array(1400); p[0] = 0x45; p[2] = 1400 >> 8; p[3] = 1400 & 255; p[9] = 17; p.set([10, 0, 0, 2], 12); p.set([10, 0, 0, 1], 16);
    a.send(p);
    for (let k = 0; k < 10; k++) { bc.pump(); ba.pump(); }
    ba.direct = bc.direct = true;
    if (cnt[0] !== 1400 || c.stats().ports !== 1) throw new Error('no session: ' + cnt + JSON.stringify(c.stats()) + JSON.stringify(c.show().drops));
    console.log('--- loop');
    function run(n) { for (let i = 0; i < n; i++) a.send(p); }
    for (let k = 0; k < 400; k++) run(1000);
    if (cnt[0] < 400000 * 1400) throw new Error('did not run ' + cnt);
    const d = a.show().drops, e = c.show().drops;
    if (Object.keys(d).length + Object.keys(e).length !== 0) throw new Error('drops ' + JSON.stringify(d) + JSON.stringify(e));
  `;
}

test('concentrator per-peer path allocates nothing: 400k round trips through a peer port and its namespace', (t) => {
  if (!hasNative('aead')) return t.fail('the addon with aead is required (node:crypto makes a cipher object per packet)');
  const s = scavengesAfterMarker(body(''));
  t.log(`${s} scavenges in the loop`);
  t.true(s <= 1, `${s} scavenges: the path allocates`);
});

test('the concentrator allocation check would see one small object per packet', (t) => {
  if (!hasNative('aead')) return t.fail('addon required');
  const s = scavengesAfterMarker(body('cnt[1] += p.subarray(1).length;'));
  t.true(s > 5, `${s} scavenges`);
});
