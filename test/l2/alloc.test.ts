/**
 * Allocation check of the known-neighbour path, both ways, IPv4 and IPv6: 2M frames in a fresh
 * `node --trace-gc` must cause no more scavenges than start-up does (test/helpers/alloc.ts).
 * Addresses are above 2^31 (192.168/16, and a MAC whose high word is large) so that a boxed
 * uint32 or a double crossing a call would show.
 */
import test from 'ava';
import { toHex } from '../../src/wire/bytes.js';
import { EtherType } from '../../src/wire/ethernet.js';
import { NdpType } from '../../src/wire/ndp.js';
import { ARP_OP_REPLY } from '../../src/wire/arp.js';
import { countScavenges } from '../helpers/alloc.js';
import { arpFrame, eth, ndFrame, udp4, udp6 } from './helpers.js';

const MAC_A = 0xfe00_00c0_a801;
const MAC_B = 0xde00_00c0_a802;

const urls = {
  adapter: new URL('../../src/l2/adapter.js', import.meta.url).href,
  pipe: new URL('../../src/core/pipe.js', import.meta.url).href,
  clock: new URL('../../src/core/clock.js', import.meta.url).href,
  bytes: new URL('../../src/wire/bytes.js', import.meta.url).href,
};

const hex = {
  arpReply: toHex(arpFrame(ARP_OP_REPLY, MAC_A, MAC_B, '192.168.1.2', MAC_A, '192.168.1.1')),
  na: toHex(ndFrame({ type: NdpType.NeighborAdvertisement, src: 'fd00::c0a8:2', dst: 'fd00::c0a8:1', target: 'fd00::c0a8:2', lla: MAC_B, solicited: true, override: true, ethDst: MAC_A, ethSrc: MAC_B })),
  out4: toHex(udp4('192.168.1.1', '192.168.1.2', 1, 1472)),
  out6: toHex(udp6('fd00::c0a8:1', 'fd00::c0a8:2', 1, 1452)),
  in4: toHex(eth(MAC_A, MAC_B, EtherType.IPv4, udp4('192.168.1.2', '192.168.1.1', 1, 1472))),
  in6: toHex(eth(MAC_A, MAC_B, EtherType.IPv6, udp6('fd00::c0a8:2', 'fd00::c0a8:1', 1, 1452))),
};

/** A child-process body: an adapter with B resolved (v4 and v6), then `loop` run 2M times. */
function body(loop: string, checkBytes = true): string {
  return `
    import { L2Adapter } from ${JSON.stringify(urls.adapter)};
    import { PipeL3 } from ${JSON.stringify(urls.pipe)};
    import { ManualClock } from ${JSON.stringify(urls.clock)};
    import { fromHex } from ${JSON.stringify(urls.bytes)};
    const H = ${JSON.stringify(hex)};
    const l3 = new PipeL3('192.168.1.1/24');
    // Byte counters in a typed array: a captured \`let\` above 2^31 would box a double per frame.
    const bytes = new Float64Array(2);
    l3.onSend = (p) => { bytes[0] += p.length; };
    const a = new L2Adapter(l3, { clock: new ManualClock(), mac: ${MAC_A}, random: () => 0.5 });
    a.addAddr('fd00::c0a8:1/64');
    a.setHandler((f) => { bytes[1] += f.length; });
    const out4 = fromHex(H.out4), out6 = fromHex(H.out6), in4 = fromHex(H.in4), in6 = fromHex(H.in6);
    l3.inject(out4); a.send(fromHex(H.arpReply));
    l3.inject(out6); a.send(fromHex(H.na));
    if (a.neighborState('192.168.1.2') !== 'REACHABLE' || a.neighborState('fd00::c0a8:2') !== 'REACHABLE') throw new Error('not resolved');
    function batch(n) {
      for (let i = 0; i < n; i++) { ${loop} }
    }
    for (let k = 0; k < 2000; k++) batch(1000);
    const s = a.stats();
    if (s.dropped !== 0) throw new Error('drops ' + JSON.stringify(s.drops));
    if (${checkBytes} && bytes[0] + bytes[1] < 2000 * 1000 * 1400) throw new Error('did not run: ' + bytes[0] + ' ' + bytes[1]);
  `;
}

const cases: [string, string][] = [
  ['IPv4 out (L3 -> L2)', 'l3.inject(out4);'],
  ['IPv4 in (L2 -> L3)', 'a.send(in4);'],
  ['IPv6 out (L3 -> L2)', 'l3.inject(out6);'],
  ['IPv6 in (L2 -> L3)', 'a.send(in6);'],
];

// Start-up (module loading, the hex vectors) scavenges a few times whatever the loop does.
let baseline = -1;
function startupScavenges(): number {
  if (baseline < 0) baseline = countScavenges(body('bytes[1] += i & 1;', false));
  return baseline;
}

for (const [name, loop] of cases) {
  test(`known-neighbour path allocates nothing: ${name}, 2M frames`, (t) => {
    const base = startupScavenges();
    const scavenges = countScavenges(body(loop));
    t.log(`${scavenges} scavenges (start-up alone: ${base})`);
    t.true(scavenges <= base + 1, `${scavenges} scavenges against ${base} at start-up: the path allocates`);
  });
}

test('the check would see an allocating path (a subarray per frame)', (t) => {
  const scavenges = countScavenges(body('bytes[1] += in4.subarray(14).length;'));
  t.true(scavenges > startupScavenges() + 10, `${scavenges} scavenges`);
});
