/**
 * Real-peer tests of the virtual LAN: the L2Adapter, its ARP and NDP, the DHCP server and the
 * DHCP client, each with the Linux kernel or a real DHCP program on the other side of a TAP
 * that lives in a network namespace of its own (the descriptor stays in this process).
 *
 *   - the kernel pings an address behind our L2Adapter over IPv4 and IPv6: it resolves us by
 *     ARP and by neighbour solicitation, and we resolve it the same way to answer;
 *   - our DHCPServer leases addresses to udhcpc and to dhclient (INTEROP.md §3, with private
 *     hook scripts so that nothing touches /etc/resolv.conf);
 *   - our DHCP client gets a lease from dnsmasq, reaches the kernel through it, and releases it.
 *
 * Needs root, iproute2, ping, udhcpc, dhclient and dnsmasq (`.ci/run` installs them); a missing
 * program fails the test with the package to install. Every test deletes its namespace and
 * children, and checks that no descriptor is left.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectL2 } from '../../src/core/connect.js';
import { PipeL3 } from '../../src/core/pipe.js';
import { createDhcpClient, DHCPServer } from '../../src/dhcp/index.js';
import { L2Adapter } from '../../src/l2/index.js';
import { Tap } from '../../src/tuntap/index.js';
import { formatIPv4, parseIPv4 } from '../../src/wire/addr.js';
import { checksumUpdate16 } from '../../src/wire/checksum.js';
import { Icmpv6Type } from '../../src/wire/icmpv6.js';
import { IpProto } from '../../src/wire/ipv4.js';
import { Ipv6View } from '../../src/wire/ipv6.js';
import { WireStatus } from '../../src/wire/status.js';
import { EchoResponder } from '../helpers/icmp-echo.js';

const execFileAsync = promisify(execFile);
let seq = 0;

const PACKAGES: Record<string, string> = { ip: 'iproute2', ping: 'iputils-ping', udhcpc: 'udhcpc', dhclient: 'isc-dhcp-client', dnsmasq: 'dnsmasq-base' };

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

async function settleFds(before: number, ms = 2000): Promise<number> {
  const end = performance.now() + ms;
  while (fdCount() > before && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  return fdCount();
}

/** Runs a program to completion without blocking the event loop (our devices answer on it). */
async function sh(t: ExecutionContext, cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  try {
    const r = await execFileAsync(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 22 });
    return r.stdout + r.stderr;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    const prog = cmd === 'ip' && args[0] === 'netns' && args[1] === 'exec' ? args[3]! : cmd;
    if (e.code === 'ENOENT' || /No such file|not found/.test(e.stderr ?? '')) {
      throw new Error(`${prog} is not installed: run \`apt-get install ${PACKAGES[prog] ?? prog}\` to run these tests`);
    }
    t.log(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    throw err;
  }
}

/** A fresh namespace with lo up and IPv6 DAD off on new links, deleted at teardown. */
function netns(t: ExecutionContext, tag: string): string {
  const name = `pk-${tag}-${process.pid}-${++seq}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.teardown(() => {
    try {
      execFileSync('ip', ['netns', 'del', name]);
    } catch {
      // already gone
    }
  });
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
  return name;
}

function ifname(tag: string): string {
  return `pk${tag}${(process.pid % 10000).toString(36)}${(++seq).toString(36)}`.slice(0, 15);
}

function scratch(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'pktkit-dhcp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function script(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  chmodSync(p, 0o755);
  return p;
}

/** Kills a child at teardown and waits for it. */
function reap(t: ExecutionContext, child: ChildProcess): void {
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
  });
}

/** Turns an ICMPv6 echo request to `ours` into its reply in place; true when it did. */
function answerV6(p: Uint8Array, ip6: Ipv6View, ours: Uint8Array): boolean {
  if (ip6.reset(p, 0, p.length).check() !== WireStatus.Ok || ip6.upperProtocol !== IpProto.ICMPv6) return false;
  const off = ip6.upperOff;
  if (p.length < off + 8 || p[off] !== Icmpv6Type.EchoRequest) return false;
  for (let i = 0; i < 16; i++) if (p[24 + i] !== ours[i]) return false;
  // Swap the addresses (the pseudo-header sum is unchanged), then the type, adjusting the checksum.
  for (let i = 0; i < 16; i++) {
    const a = p[8 + i]!;
    p[8 + i] = p[24 + i]!;
    p[24 + i] = a;
  }
  const old = (p[off + 2]! << 8) | p[off + 3]!;
  const sum = checksumUpdate16(old, (Icmpv6Type.EchoRequest << 8) | p[off + 1]!, (Icmpv6Type.EchoReply << 8) | p[off + 1]!);
  p[off] = Icmpv6Type.EchoReply;
  p[off + 2] = sum >>> 8;
  p[off + 3] = sum & 0xff;
  p[7] = 64;
  return true;
}

test.serial('the kernel resolves our L2Adapter by ARP and by neighbour solicitation, and we resolve it to answer its pings', async (t) => {
  const ns = netns(t, 'l2');
  const fds = fdCount();
  const tap = await Tap.open({ name: ifname('a'), netns: ns, addrs: ['10.0.4.1/24', 'fd00:4::1/64'] });
  t.teardown(() => tap.close());

  const echo4 = new EchoResponder();
  const ours4 = parseIPv4('10.0.4.2');
  const ours6 = new Uint8Array([0xfd, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
  const ip6 = new Ipv6View();
  let answered6 = 0;
  const host: PipeL3 = new PipeL3('10.0.4.2/24', (p) => {
    if (echo4.answer(p, ours4) || (answerV6(p, ip6, ours6) && ++answered6 > 0)) host.inject(p);
  });
  const adapter = new L2Adapter(host);
  adapter.addAddr('fd00:4::2/64');
  t.teardown(() => adapter.close());
  connectL2(tap, adapter);

  const out4 = await sh(t, 'ip', ['netns', 'exec', ns, 'ping', '-c', '20', '-i', '0.05', '-W', '2', '10.0.4.2']);
  t.regex(out4, /20 packets transmitted, 20 received/);
  const out6 = await sh(t, 'ip', ['netns', 'exec', ns, 'ping', '-6', '-c', '20', '-i', '0.05', '-W', '2', 'fd00:4::2']);
  t.regex(out6, /20 packets transmitted, 20 received/);
  t.is(echo4.answered, 20);
  t.is(answered6, 20);

  // The kernel learned our MAC both ways, and we hold the kernel's.
  const neigh = await sh(t, 'ip', ['-n', ns, 'neigh', 'show', 'dev', tap.name]);
  const mac = adapter.hwAddr.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
  t.regex(neigh, new RegExp(`10\\.0\\.4\\.2 lladdr ${mac}`));
  t.regex(neigh, new RegExp(`fd00:4::2 lladdr ${mac}`));
  const ours = adapter.neighbors().map((n) => n.addr.toString());
  t.true(ours.includes('10.0.4.1'), `the adapter's cache: ${ours.join(', ')}`);
  t.true(ours.includes('fd00:4::1'), `the adapter's cache: ${ours.join(', ')}`);

  await adapter.close();
  await tap.close();
  t.is(await settleFds(fds), fds, 'every descriptor closed');
});

test.serial('our DHCPServer leases to udhcpc (which renews by unicast and releases) and to dhclient', async (t) => {
  const ns = netns(t, 'dhs');
  const dir = scratch(t);
  const fds = fdCount();
  const tap = await Tap.open({ name: ifname('s'), netns: ns });
  t.teardown(() => tap.close());
  const server = new DHCPServer({ serverIp: '10.0.5.1', prefixLen: 24, rangeStart: '10.0.5.100', rangeEnd: '10.0.5.110', router: '10.0.5.1', leaseSecs: 600 });
  t.teardown(() => server.close());
  connectL2(tap, server);
  const log = join(dir, 'hook.log');

  const udhcpcScript = script(
    dir,
    'udhcpc.script',
    `#!/bin/sh
case "$1" in
  deconfig) ip link set "$interface" up; ip -4 addr flush dev "$interface" ;;
  bound|renew) ip -4 addr flush dev "$interface"; ip addr add "$ip/\${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "\${router%% *}" dev "$interface"
    echo "udhcpc $1 ip=$ip mask=$mask router=$router lease=$lease serverid=$serverid" >> ${log} ;;
esac
exit 0
`,
  );
  // udhcpc stays in the foreground: bound, then renewed (SIGUSR1: a unicast REQUEST to the
  // server, which needs its ARP answer), then released (SIGUSR2).
  const udhcpc = spawn('ip', ['netns', 'exec', ns, 'udhcpc', '-f', '-i', tap.name, '-s', udhcpcScript, '-t', '5', '-T', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  reap(t, udhcpc);
  let ulog = '';
  udhcpc.stdout!.on('data', (b: Buffer) => (ulog += b.toString()));
  udhcpc.stderr!.on('data', (b: Buffer) => (ulog += b.toString()));
  const hook = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
  const waitFor = async (what: () => boolean, ms: number) => {
    const end = performance.now() + ms;
    while (!what() && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
    return what();
  };
  t.true(await waitFor(() => /udhcpc bound/.test(hook()), 10_000), `udhcpc bound (apt-get install udhcpc); it said:\n${ulog}`);
  t.regex(hook(), /udhcpc bound ip=10\.0\.5\.1(0[0-9]|10) mask=24 router=10\.0\.5\.1 lease=600 serverid=10\.0\.5\.1/);
  const addr1 = /inet (10\.0\.5\.\d+)\/24/.exec(await sh(t, 'ip', ['-n', ns, '-4', 'addr', 'show', 'dev', tap.name]))?.[1];
  t.truthy(addr1, 'udhcpc configured the leased address');
  t.regex(await sh(t, 'ip', ['-n', ns, 'route']), /default via 10\.0\.5\.1/);
  t.is(server.stats().leases, 1);
  // The server answers ARP for its own address (a renewal is unicast to it): the kernel learns its MAC.
  await execFileAsync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', '10.0.5.1']).catch(() => undefined); // no ICMP answer: only the ARP matters
  const serverMac = server.hwAddr.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
  t.regex(await sh(t, 'ip', ['-n', ns, 'neigh', 'show', '10.0.5.1']), new RegExp(`lladdr ${serverMac}`));

  udhcpc.kill('SIGUSR1'); // `ip netns exec` execs udhcpc: the child is udhcpc itself
  t.true(await waitFor(() => /udhcpc renew/.test(hook()), 5000), `udhcpc renewed; it said:\n${ulog}`);
  t.regex(hook(), new RegExp(`udhcpc renew ip=${addr1!.replace(/\./g, '\\.')} `), 'the renewal kept the address');
  t.regex(ulog, /sending renew to (server )?10\.0\.5\.1/);
  udhcpc.kill('SIGUSR2');
  t.true(await waitFor(() => (server.stats().rx['release'] ?? 0) >= 1, 5000), `the server got the RELEASE; udhcpc said:\n${ulog}\nserver: ${JSON.stringify(server.stats())}`);
  t.is(server.stats().leases, 0, 'the release freed the address');
  const gone = new Promise((r) => udhcpc.once('exit', r));
  udhcpc.kill('SIGTERM');
  await gone;

  // dhclient, as a second client on the same link (a second TAP would do as well; here the
  // kernel's address is flushed and dhclient asks again with its own client identity).
  await sh(t, 'ip', ['-n', ns, '-4', 'addr', 'flush', 'dev', tap.name]);
  const dhclientScript = script(
    dir,
    'dhclient.script',
    `#!/bin/sh
case "$reason" in
  PREINIT) ip link set "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT) ip -4 addr flush dev "$interface"; ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface"
    echo "dhclient $reason ip=$new_ip_address mask=$new_subnet_mask router=$new_routers" >> ${log} ;;
esac
exit 0
`,
  );
  const pid = join(dir, 'dhclient.pid');
  const dh = await sh(t, 'ip', ['netns', 'exec', ns, 'dhclient', '-v', '-1', '-sf', dhclientScript, '-lf', join(dir, 'dhclient.leases'), '-pf', pid, tap.name]);
  t.teardown(() => {
    if (existsSync(pid)) {
      try {
        process.kill(Number(readFileSync(pid, 'utf8').trim()), 'SIGTERM');
      } catch {
        // gone
      }
    }
  });
  t.log(dh.trim());
  t.regex(dh, /DHCPACK of 10\.0\.5\.1(0[0-9]|10) from 10\.0\.5\.1/);
  t.regex(readFileSync(log, 'utf8'), /dhclient BOUND ip=10\.0\.5\.1(0[0-9]|10) mask=255\.255\.255\.0 router=10\.0\.5\.1/);

  const s = server.stats();
  t.true((s.tx['offer'] ?? 0) >= 2 && (s.tx['ack'] ?? 0) >= 2, JSON.stringify(s));
  t.is(s.leases, 1, "dhclient's lease (udhcpc's was released)");
  await server.close();
  await tap.close();
  t.is(await settleFds(fds), fds, 'every descriptor closed');
});

test.serial('our DHCP client gets a lease from dnsmasq, reaches the kernel through the adapter, and releases the lease', async (t) => {
  const ns = netns(t, 'dhc');
  const dir = scratch(t);
  const fds = fdCount();
  const tap = await Tap.open({ name: ifname('c'), netns: ns, addrs: ['10.0.6.1/24'] });
  t.teardown(() => tap.close());
  const leases = join(dir, 'dnsmasq.leases');
  const dnsmasq = spawn('ip', [
    'netns', 'exec', ns, 'dnsmasq', '--keep-in-foreground', '--no-daemon', '--port=0', '--no-resolv', '--no-hosts',
    `--interface=${tap.name}`, '--bind-interfaces', '--dhcp-range=10.0.6.50,10.0.6.60,255.255.255.0,10m',
    '--dhcp-option=option:router,10.0.6.1', '--dhcp-option=option:dns-server,10.0.6.1', `--dhcp-leasefile=${leases}`,
    '--dhcp-authoritative', '--log-dhcp', `--pid-file=${join(dir, 'dnsmasq.pid')}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  reap(t, dnsmasq);
  let dlog = '';
  dnsmasq.stdout!.on('data', (b: Buffer) => (dlog += b.toString()));
  dnsmasq.stderr!.on('data', (b: Buffer) => (dlog += b.toString()));
  dnsmasq.once('error', (err) => t.fail(`dnsmasq: ${err.message}`));
  // dnsmasq is listening once it says so.
  const start = performance.now();
  while (!/DHCP, IP range/.test(dlog) && performance.now() - start < 5000) await new Promise((r) => setTimeout(r, 20));
  t.regex(dlog, /DHCP, IP range 10\.0\.6\.50 -- 10\.0\.6\.60/, 'dnsmasq started (apt-get install dnsmasq-base)');

  const echo4 = new EchoResponder();
  let replies = 0;
  const kernel = parseIPv4('10.0.6.1');
  const host: PipeL3 = new PipeL3(null, (p) => {
    // Echo replies from the kernel to our pings.
    if (p.length >= 28 && p[9] === IpProto.ICMP && p[20] === 0 && (p[12]! << 24 | p[13]! << 16 | p[14]! << 8 | p[15]!) >>> 0 === kernel) replies++;
    else if (echo4.answer(p)) host.inject(p);
  });
  const adapter = new L2Adapter(host, { dhcp: createDhcpClient({ hostname: 'pktkit-test' }) });
  t.teardown(() => adapter.close());
  connectL2(tap, adapter);
  const leased = new Promise<void>((resolve) => adapter.onLease((l) => l !== null && resolve()));
  adapter.startDHCP();
  await Promise.race([leased, new Promise((_, reject) => setTimeout(() => reject(new Error(`no lease in 15 s; dnsmasq said:\n${dlog}`)), 15_000))]);

  const lease = adapter.lease;
  t.truthy(lease);
  t.regex(lease!.toString(), /^10\.0\.6\.(5\d|60)\/24$/);
  t.is(host.addr?.toString(), lease!.toString(), 'the L3 device got the leased address');
  t.deepEqual(adapter.dnsServers.map(formatIPv4), ['10.0.6.1']);
  t.is(adapter.gateway4?.toString(), '10.0.6.1');
  const ourAddr = lease!.toString().split('/')[0]!;
  t.regex(readFileSync(leases, 'utf8'), new RegExp(`${ourAddr.replace(/\./g, '\\.')} pktkit-test`), 'dnsmasq recorded the lease with our hostname');

  // The kernel pings the leased address; we ping the kernel: ARP both ways.
  t.regex(await sh(t, 'ip', ['netns', 'exec', ns, 'ping', '-c', '5', '-i', '0.1', '-W', '2', ourAddr]), /5 packets transmitted, 5 received/);
  const { echoRequest } = await import('../helpers/icmp-echo.js');
  for (let i = 0; i < 5; i++) host.inject(echoRequest(parseIPv4(ourAddr), kernel, 0x77, i));
  const until = performance.now() + 3000;
  while (replies < 5 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.is(replies, 5, 'the kernel answered our pings (the first waited for ARP)');

  // Stopping sends a RELEASE: dnsmasq forgets the lease.
  adapter.stopDHCP();
  const released = performance.now() + 3000;
  while (/DHCPRELEASE/.test(dlog) === false && performance.now() < released) await new Promise((r) => setTimeout(r, 20));
  t.regex(dlog, /DHCPRELEASE\(\S+\) 10\.0\.6\.\d+/);
  t.is(host.addr, null, 'the address went with the lease');

  await adapter.close();
  await tap.close();
  const exited = new Promise((r) => dnsmasq.once('exit', r));
  dnsmasq.kill('SIGTERM');
  await exited;
  t.is(await settleFds(fds), fds, 'every descriptor closed');
});
