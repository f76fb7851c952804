#!/usr/bin/env node
/**
 * `npm start` / `pktkit demo`: the pktkit demo, on the multi-core dataplane, in two parts.
 *
 * Part 1 (lan-demo.ts): the virtual LAN with DHCP and NAT: a host leases its address from a
 * DHCP server and fetches a page from a web server on this machine through a slirp gateway.
 *
 * Part 2: the control thread builds this topology on two port workers and narrates what the
 * engines do:
 *
 *        worker 0                                         worker 1
 *   alice ─┐                                                  ┌─ carol
 *   bob   ─┴─ segment-a (L2Hub) ═════════ ring ═════════ segment-b (L2Hub)
 *   lan  (10.0.0.1/24) ════════════════ ring ═════════╗
 *   peer (10.0.0.2/24) ════════════════ ring ═════════╩═ router (L3Hub) ─┬─ v6 (fd00::2/64)
 *                                                                         └─ gateway (default)
 *
 * Alice resolves Carol with ARP across the ring (a broadcast, then a unicast reply the switches
 * have learned to deliver), sends her a UDP datagram that Bob does not see, and Bob sends a runt
 * frame that his switch drops and counts. On the L3 side packets are routed by longest prefix,
 * fall to the default route, or are dropped with a reason. Both hubs record their ports into
 * pcapng files, written by their workers, which the demo names at the end.
 *
 */

import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { L2HubStats } from '../core/l2-hub.js';
import type { L3HubStats } from '../core/l3-hub.js';
import { Dataplane, type EngineRef, type LinkStats } from '../dataplane/index.js';
import { lanDemo } from './lan-demo.js';

const say = (s: string) => console.log(s);

const ENGINES = new URL('./demo-engines.js', import.meta.url).href;

/** Polls `check` until it returns true or `timeoutMs` passes (traffic crosses threads). */
async function waitFor(check: () => Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

function drops(d: Record<string, number>): string {
  const s = Object.entries(d)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return s === '' ? '' : `, dropped ${s}`;
}

/** Runs the demo with command-line arguments `argv` (`pktkit demo` passes its own). */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (args.help) {
    say('usage: npm start -- [--out PREFIX]\n  Runs the pktkit demo on two port workers and records both hubs to PREFIX-segment-a.pcapng and PREFIX-router.pcapng.');
    return;
  }
  const prefix = args.out ?? join(tmpdir(), `pktkit-demo-${process.pid}`);
  const captureA = `${prefix}-segment-a.pcapng`;
  const captureR = `${prefix}-router.pcapng`;

  say('pktkit demo, part 1:');
  await lanDemo(say);
  say('\npktkit demo, part 2:');

  const dp = new Dataplane({ workers: 2, modules: [ENGINES] });
  const failures: string[] = [];
  dp.on('error', (e) => failures.push(`worker ${e.worker} failed: ${e.error.message}`));
  try {
    await dp.ready();
    say('two L2 segments and an L3 router on two port workers, joined by lock-free rings\n');

    // --- L2: two segments on two workers, bridged by a ring -------------------------------------
    const segA = await dp.create({ kind: 'l2hub', options: { capture: { path: captureA } } }, { worker: 0 });
    const segB = await dp.create({ kind: 'l2hub' }, { worker: 1 });
    const host = (name: string, mac: string, ip: string, worker: number) =>
      dp.create({ kind: 'demo-host', options: { name, mac, ip } }, { worker });
    const alice = await host('alice', '02:00:00:00:00:0a', '10.0.0.1', 0);
    const bob = await host('bob', '02:00:00:00:00:0b', '10.0.0.2', 0);
    const carol = await host('carol', '02:00:00:00:00:0c', '10.0.0.3', 1);
    await dp.link(alice, segA);
    await dp.link(bob, segA);
    await dp.link(carol, segB);
    const bridge = await dp.link(segA, segB);
    say(`worker 0: segment-a (L2Hub) with alice 02:00:00:00:00:0a 10.0.0.1 and bob 02:00:00:00:00:0b 10.0.0.2`);
    say(`worker 1: segment-b (L2Hub) with carol 02:00:00:00:00:0c 10.0.0.3`);
    say(`segment-a and segment-b are joined by a ${bridge.mode} link (one SPSC ring per direction)`);

    const log = async (e: EngineRef) => (await dp.command(e, 'log')) as string[];
    say('\n1. alice broadcasts an ARP request for carol (10.0.0.3); it crosses the ring, carol answers');
    await dp.command(alice, 'arp', { ip: '10.0.0.3' });
    await waitFor(async () => (await log(alice)).length > 0);
    say('2. alice sends carol a UDP datagram: both switches have learned where carol is, so bob does not see it');
    await dp.command(alice, 'udp', { mac: '02:00:00:00:00:0c', ip: '10.0.0.3', text: 'hello carol' });
    await waitFor(async () => (await log(carol)).length > 1);
    say('3. bob sends a 10-byte runt frame: segment-a drops and counts it, nothing is thrown');
    await dp.command(bob, 'runt');

    say('\nWhat each host received:');
    for (const [name, e] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) {
      say(`  ${name}:`);
      const l = await log(e);
      for (const line of l.length > 0 ? l : ['(nothing)']) say(`    ${line}`);
    }

    // --- L3: a router on worker 1, its LAN hosts on worker 0 -----------------------------------
    const router = await dp.create({ kind: 'l3hub', options: { capture: { path: captureR } } }, { worker: 1 });
    const lan = await dp.create({ kind: 'demo-l3' }, { worker: 0 });
    const peer = await dp.create({ kind: 'demo-l3' }, { worker: 0 });
    const v6 = await dp.create({ kind: 'demo-l3' }, { worker: 1 });
    const gateway = await dp.create({ kind: 'demo-l3' }, { worker: 1 });
    // An L3 link gives the router's side the address of what is behind it: the router then routes
    // that host and its prefix through the link.
    const lanLink = await dp.link(lan, router, { addr: { a: '10.0.0.1/24', b: '10.0.0.1/24' } });
    await dp.link(peer, router, { addr: { a: '10.0.0.2/24', b: '10.0.0.2/24' } });
    await dp.link(v6, router, { addr: { a: 'fd00::2/64', b: 'fd00::2/64' } });
    const gwLink = await dp.link(gateway, router);
    await dp.command(router, 'setDefaultRoute', { link: gwLink.id });
    await dp.command(router, 'addRoute', { link: lanLink.id, prefix: 'fd00::1/128' });
    say('\nworker 1: router (L3Hub) with v6 fd00::2/64 and gateway (its default route) linked directly');
    say('worker 0: lan 10.0.0.1/24 (and fd00::1/128) and peer 10.0.0.2/24, each linked to the router by a ring');

    say('\n4. lan -> 10.0.0.2: to the router on worker 1 and back to peer on worker 0 (host route)');
    await dp.command(lan, 'udp', { src: '10.0.0.1', dst: '10.0.0.2', text: 'to peer' });
    say('5. lan -> 192.0.2.7: no prefix matches, so the default route (gateway)');
    await dp.command(lan, 'udp', { src: '10.0.0.1', dst: '192.0.2.7', text: 'off-net' });
    say('6. v6 -> fd00::1: the explicit route to lan; v6 -> 2001:db8::1: the default route');
    await dp.command(v6, 'udp', { src: 'fd00::2', dst: 'fd00::1', text: 'to lan over IPv6' });
    await dp.command(v6, 'udp', { src: 'fd00::2', dst: '2001:db8::1', text: 'off-net v6' });
    say('7. peer sends a packet of IP version 7: the router drops it with reason bad-version');
    await dp.command(peer, 'bad-version');
    await waitFor(async () => (await log(lan)).length > 0 && (await log(peer)).length > 0 && (await log(gateway)).length > 1);

    say('\nWhere packets went:');
    for (const [name, e] of [['lan', lan], ['peer', peer], ['v6', v6], ['gateway', gateway]] as const) {
      const l = await log(e);
      say(`  ${name.padEnd(8)} ${l.length === 0 ? '(nothing)' : l.join(', ')}`);
    }

    // --- Statistics ---------------------------------------------------------------------------
    const s = await dp.stats();
    const engine = (e: EngineRef) => s.workers[e.worker]!.engines.find((x) => x.id === e.id)!.stats;
    const a = engine(segA) as L2HubStats;
    say(`\nsegment-a: ${a.macs} MACs learned (of at most ${a.maxMacs}, aging 5 min)`);
    for (const p of a.ports) say(`  port ${p.port}: in ${p.rxFrames} frames/${p.rxBytes} B, out ${p.txFrames} frames/${p.txBytes} B${drops(p.drops)}`);
    const r = engine(router) as L3HubStats;
    say('router ports:');
    for (const p of r.ports) say(`  ${(p.addr ?? '(no address)').padEnd(13)} routes ${p.routes.join(' ') || '-'}; in ${p.rxFrames}, out ${p.txFrames}${drops(p.drops)}`);
    say('rings between the workers:');
    for (const l of s.links.filter((x: LinkStats) => x.mode === 'ring')) {
      say(`  ${l.a} -> ${l.b}: ${l.aToB?.consumed ?? 0} frames; ${l.b} -> ${l.a}: ${l.bToA?.consumed ?? 0} frames`);
    }
    for (const w of s.workers) {
      const l = w.loop;
      say(`worker ${w.index}: ${w.engines.length} engines; run loop: ${l?.frames ?? 0} frames from rings in ${l?.rounds ?? 0} rounds, parked ${l?.parks ?? 0} times`);
    }
  } finally {
    await dp.close(); // ends both workers; each hub flushes and closes its capture file
  }
  for (const f of failures) say(f);
  say(`\nCaptures (written by the workers, complete at close):\n  ${captureA}\n  ${captureR}`);
  say(`  read them with: tshark -r ${captureA}`);
}

// Run when this file is the program (node dist/src/cli/demo.js, or the pktkit-demo bin through
// its symlink), not when `pktkit demo` imports it.
function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (isEntryPoint()) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
