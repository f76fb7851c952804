/**
 * The batched slirp UDP path allocates nothing per datagram, virtual -> real and real -> virtual:
 * counted after warm-up in a fresh process, with addresses above 2^31 so that a boxed u32 would
 * show. Alone in its file: the count runs synchronously for seconds.
 */
import test from 'ava';
import { pathToFileURL } from 'node:url';
import { hasNative } from '../../src/native/index.js';
import { scavengesAfterWarmup } from '../helpers/alloc.js';

const batched = hasNative('udp');

const build = (rel: string): string => pathToFileURL(new URL(rel, import.meta.url).pathname).href;

test('batched: the datagram path allocates nothing per datagram, virtual -> real and back (counted after warm-up)', (t) => {
  if (!batched) return t.pass('the addon has no udp feature here');
  // A native echo peer; each step sends 100 datagrams from the virtual side, flushes, echoes them
  // and receives the replies synchronously (the Stack's @internal pollUdpNow, as a wake does).
  // Sensitivity: one boxed u32 (16 bytes) per datagram, found and removed while writing this,
  // showed as 9 more scavenges per 800k datagrams; what is left (a few per million, fewer with
  // larger batches) is per batch: the Node-API calls of a flush and a receive.
  const setup = `
    import { Stack } from '${build('../../src/slirp/stack.js')}';
    import { pollUdpNow, flushUdpNow } from '${build('../../src/slirp/udp.js')}';
    import { UdpSocket } from '${build('../../src/udp/socket.js')}';
    import { udp4 } from '${build('./packets.js')}';
    const peer = UdpSocket.open({ bind: '127.0.0.1:0', gso: false });
    const port = peer.localAddress.port;
    const slirp = new Stack({ addr: '192.168.7.1/24', hostLoopback: true, udp: 'batched' });
    let got = 0;
    slirp.setHandler((p) => { if (p[9] === 17) got++; });
    const io = slirp['udp'].io;
    const pkt = udp4('192.168.7.2', 5000, '192.168.7.1', port, new Uint8Array(200).fill(7));
    const echo = (d, from) => { peer.send(d, from); };
    function step(n) {
      for (let i = 0; i < n; i += 100) {
        for (let k = 0; k < 100; k++) slirp.send(pkt);
        flushUdpNow(io);
        while (peer.recv(echo) > 0);
        peer.flush();
        pollUdpNow(io);
      }
    }
    // Leave once the count is out, failing if the replies did not come back (600k datagrams with
    // the warm-up; stdout is a pipe: synchronous on Linux).
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (s, ...rest) => {
      const r = write(s, ...rest);
      if (String(s).startsWith('SCAVENGES')) process.exit(got >= 590_000 ? 0 : 1);
      return r;
    };
  `;
  const s = scavengesAfterWarmup(`${setup}`, 400_000, 100_000);
  t.log(`${s} scavenges over 400k datagrams each way`);
  t.true(s <= 2, `${s} scavenges`);
});
