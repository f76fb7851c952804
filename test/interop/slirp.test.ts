/**
 * slirp against the Linux kernel: a TUN moved into a fresh network namespace (10.0.4.1/24,
 * fd00:4::1/64 on the kernel's side, a default route through it), attached to a slirp Stack
 * with `connectL3` (the TUN hands slirp what the kernel sends and takes slirp's replies). The
 * Stack is the gateway at 10.0.4.2 / fd00:4::2 with `hostLoopback`, so the namespace reaches
 * this process's loopback servers through it, as slirp4netns's 10.0.2.2.
 *
 *   - the kernel's `curl` fetches 2 MiB from a loopback HTTP server, IPv4 and IPv6, body checked;
 *   - `curl` uploads 1 MiB (POST) and the server reports the byte count;
 *   - `ping` of the gateway is answered (ICMP and ICMPv6 echo);
 *   - `curl` to a closed loopback port fails at once with "connection refused" (a RST);
 *   - closing the Stack and the TUN leaves no descriptor behind;
 *   - `iperf3 -c` in the namespace runs 2 s of bulk TCP against a real `iperf3 -s -1` on the
 *     host's 127.0.0.1, through the TUN and slirp (the JSON report has no error, bytes arrived).
 *   - the kernel's `ping` in the namespace reaches 127.0.0.1 (the gateway with hostLoopback) and
 *     another address through slirp's ICMP echo sockets, which open in a second namespace whose
 *     net.ipv4.ping_group_range admits root (the host's kernel default "1 0" refuses everyone).
 *
 * Needs root, iproute2, curl, ping and iperf3; a missing program fails the test naming its package.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { promisify } from 'node:util';
import { Tun } from '../../src/tuntap/index.js';
import { Stack } from '../../src/slirp/stack.js';
import { IcmpEchoSocket } from '../../src/native/icmp.js';
import { icmpSkipReason, pingNetns } from '../helpers/ping-netns.js';

const execFileAsync = promisify(execFile);
let seq = 0;

function need(tool: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is not installed: run \`apt-get install ${pkg}\` to run the slirp interop tests`);
  }
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function netns(t: ExecutionContext): string {
  need('ip', 'iproute2');
  const name = `pk-slirp-${process.pid}-${++seq}`;
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

async function inNs(ns: string, cmd: string[], timeoutMs = 30_000): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await execFileAsync('ip', ['netns', 'exec', ns, ...cmd], { timeout: timeoutMs, maxBuffer: 1 << 26, encoding: 'latin1' });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

test('the kernel in a namespace reaches loopback servers through a TUN into slirp: curl v4/v6 both ways, ping, refused port', async (t) => {
  need('curl', 'curl');
  need('ping', 'iputils-ping');
  const body = Buffer.alloc(2 << 20);
  for (let i = 0; i < body.length; i++) body[i] = (i * 2654435761) >>> 24;
  const server = http.createServer((req, res) => {
    let n = 0;
    const h = createHash('sha256');
    req.on('data', (d: Buffer) => {
      n += d.length;
      h.update(d);
    });
    req.on('end', () => {
      if (req.method === 'POST') res.end(`${n} ${h.digest('hex')}`);
      else res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '::', r)); // dual-stack: 127.0.0.1 and ::1
  const port = (server.address() as AddressInfo).port;
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));

  const ns = netns(t);
  const fds = fdCount();
  const name = `pks${(process.pid % 10000).toString(36)}${(++seq).toString(36)}`.slice(0, 15);
  const tun = await Tun.open({ name, netns: ns, addrs: ['10.0.4.1/24', 'fd00:4::1/64'], mtu: 1500 });
  const slirp = new Stack({ addr: '10.0.4.2/24', addr6: 'fd00:4::2/64', hostLoopback: true });
  const cleanup = slirp.connectL3(tun) as () => void;
  execFileSync('ip', ['-n', ns, 'route', 'add', 'default', 'via', '10.0.4.2', 'dev', name]);
  execFileSync('ip', ['-n', ns, '-6', 'route', 'add', 'default', 'via', 'fd00:4::2', 'dev', name]);
  try {
    // IPv6 duplicate address detection must finish before the kernel uses fd00:4::1.
    for (let i = 0; i < 50; i++) {
      const a = await inNs(ns, ['ip', '-6', 'addr', 'show', 'dev', name]);
      if (!a.out.includes('tentative')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ping4 = await inNs(ns, ['ping', '-c', '2', '-W', '2', '10.0.4.2']);
    t.is(ping4.code, 0, `ping 10.0.4.2: ${ping4.out}${ping4.err}`);
    const ping6 = await inNs(ns, ['ping', '-6', '-c', '2', '-W', '2', 'fd00:4::2']);
    t.is(ping6.code, 0, `ping fd00:4::2: ${ping6.out}${ping6.err}`);

    for (const url of [`http://10.0.4.2:${port}/`, `http://[fd00:4::2]:${port}/`]) {
      const t0 = performance.now();
      const r = await execFileAsync('ip', ['netns', 'exec', ns, 'curl', '-sS', '--max-time', '20', url], { encoding: 'buffer', maxBuffer: 1 << 26 });
      t.is(sha(r.stdout), sha(body), `GET ${url}: body intact`);
      t.log(`GET ${url}: ${body.length} bytes in ${(performance.now() - t0).toFixed(0)} ms`);
    }
    const up = await inNs(ns, ['sh', '-c', `head -c 1048576 /dev/zero | curl -sS --max-time 20 --data-binary @- http://10.0.4.2:${port}/up`]);
    t.is(up.out, `1048576 ${sha(Buffer.alloc(1 << 20))}`, `POST: ${up.err}`);

    const t0 = performance.now();
    const refused = await inNs(ns, ['curl', '-sS', '--max-time', '10', `http://10.0.4.2:${closedPort}/`]);
    t.is(refused.code, 7, `curl to a closed port: ${refused.err}`);
    t.true(performance.now() - t0 < 3000, 'refused at once');
    const st = slirp.stats();
    t.true(st.dialsOk >= 3);
    t.true(st.echoReplies >= 4);
    t.log(`slirp: ${st.dialsOk} dials, ${st.bytesToReal} bytes up, ${st.bytesFromReal} down, ${st.echoReplies} echo replies`);
  } finally {
    cleanup();
    await slirp.close();
    await tun.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
  const end = performance.now() + 2000;
  while (fdCount() > fds && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  t.true(fdCount() <= fds, `every descriptor closed (${fdCount()} open, ${fds} before)`);
});

/** A free TCP port on 127.0.0.1 (bound and released; iperf3 binds it next). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('the kernel\'s iperf3 in a namespace reaches a loopback iperf3 server through a TUN into slirp', async (t) => {
  need('iperf3', 'iperf3');
  const port = await freePort();
  // One test, then it exits; `--forceflush` so "Server listening" arrives through the pipe at once.
  // A probe connect would use up the one-shot server, so readiness is read from its output.
  const server = spawn('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(port), '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  });
  let serverOut = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`iperf3 -s did not start: ${serverOut}`)), 5000);
    server.stdout.setEncoding('latin1').on('data', (d: string) => {
      serverOut += d;
      if (serverOut.includes('Server listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.stderr.setEncoding('latin1').on('data', (d: string) => (serverOut += d));
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`iperf3 -s exited (${code}): ${serverOut}`));
    });
  });

  const ns = netns(t);
  const name = `pki${(process.pid % 10000).toString(36)}${(++seq).toString(36)}`.slice(0, 15);
  const tun = await Tun.open({ name, netns: ns, addrs: ['10.0.4.1/24'], mtu: 1500 });
  const slirp = new Stack({ addr: '10.0.4.2/24', hostLoopback: true });
  const cleanup = slirp.connectL3(tun) as () => void;
  execFileSync('ip', ['-n', ns, 'route', 'add', 'default', 'via', '10.0.4.2', 'dev', name]);
  try {
    const r = await inNs(ns, ['iperf3', '-c', '10.0.4.2', '-p', String(port), '-t', '2', '-J'], 30_000);
    let report: { error?: string; end?: { sum_received?: { bytes?: number; bits_per_second?: number }; sum_sent?: { retransmits?: number } } };
    try {
      report = JSON.parse(r.out) as typeof report;
    } catch {
      t.fail(`iperf3 -c printed no JSON (exit ${r.code}): ${r.out}${r.err}`);
      return;
    }
    t.is(report.error, undefined, `iperf3 error: ${report.error}`);
    const received = report.end?.sum_received;
    t.true((received?.bytes ?? 0) > 0, `bytes received: ${received?.bytes}`);
    t.is(r.code, 0, `iperf3 -c exit code: ${r.err}`);
    const st = slirp.stats();
    t.log(
      `iperf3 -t 2 through TUN + slirp: ${((received?.bits_per_second ?? 0) / 1e9).toFixed(2)} Gbit/s received, ` +
        `${received?.bytes} bytes, ${report.end?.sum_sent?.retransmits ?? '?'} retransmits; slirp ${st.bytesToReal} bytes up`,
    );
  } finally {
    cleanup();
    await slirp.close();
    await tun.close();
  }
});

test('the kernel\'s ping in a namespace reaches 127.0.0.1 and another address through slirp\'s ICMP echo sockets', async (t) => {
  need('ping', 'iputils-ping');
  const why = icmpSkipReason();
  if (why !== null) return t.fail(`cannot run: ${why}`);
  const ns = netns(t);
  // Where slirp's echo sockets live: its loopback stands for the host's, plus 203.0.113.7 on lo.
  const egress = pingNetns(t);
  execFileSync('ip', ['-n', egress.slice('/run/netns/'.length), 'addr', 'add', '203.0.113.7/32', 'dev', 'lo']);
  const fds = fdCount();
  const name = `pkp${(process.pid % 10000).toString(36)}${(++seq).toString(36)}`.slice(0, 15);
  const tun = await Tun.open({ name, netns: ns, addrs: ['10.0.4.1/24', 'fd00:4::1/64'], mtu: 1500 });
  const slirp = new Stack({
    addr: '10.0.4.2/24',
    addr6: 'fd00:4::2/64',
    hostLoopback: true,
    icmp: { open: (family, o) => IcmpEchoSocket.open(family, { ...o, netns: egress }) },
  });
  const cleanup = slirp.connectL3(tun) as () => void;
  execFileSync('ip', ['-n', ns, 'route', 'add', 'default', 'via', '10.0.4.2', 'dev', name]);
  execFileSync('ip', ['-n', ns, '-6', 'route', 'add', 'default', 'via', 'fd00:4::2', 'dev', name]);
  try {
    for (let i = 0; i < 50; i++) {
      const a = await inNs(ns, ['ip', '-6', 'addr', 'show', 'dev', name]);
      if (!a.out.includes('tentative')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const [args, what] of [
      [['-c', '3', '-i', '0.2', '-W', '2', '-s', '200', '10.0.4.2'], 'the gateway, hostLoopback: 127.0.0.1'],
      [['-c', '3', '-i', '0.2', '-W', '2', '203.0.113.7'], 'another address'],
      [['-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd00:4::2'], 'the gateway over IPv6, hostLoopback: ::1'],
    ] as const) {
      const r = await inNs(ns, ['ping', ...args]);
      t.is(r.code, 0, `ping ${what}: ${r.out}${r.err}`);
      t.regex(r.out, /3 received/, what);
      t.log(`ping ${what}: ${/rtt [^\n]*/.exec(r.out)?.[0] ?? r.out}`);
    }
    const st = slirp.stats();
    t.is(st.echoForwarded, 9, 'every echo went through an ICMP socket');
    t.is(st.echoReplies, 9);
    t.is(st.echoSockets, 2);
  } finally {
    cleanup();
    await slirp.close();
    await tun.close();
  }
  const end = performance.now() + 2000;
  while (fdCount() > fds && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  t.true(fdCount() <= fds, `every descriptor closed (${fdCount()} open, ${fds} before)`);
});
