/**
 * vtcp against the Linux kernel's TCP (INTEROP.md §5): a TUN moved into a fresh network
 * namespace (its descriptor stays in this process), our TcpStack on it at 10.0.3.2 / fd00:3::2
 * with the system clock, the kernel at 10.0.3.1 / fd00:3::1. The kernel's side runs real
 * programs inside the namespace: curl, and small Node servers and clients (`ip netns exec NS
 * node -e ...`) that hash what they send and receive.
 *
 *   - curl fetches from an HTTP/1.1 responder on a vtcp listener (IPv4 and IPv6), body checked;
 *   - we dial a kernel echo server, 1 MB each way checked;
 *   - 50 MB kernel -> vtcp and vtcp -> kernel, SHA-256 checked, throughput logged;
 *   - iperf3 -c in the namespace against a vtcp sink that speaks iperf3's control protocol
 *     (test/helpers/iperf3-server.ts): its report carries our byte count;
 *   - 5 MB each way over 1% loss, byte-exact: netem on the kernel's side of the TUN (or, where the
 *     kernel has no sch_netem, an nftables `numgen random` rule), plus 1% per packet each way at
 *     our end of the TUN;
 *   - SACK, timestamps and window scaling negotiated: the SYN and SYN-ACK options both ways, the
 *     kernel socket's TCP_INFO options (read in Python), and `ss -tni`'s wscale (this ss prints
 *     no ts/sack even between two kernel sockets).
 *
 * Needs root, iproute2 (ip, tc, ss), curl, iperf3, python3, and netem or nftables; a missing program
 * fails the test naming its package. Every test makes its own namespace and deletes it at teardown, kills the programs it
 * started, and checks that closing left no descriptor behind.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type { L3Device, PacketHandler } from '../../src/core/device.js';
import { Tun } from '../../src/tuntap/index.js';
import type { IpPrefix } from '../../src/wire/addr.js';
import { TCP_FLAG_SYN, decodeTcp, type TcpFields } from '../../src/wire/tcp.js';
import type { Conn } from '../../src/vtcp/conn.js';
import { TcpStack } from '../../src/vtcp/stack.js';
import { iperf3Server } from '../helpers/iperf3-server.js';
import { KERNEL_CLIENT, KERNEL_SERVER, kernelNode, pattern, sha256, sinkServer, writeAll, type KernelResult } from '../helpers/kernel-tcp.js';

const execFileAsync = promisify(execFile);
let seq = 0;

const KERNEL4 = '10.0.3.1';
const OURS4 = '10.0.3.2';
const KERNEL6 = 'fd00:3::1';
const OURS6 = 'fd00:3::2';

const NFT_PATHS = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'];
const PACKAGES: Record<string, string> = { ip: 'iproute2', tc: 'iproute2', ss: 'iproute2', curl: 'curl', iperf3: 'iperf3' };

function missing(tool: string): Error {
  return new Error(`${tool} is not installed: run \`apt-get install ${PACKAGES[tool] ?? tool}\` to run the vtcp interop tests`);
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

async function settle(before: number, what: () => number, ms = 2000): Promise<number> {
  const end = performance.now() + ms;
  while (what() > before && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  return what();
}

async function sh(t: ExecutionContext, cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const r = await execFileAsync(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 24, encoding: 'latin1' });
    return r.stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw missing(cmd);
    t.log(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    throw err;
  }
}

/** Fails (never skips) when a program is missing. */
function need(tool: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw missing(tool);
  }
}

function netns(t: ExecutionContext): string {
  need('ip');
  const name = `pk-vtcp-${process.pid}-${++seq}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.teardown(() => {
    try {
      execFileSync('ip', ['netns', 'del', name]);
    } catch {
      // already gone
    }
  });
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

function ifname(): string {
  return `pkv${(process.pid % 10000).toString(36)}${(++seq).toString(36)}`.slice(0, 15);
}

/**
 * An L3Device in front of the Tun, for the tests: records TCP SYN options both ways, and drops a
 * share of what we send (loss on our direction; netem does the kernel's).
 */
class TestDev implements L3Device {
  readonly inner: Tun;
  /** Share of what we send that is dropped. */
  dropRate = 0;
  dropped = 0;
  /** Share of what the kernel sends that is dropped before the stack sees it. */
  dropInRate = 0;
  droppedIn = 0;
  private rnd = 12345;
  /** SYN-carrying segments: dir 'in' = from the kernel. */
  readonly syns: { dir: 'in' | 'out'; f: TcpFields }[] = [];
  constructor(inner: Tun) {
    this.inner = inner;
  }
  get addr(): IpPrefix | null {
    return null;
  }
  setAddr(): void {}
  setHandler(h: PacketHandler): void {
    this.inner.setHandler((p) => {
      this.watch('in', p);
      if (this.dropInRate > 0 && this.chance() < this.dropInRate) {
        this.droppedIn++;
        return;
      }
      h(p);
    });
  }
  send(p: Uint8Array): void {
    this.watch('out', p);
    if (this.dropRate > 0 && this.chance() < this.dropRate) {
      this.dropped++;
      return;
    }
    this.inner.send(p);
  }
  /** xorshift32: deterministic, cheap; uniform in [0, 1). */
  private chance(): number {
    let x = this.rnd;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rnd = x >>> 0;
    return this.rnd / 2 ** 32;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  private watch(dir: 'in' | 'out', p: Uint8Array): void {
    const off = p[0]! >>> 4 === 4 ? (p[0]! & 15) << 2 : 40;
    if (p.length < off + 20 || p[p[0]! >>> 4 === 4 ? 9 : 6] !== 6) return;
    if ((p[off + 13]! & TCP_FLAG_SYN) === 0) return;
    try {
      this.syns.push({ dir, f: decodeTcp(p.slice(off)) });
    } catch {
      // not ours to judge
    }
  }
}

interface Env {
  ns: string;
  tun: Tun;
  dev: TestDev;
  stack: TcpStack;
}

async function setup(t: ExecutionContext, mtu = 1500): Promise<Env> {
  const ns = netns(t);
  const fds = fdCount();
  const tun = await Tun.open({ name: ifname(), netns: ns, addrs: [`${KERNEL4}/24`, `${KERNEL6}/64`], mtu });
  const dev = new TestDev(tun);
  const stack = new TcpStack(dev, { addrs: [OURS4, OURS6], mtu });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stack.close();
    await tun.close();
  };
  t.teardown(close);
  (t.context as { finish?: () => Promise<void> }).finish = async () => {
    await close();
    t.is(await settle(fds, fdCount), fds, 'every descriptor closed');
  };
  return { ns, tun, dev, stack };
}

async function finish(t: ExecutionContext): Promise<void> {
  await (t.context as { finish: () => Promise<void> }).finish();
}

/** A minimal HTTP/1.1 responder on a vtcp listener: GET /bytes/N answers N pattern bytes. */
function httpResponder(stack: TcpStack, port: number): { requests: string[] } {
  const st = { requests: [] as string[] };
  stack.listen(port).on('connection', (c: Conn) => {
    c.on('error', () => {});
    let head = '';
    c.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const line = head.slice(0, head.indexOf('\r\n'));
      st.requests.push(line);
      const m = /^GET \/bytes\/(\d+) HTTP\/1\.1$/.exec(line);
      if (m === null) {
        c.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      const body = pattern(Number(m[1]), 7);
      c.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      c.end(body);
    });
  });
  return st;
}

test.serial('curl in the namespace fetches from an HTTP responder on a vtcp listener (IPv4 and IPv6)', async (t) => {
  need('curl');
  const { ns, stack, dev } = await setup(t);
  const http = httpResponder(stack, 8080);
  const body4 = await sh(t, 'ip', ['netns', 'exec', ns, 'curl', '-sS', '-m', '10', `http://${OURS4}:8080/bytes/100000`]);
  t.is(body4.length, 100000);
  t.is(sha256(Buffer.from(body4, 'latin1')), sha256(pattern(100000, 7)), 'IPv4 body byte-exact');
  const body6 = await sh(t, 'ip', ['netns', 'exec', ns, 'curl', '-sS', '-m', '10', `http://[${OURS6}]:8080/bytes/2000000`]);
  t.is(sha256(Buffer.from(body6, 'latin1')), sha256(pattern(2000000, 7)), 'IPv6 body byte-exact (2 MB)');
  const code = await sh(t, 'ip', ['netns', 'exec', ns, 'curl', '-sS', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', `http://${OURS4}:8080/nothing`]);
  t.is(code, '404');
  t.deepEqual(http.requests, ['GET /bytes/100000 HTTP/1.1', 'GET /bytes/2000000 HTTP/1.1', 'GET /nothing HTTP/1.1']);
  // curl to a port nobody listens on: our RST makes it "connection refused" at once.
  const refused = await execFileAsync('ip', ['netns', 'exec', ns, 'curl', '-sS', '-m', '5', `http://${OURS4}:8081/`]).then(
    () => 0,
    (e: { code?: number }) => e.code ?? -1,
  );
  t.is(refused, 7, 'curl exit 7: connection refused');
  t.true(dev.syns.some((s) => s.dir === 'in'));
  const s = stack.stats();
  t.is(s.drops.badTcpChecksum + s.drops.badIpChecksum, 0);
  t.log(`stack: ${s.packetsIn} packets in, ${s.packetsOut} out, drops ${JSON.stringify(Object.fromEntries(Object.entries(s.drops).filter(([, v]) => v > 0)))}`);
  await finish(t);
});

test.serial('we dial a kernel echo server: 1 MB each way over IPv4 and IPv6, byte-exact', async (t) => {
  const { ns, stack } = await setup(t);
  for (const [host, port] of [[KERNEL4, 7001], [KERNEL6, 7002]] as const) {
    const srv = kernelNode(t, ns, KERNEL_SERVER, [host, String(port), 'echo']);
    t.is(await srv.ready, 'READY');
    const conn = await stack.dial(host, port, { timeoutMs: 5000 });
    const data = pattern(1 << 20, port);
    const chunks: Buffer[] = [];
    conn.on('data', (d: Buffer) => chunks.push(d));
    const ended = new Promise<void>((r) => conn.once('end', r));
    await writeAll(conn, data);
    await ended;
    const r = await srv.result;
    t.is(r.n, data.length);
    t.is(r.sha, sha256(data), `${host}: the kernel got our bytes`);
    t.is(r.peer, host === KERNEL4 ? OURS4 : OURS6);
    t.is(sha256(Buffer.concat(chunks)), sha256(data), `${host}: the echo came back byte-exact`);
  }
  await finish(t);
});

test.serial('bulk 50 MB kernel -> vtcp and vtcp -> kernel, SHA-256 checked, throughput logged', async (t) => {
  const { ns, stack } = await setup(t);
  const N = 50 << 20;
  // Kernel -> vtcp.
  const got = sinkServer(stack, 5001);
  const client = kernelNode(t, ns, KERNEL_CLIENT, [OURS4, '5001', String(N)]);
  const [sink, sent] = await Promise.all([got, client.result]);
  t.is(sink.n, N);
  t.is(sink.sha, sent.sha ?? '', 'kernel -> vtcp byte-exact');
  const inMbit = (N * 8) / (sink.ms / 1000) / 1e6;
  t.log(`kernel -> vtcp: ${N >> 20} MiB in ${sink.ms.toFixed(0)} ms = ${inMbit.toFixed(0)} Mbit/s`);
  // vtcp -> kernel.
  const srv = kernelNode(t, ns, KERNEL_SERVER, [KERNEL4, '5002', 'sink']);
  await srv.ready;
  const data = pattern(N, 99);
  const t0 = performance.now();
  const conn = await stack.dial(KERNEL4, 5002, { timeoutMs: 5000 });
  conn.resume();
  await writeAll(conn, data, 1 << 20);
  const r = await srv.result;
  const ms = performance.now() - t0;
  t.is(r.n, N);
  t.is(r.sha, sha256(data), 'vtcp -> kernel byte-exact');
  const outMbit = (N * 8) / (ms / 1000) / 1e6;
  t.log(`vtcp -> kernel: ${N >> 20} MiB in ${ms.toFixed(0)} ms = ${outMbit.toFixed(0)} Mbit/s`);
  const s = stack.stats();
  t.log(`tcb: retransmits ${s.tcb.retransmits}, queue high water ${s.queueHighWater}, drops ${JSON.stringify(Object.fromEntries(Object.entries(s.drops).filter(([, v]) => v > 0)))}`);
  if (process.env.PKTKIT_VTCP_RESULT !== undefined) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(process.env.PKTKIT_VTCP_RESULT, JSON.stringify({ inMbit, outMbit, bytes: N }));
  }
  await finish(t);
});

test.serial('iperf3 in the namespace measures a vtcp sink (the iperf3 protocol served on vtcp)', async (t) => {
  need('iperf3');
  const { ns, stack } = await setup(t);
  const served = iperf3Server(stack, 5201);
  const out = await sh(t, 'ip', ['netns', 'exec', ns, 'iperf3', '-c', OURS4, '-t', '2', '-J'], 30_000);
  const report = JSON.parse(out) as { error?: string; end: { sum_sent: { bytes: number; bits_per_second: number }; sum_received: { bytes: number; bits_per_second: number } } };
  t.is(report.error, undefined, report.error);
  const ours = await served;
  const counted = ours.streamBytes.reduce((a, b) => a + b, 0);
  t.true(counted > 1 << 20, `vtcp received ${counted} bytes`);
  t.is(report.end.sum_received.bytes, counted, 'iperf3 reports what the vtcp sink counted');
  t.true(counted <= report.end.sum_sent.bytes && counted >= report.end.sum_sent.bytes * 0.9, `sent ${report.end.sum_sent.bytes}, received ${counted}`);
  t.log(`iperf3 -> vtcp: sent ${(report.end.sum_sent.bits_per_second / 1e6).toFixed(0)} Mbit/s, received ${(report.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s over ${ours.seconds.toFixed(2)} s`);
  await finish(t);
});

test.serial('1% loss both ways (netem or nftables on the kernel side, and per packet at our TUN end): 5 MB each way byte-exact', async (t) => {
  need('tc');
  const { ns, tun, dev, stack } = await setup(t);
  // The kernel's direction: netem when the kernel has sch_netem; else an nftables rule that drops
  // 1% of what the kernel sends into the TUN (numgen random), the same loss by other means.
  let kernelLoss: 'netem' | 'nft';
  let nft = '';
  try {
    await execFileAsync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', tun.name, 'root', 'netem', 'loss', '1%']);
    kernelLoss = 'netem';
  } catch (err) {
    const e = err as { stderr?: string };
    t.log(`netem unavailable (${(e.stderr ?? String(err)).trim()}): using nftables for the kernel's 1%`);
    // By absolute path: under npx, node_modules/.bin has an unrelated `nft` (@vercel/nft).
    const nftPath = NFT_PATHS.find((p) => existsSync(p));
    if (nftPath === undefined) throw new Error('neither netem (kernel module sch_netem) nor nft (`apt-get install nftables`) is available for the loss test');
    nft = nftPath;
    await sh(t, 'ip', ['netns', 'exec', ns, nft, 'add table inet loss']);
    await sh(t, 'ip', ['netns', 'exec', ns, nft, `add chain inet loss out { type filter hook output priority 0 ; }`]);
    await sh(t, 'ip', ['netns', 'exec', ns, nft, `add rule inet loss out oifname "${tun.name}" numgen random mod 100 == 0 counter drop`]);
    kernelLoss = 'nft';
  }
  // Per packet at our end too: the kernel's output hook and qdisc see GSO super-packets (up to
  // 64 KiB, segmented later), so 1% of those is far less than 1% of the segments on the wire.
  dev.dropRate = 0.01;
  dev.dropInRate = 0.01;
  const N = 5 << 20;
  const got = sinkServer(stack, 5003);
  const client = kernelNode(t, ns, KERNEL_CLIENT, [OURS4, '5003', String(N)]);
  const [sink, sent] = await Promise.all([got, client.result]);
  t.is(sink.n, N);
  t.is(sink.sha, sent.sha ?? '', 'kernel -> vtcp byte-exact through loss');
  const srv = kernelNode(t, ns, KERNEL_SERVER, [KERNEL4, '5004', 'sink']);
  await srv.ready;
  const data = pattern(N, 5);
  const conn = await stack.dial(KERNEL4, 5004, { timeoutMs: 10_000 });
  conn.resume();
  await writeAll(conn, data, 1 << 20);
  const r = await srv.result;
  t.is(r.n, N);
  t.is(r.sha, sha256(data), 'vtcp -> kernel byte-exact through loss');
  const listing =
    kernelLoss === 'netem'
      ? await sh(t, 'ip', ['netns', 'exec', ns, 'tc', '-s', 'qdisc', 'show', 'dev', tun.name])
      : await sh(t, 'ip', ['netns', 'exec', ns, nft, 'list', 'table', 'inet', 'loss']);
  const m = kernelLoss === 'netem' ? /dropped (\d+)/.exec(listing) : /counter packets (\d+)/.exec(listing);
  const s = stack.stats();
  t.log(`${kernelLoss} dropped ${m?.[1] ?? '?'} kernel (GSO) packets; at our end ${dev.droppedIn} of the kernel's and ${dev.dropped} of ours were dropped; tcb retransmits ${s.tcb.retransmits} (fast ${s.tcb.fastRetransmits}, rto ${s.tcb.rtoTimeouts})`);
  t.true(dev.dropped > 0 && dev.droppedIn > 0, 'both directions lost packets at our end');
  if (m === null) t.log(`listing: ${JSON.stringify(listing)}`);
  t.true(Number(m?.[1] ?? 0) > 0, `${kernelLoss} dropped kernel packets`);
  await finish(t);
});

/**
 * Kernel side, Python: one connection (a client to host:port, or a server on host:port) that
 * prints its own TCP_INFO options as JSON once established, then holds the connection until the
 * peer closes. tcpi_options is byte 5 of struct tcp_info (TCPI_OPT_TIMESTAMPS 1, SACK 2,
 * WSCALE 4), the send/receive shifts the nibbles of byte 6.
 */
const PY_TCPINFO = `
import json, socket, sys
role, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
if role == 'server':
    srv = socket.socket(fam); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind((host, port)); srv.listen(1)
    print('READY', flush=True)
    s, _ = srv.accept()
else:
    s = socket.create_connection((host, port))
s.sendall(b'x')
i = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
info = json.dumps({'options': i[5], 'sndWscale': i[6] & 15, 'rcvWscale': i[6] >> 4})
print(info, flush=True)
while s.recv(65536):
    pass
s.close()
print(info, flush=True)
`;

const TCPI_OPT_TIMESTAMPS = 1;
const TCPI_OPT_SACK = 2;
const TCPI_OPT_WSCALE = 4;

test.serial('SACK, timestamps and window scaling are negotiated with the kernel, both ways', async (t) => {
  need('ss');
  need('python3');
  const { ns, dev, stack } = await setup(t);
  // Kernel -> us.
  const server = stack.listen(6000);
  const accepted = new Promise<Conn>((r) => server.once('connection', r));
  const client = kernelNode(t, ns, PY_TCPINFO, ['client', OURS4, '6000'], 'python3');
  const c = await accepted;
  c.on('error', () => {});
  c.resume();
  const clientInfo = JSON.parse(await client.ready) as KernelResult;
  // Us -> kernel.
  const srv = kernelNode(t, ns, PY_TCPINFO, ['server', KERNEL4, '6001'], 'python3');
  t.is(await srv.ready, 'READY');
  const out = await stack.dial(KERNEL4, 6001, { timeoutMs: 5000 });
  out.on('error', () => {});
  out.resume();
  out.write('y');
  const srvInfo = await new Promise<KernelResult>((resolve) => {
    let buf = '';
    srv.child.stdout!.on('data', (d: string) => {
      buf += d;
      const m = /^(\{.*\})$/m.exec(buf);
      if (m !== null) resolve(JSON.parse(m[1]!) as KernelResult);
    });
  });
  for (const [what, info] of [['kernel client -> vtcp listener', clientInfo], ['vtcp dial -> kernel server', srvInfo]] as const) {
    t.log(`${what}: kernel TCP_INFO options ${info.options} (ts ${(info.options! & TCPI_OPT_TIMESTAMPS) !== 0}, sack ${(info.options! & TCPI_OPT_SACK) !== 0}, wscale ${info.sndWscale},${info.rcvWscale})`);
    t.not(info.options! & TCPI_OPT_TIMESTAMPS, 0, `${what}: the kernel uses timestamps`);
    t.not(info.options! & TCPI_OPT_SACK, 0, `${what}: the kernel uses SACK`);
    t.not(info.options! & TCPI_OPT_WSCALE, 0, `${what}: the kernel uses window scaling`);
  }
  // ss on the kernel side: iproute2 6.1's ss prints no 'ts'/'sack' words on this kernel, even for
  // a kernel-to-kernel connection whose tcpi_options has both (checked by hand), so only its
  // wscale is asserted; TCP_INFO above is the authority.
  const ss = await sh(t, 'ip', ['netns', 'exec', ns, 'ss', '-tni', 'state', 'established']);
  t.log(ss.trim());
  const lines = ss.split('\n');
  for (const port of [':6000', ':6001']) {
    const i = lines.findIndex((l) => l.includes(port));
    t.true(i >= 0, `ss lists the connection ${port}`);
    t.regex(lines[i + 1] ?? '', /wscale:\d+,\d+/, `${port}: window scaling in ss`);
  }
  // The SYNs themselves, as they crossed the TUN.
  const kernelSyn = dev.syns.find((s) => s.dir === 'in' && s.f.dstPort === 6000);
  const ourSynAck = dev.syns.find((s) => s.dir === 'out' && s.f.srcPort === 6000);
  const ourSyn = dev.syns.find((s) => s.dir === 'out' && s.f.dstPort === 6001);
  const kernelSynAck = dev.syns.find((s) => s.dir === 'in' && s.f.srcPort === 6001);
  for (const [what, s] of [['kernel SYN', kernelSyn], ['our SYN-ACK', ourSynAck], ['our SYN', ourSyn], ['kernel SYN-ACK', kernelSynAck]] as const) {
    t.truthy(s, `${what} seen`);
    t.true(s!.f.sackPermitted, `${what}: SACK-permitted`);
    t.true(s!.f.hasTimestamps, `${what}: timestamps`);
    t.true(s!.f.windowScale >= 0, `${what}: window scale`);
    t.true(s!.f.mss > 0, `${what}: MSS`);
  }
  t.is(ourSynAck!.f.mss, 1460);
  t.is(ourSyn!.f.mss, 1460);
  t.is(clientInfo.rcvWscale, kernelSyn!.f.windowScale, 'the kernel scales its window by the shift it offered');
  t.is(clientInfo.sndWscale, ourSynAck!.f.windowScale, 'and ours by the shift we offered');
  t.true(c.tcb.sackOn && c.tcb.tsOn && c.tcb.wsOn, 'the accepted Tcb uses all three');
  t.true(out.tcb.sackOn && out.tcb.tsOn && out.tcb.wsOn, 'the dialled Tcb uses all three');
  t.log(`kernel SYN: mss ${kernelSyn!.f.mss} wscale ${kernelSyn!.f.windowScale}; our SYN-ACK: mss ${ourSynAck!.f.mss} wscale ${ourSynAck!.f.windowScale}`);
  c.end();
  out.end();
  await client.result;
  await srv.result;
  await finish(t);
});
