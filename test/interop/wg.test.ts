/**
 * WireGuard interop with wireguard-go 0.0.20220316 and wg(8) (INTEROP.md §1): wireguard-go runs
 * in the host namespace (its UDP socket on host loopback) with its TUN moved into a namespace of
 * its own; a WgDevice of ours listens on 127.0.0.1 through node:dgram, with an ICMP echo
 * responder (or a pinger) on its inner side.
 *
 * - wireguard-go initiates: the kernel in the namespace pings us through the tunnel.
 * - we initiate: we ping the kernel in the namespace through the tunnel.
 * - bulk both ways: 2000 UDP datagrams of 1200 bytes each way, counted at the far end.
 * - bulk TCP both ways: a vtcp TcpStack hosted on our WgDevice; 32 MiB from a kernel TCP
 *   client in the namespace to a vtcp sink, and 32 MiB from a vtcp dial to a kernel sink, both
 *   SHA-256 checked, throughput logged (docs/BENCHMARKS.md records it as an observation).
 * - `wg show dump` on its side matches our byte counters exactly and shows our handshake;
 *   `wg genkey`/`wg pubkey` agree with our key helpers.
 *
 * Needs root, wireguard-go, wireguard-tools and iproute2 (`apt-get install wireguard-go
 * wireguard-tools iproute2 iputils-ping`); a missing tool fails with that instruction, never
 * skips. Every test deletes its namespace and kills its wireguard-go, whatever happened.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DgramBind } from '../../src/wg/bind-udp.js';
import { genkey, keyToBase64, pubkey } from '../../src/wg/crypto.js';
import { WgDevice } from '../../src/wg/device.js';
import { parseIPv4 } from '../../src/wire/addr.js';
import { TcpStack } from '../../src/vtcp/stack.js';
import { EchoResponder, echoReplySeq, echoRequest } from '../helpers/icmp-echo.js';
import { KERNEL_CLIENT, KERNEL_SERVER, kernelNode, pattern, sha256, sinkServer, writeAll } from '../helpers/kernel-tcp.js';

const run = promisify(execFile);
let seq = 0;

async function sh(t: ExecutionContext, cmd: string, args: string[], input?: string): Promise<string> {
  try {
    if (input !== undefined) return execFileSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000 });
    return (await run(cmd, args, { timeout: 60_000, maxBuffer: 1 << 22 })).stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${cmd} is not installed: run \`apt-get install wireguard-go wireguard-tools iproute2 iputils-ping\``);
    t.log(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    throw err;
  }
}

interface Peer {
  ifname: string;
  ns: string;
  /** Inner addresses: wireguard-go's side (.1) and ours (.2). */
  theirs: string;
  ours: string;
  port: number;
  key: string;
  pub: string;
}

/** Starts wireguard-go with a unique interface, moves its TUN into a new namespace. */
async function wireguardGo(t: ExecutionContext): Promise<Peer> {
  const n = ++seq;
  const ifname = `pkwg${process.pid % 10000}x${n}`;
  const ns = `pk-wg-${process.pid}-${n}`;
  const dir = mkdtempSync(join(tmpdir(), 'pkwg-'));
  const key = (await sh(t, 'wg', ['genkey'])).trim();
  const pub = (await sh(t, 'wg', ['pubkey'], key)).trim();
  writeFileSync(join(dir, 'key'), `${key}\n`, { mode: 0o600 });
  let child: ChildProcess | null = null;
  t.teardown(() => {
    child?.kill('SIGTERM');
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
    rmSync(dir, { recursive: true, force: true });
  });
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  child = spawn('wireguard-go', [ifname], { env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' }, stdio: 'ignore' });
  const spawned = new Promise<void>((resolve, reject) => {
    child!.once('error', (err) => reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('wireguard-go is not installed: run `apt-get install wireguard-go`') : err));
    child!.once('spawn', () => resolve());
  });
  await spawned;
  for (let i = 0; i < 100 && !existsSync(`/var/run/wireguard/${ifname}.sock`); i++) await new Promise((r) => setTimeout(r, 50));
  execFileSync('ip', ['link', 'set', ifname, 'netns', ns]);
  const port = 42000 + ((process.pid * 7 + n * 13) % 20000);
  const net = 70 + n;
  return { ifname, ns, theirs: `10.${net}.0.1`, ours: `10.${net}.0.2`, port, key: join(dir, 'key'), pub };
}

/** wg show IF dump: the one peer line's fields. */
async function wgShowPeer(t: ExecutionContext, ifname: string): Promise<{ endpoint: string; latestHandshake: number; rx: number; tx: number }> {
  const lines = (await sh(t, 'wg', ['show', ifname, 'dump'])).trim().split('\n');
  const f = lines[1]!.split('\t'); // line 0 is the interface (with its private key: never logged)
  return { endpoint: f[2]!, latestHandshake: Number(f[4]), rx: Number(f[5]), tx: Number(f[6]) };
}

async function ourDevice(peer: Peer, initiate: boolean): Promise<{ dev: WgDevice; bind: DgramBind }> {
  const bind = await DgramBind.open({ address: '127.0.0.1', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  const dev = new WgDevice({
    privateKey: new Uint8Array(32).fill(0x60 + seq),
    bind,
    listenPort: bind.port,
    peers: [{ publicKey: peer.pub, allowedIps: [`${peer.theirs}/32`], endpoint: initiate ? `127.0.0.1:${peer.port}` : null }],
  });
  return { dev, bind };
}

async function configure(t: ExecutionContext, peer: Peer, ourPub: string, ourPort: number | null): Promise<void> {
  const args = ['set', peer.ifname, 'private-key', peer.key, 'listen-port', String(peer.port), 'peer', ourPub, 'allowed-ips', `${peer.ours}/32`];
  if (ourPort !== null) args.push('endpoint', `127.0.0.1:${ourPort}`);
  await sh(t, 'wg', args);
  await sh(t, 'ip', ['-n', peer.ns, 'addr', 'add', `${peer.theirs}/24`, 'dev', peer.ifname]);
  await sh(t, 'ip', ['-n', peer.ns, 'link', 'set', peer.ifname, 'up']);
}

async function settle(ms = 300): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

test('wg genkey / wg pubkey agree with our key helpers both ways', async (t) => {
  const theirs = (await sh(t, 'wg', ['genkey'])).trim();
  t.is(pubkey(theirs), (await sh(t, 'wg', ['pubkey'], theirs)).trim());
  const ours = genkey();
  t.is((await sh(t, 'wg', ['pubkey'], ours)).trim(), pubkey(ours));
});

test('wireguard-go initiates: the kernel pings us through the tunnel; wg show matches our counters', async (t) => {
  const peer = await wireguardGo(t);
  const { dev, bind } = await ourDevice(peer, false);
  t.teardown(() => dev.close());
  const echo = new EchoResponder();
  dev.setHandler((p) => {
    if (echo.answer(p)) dev.send(p);
  });
  await configure(t, peer, keyToBase64(dev.publicKey), bind.port);
  const out = await sh(t, 'ip', ['netns', 'exec', peer.ns, 'ping', '-c', '5', '-i', '0.2', '-W', '3', peer.ours]);
  t.regex(out, /5 packets transmitted, 5 received/);
  t.is(echo.answered, 5);
  await settle();
  const theirs = await wgShowPeer(t, peer.ifname);
  const ours = dev.show().peers[0]!;
  t.true(theirs.latestHandshake > 0);
  t.is(ours.endpoint, `127.0.0.1:${peer.port}`, 'our endpoint for it was learned from its initiation');
  t.is(theirs.endpoint, `127.0.0.1:${bind.port}`);
  t.is(ours.rxBytes, theirs.tx, 'bytes it sent = bytes we received (handshake included)');
  t.is(ours.txBytes, theirs.rx);
  t.true(ours.latestHandshake > 0);
  t.deepEqual(dev.show().drops, {});
});

test('we initiate: we ping the kernel through the tunnel; its wg show shows our handshake', async (t) => {
  const peer = await wireguardGo(t);
  const { dev, bind } = await ourDevice(peer, true);
  t.teardown(() => dev.close());
  await configure(t, peer, keyToBase64(dev.publicKey), null);
  const replies = new Set<number>();
  const from = parseIPv4(peer.theirs);
  dev.setHandler((p) => {
    const s = echoReplySeq(p, from, 0x4242);
    if (s >= 0) replies.add(s);
  });
  for (let i = 1; i <= 5; i++) {
    dev.send(echoRequest(parseIPv4(peer.ours), from, 0x4242, i));
    await settle(100);
  }
  for (let i = 0; i < 30 && replies.size < 5; i++) await settle(100);
  t.deepEqual([...replies].sort(), [1, 2, 3, 4, 5], 'the first request was staged during the handshake, none lost');
  await settle();
  const theirs = await wgShowPeer(t, peer.ifname);
  t.true(theirs.latestHandshake > 0, 'a wireguard-go responder records the handshake only after our first transport packet');
  t.is(theirs.endpoint, `127.0.0.1:${bind.port}`, 'it learned our endpoint from our initiation');
  const ours = dev.show().peers[0]!;
  t.is(ours.txBytes, theirs.rx);
  t.is(ours.rxBytes, theirs.tx);
  t.deepEqual(dev.show().drops, {});
});

test('bulk both ways: 2000 UDP datagrams of 1200 bytes each way through the tunnel', async (t) => {
  const peer = await wireguardGo(t);
  const { dev, bind } = await ourDevice(peer, true);
  t.teardown(() => dev.close());
  await configure(t, peer, keyToBase64(dev.publicKey), bind.port);
  const N = 2000;
  const SIZE = 1200;
  let got = 0;
  let gotBytes = 0;
  dev.setHandler((p) => {
    if (p[9] === 17 && p.length === 20 + 8 + SIZE) {
      got++;
      gotBytes += p.length - 28;
    }
  });
  // A receiver in the namespace counting datagrams to :9000, printing the count after 1.5 s of quiet.
  const recvScript = `const s=require('dgram').createSocket('udp4');let n=0,t;s.on('message',()=>{n++;clearTimeout(t);t=setTimeout(()=>{console.log(n);process.exit(0)},1500)});s.bind(9000,'${peer.theirs}',()=>{s.setRecvBufferSize(4<<20);console.log('ready')});setTimeout(()=>{console.log(n);process.exit(0)},30000);`;
  const receiver = spawn('ip', ['netns', 'exec', peer.ns, process.execPath, '-e', recvScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => receiver.kill());
  let out = '';
  const ready = new Promise<void>((r) => receiver.stdout!.on('data', (d: Buffer) => ((out += d.toString()), out.includes('ready') && r())));
  const done = new Promise<number>((r) => receiver.once('exit', () => r(Number(out.trim().split('\n').at(-1)))));
  await ready;
  // Ours -> theirs: UDP/IPv4 packets built here, paced in bursts of 25 per 5 ms (UDP: the test is about the tunnel, not about socket buffers).
  const pkt = new Uint8Array(20 + 8 + SIZE);
  pkt[0] = 0x45;
  pkt[2] = pkt.length >> 8;
  pkt[3] = pkt.length & 255;
  pkt[8] = 64;
  pkt[9] = 17;
  pkt.set(peer.ours.split('.').map(Number), 12);
  pkt.set(peer.theirs.split('.').map(Number), 16);
  pkt[20] = 0x30;
  pkt[22] = 9000 >> 8;
  pkt[23] = 9000 & 255;
  pkt[24] = (8 + SIZE) >> 8;
  pkt[25] = (8 + SIZE) & 255;
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (pkt[i]! << 8) | pkt[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  pkt[10] = ~sum >> 8;
  pkt[11] = ~sum & 255; // UDP checksum 0: none (IPv4)
  for (let i = 0; i < N; i++) {
    dev.send(pkt);
    if (i % 25 === 24) await settle(5);
  }
  const delivered = await done;
  // Theirs -> ours: a sender in the namespace, paced the same way.
  const sendScript = `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(${SIZE});let i=0;function go(){for(let k=0;k<25&&i<${N};k++,i++)s.send(b,9001,'${peer.ours}');if(i<${N})setTimeout(go,5);else setTimeout(()=>process.exit(0),500)}s.bind(0,'${peer.theirs}',go);`;
  await sh(t, 'ip', ['netns', 'exec', peer.ns, process.execPath, '-e', sendScript]);
  await settle(500);
  t.log(`ours -> wireguard-go: ${delivered}/${N}; wireguard-go -> ours: ${got}/${N}; our drops ${JSON.stringify(dev.show().drops)}; rcvbuf ${bind.socket.getRecvBufferSize()}`);
  t.is(delivered, N);
  t.is(got, N);
  t.is(gotBytes, N * SIZE);
  const theirs = await wgShowPeer(t, peer.ifname);
  t.is(dev.show().peers[0]!.txBytes, theirs.rx);
});

test('bulk TCP through the tunnel: 32 MiB kernel -> vtcp and vtcp -> kernel, SHA-256 checked, throughput logged', async (t) => {
  const peer = await wireguardGo(t);
  const { dev, bind } = await ourDevice(peer, true);
  // The stack sends IP packets of at most the tunnel MTU (wireguard-go's TUN and our device: 1420).
  const stack = new TcpStack(dev, { addrs: [peer.ours], mtu: dev.mtu });
  t.teardown(() => {
    stack.close();
    dev.close();
  });
  await configure(t, peer, keyToBase64(dev.publicKey), bind.port);
  const N = 32 << 20;
  // Kernel -> vtcp: a client in the namespace sends N random bytes to our listener.
  const got = sinkServer(stack, 5001);
  const client = kernelNode(t, peer.ns, KERNEL_CLIENT, [peer.ours, '5001', String(N)]);
  const [sink, sent] = await Promise.all([got, client.result]);
  t.is(sink.n, N);
  t.is(sink.sha, sent.sha ?? '', 'kernel -> vtcp byte-exact');
  const inMbit = (N * 8) / (sink.ms / 1000) / 1e6;
  // vtcp -> kernel: we dial a sink in the namespace and send N pattern bytes.
  const srv = kernelNode(t, peer.ns, KERNEL_SERVER, [peer.theirs, '5002', 'sink']);
  t.is(await srv.ready, 'READY');
  const data = pattern(N, 99);
  const t0 = performance.now();
  const conn = await stack.dial(peer.theirs, 5002, { timeoutMs: 5000 });
  conn.resume();
  await writeAll(conn, data, 1 << 20);
  const r = await srv.result;
  const outMs = performance.now() - t0;
  t.is(r.n, N);
  t.is(r.sha, sha256(data), 'vtcp -> kernel byte-exact');
  const outMbit = (N * 8) / (outMs / 1000) / 1e6;
  const s = stack.stats();
  const theirs = await wgShowPeer(t, peer.ifname);
  t.log(`kernel -> wireguard-go -> WgDevice -> vtcp: ${N >> 20} MiB in ${sink.ms.toFixed(0)} ms = ${inMbit.toFixed(0)} Mbit/s`);
  t.log(`vtcp -> WgDevice -> wireguard-go -> kernel: ${N >> 20} MiB in ${outMs.toFixed(0)} ms = ${outMbit.toFixed(0)} Mbit/s`);
  const ours = dev.show().peers[0]!;
  // UDP on loopback may drop under a burst (socket buffers): TCP retransmits; the counters then differ by what was lost.
  t.log(`tcb retransmits ${s.tcb.retransmits}; our wg drops ${JSON.stringify(dev.show().drops)}; lost on the way to wireguard-go ${ours.txBytes - theirs.rx} B, from it ${theirs.tx - ours.rxBytes} B`);
  t.true(theirs.rx <= ours.txBytes && ours.rxBytes <= theirs.tx);
  if (process.env.PKTKIT_WG_TCP_RESULT !== undefined) writeFileSync(process.env.PKTKIT_WG_TCP_RESULT, JSON.stringify({ inMbit, outMbit, bytes: N }));
});
