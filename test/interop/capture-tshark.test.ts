/**
 * Real-peer test of src/capture: files written by CaptureFile are read back by Wireshark's own
 * readers (tshark and capinfos, 4.0 here), and what they decode is checked field by field:
 * interface names and link types, addresses, ports, TCP flags, the epb_flags direction
 * (tshark's frame.packet_flags_direction), timestamps, a truncated packet's lengths, and that
 * the Interface Statistics Blocks parse.
 *
 * Requires tshark (which brings capinfos): `apt-get install tshark`. A missing tool fails the
 * test with that instruction; it never skips.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureFile } from '../../src/capture/index.js';
import { fromHex } from '../helpers/bytes.js';
import { StepClock, ethForIp, pipeL2, pipeL3 } from '../helpers/capture-doubles.js';
import { KERNEL_IPV4_TCP_SYN, KERNEL_IPV4_UDP, KERNEL_IPV6_TCP_SYN, KERNEL_IPV6_UDP } from '../vectors/kernel-tun.js';

const MAC_VM = 0x52_54_00_12_34_56; // the device behind the tapped port
const MAC_GW = 0x02_00_00_00_00_01; // the network side
/** 2023-11-14T22:13:20.123456 UTC (the 0.7 µs tail is floored). */
const T0_MS = 1_700_000_000_123.4567;

let dir = '';
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pktkit-tshark-'));
});
test.after.always(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** Runs a Wireshark tool and returns its stdout; a missing tool or a failure throws, failing the test. */
function run(t: ExecutionContext, tool: 'tshark' | 'capinfos', args: string[]): string {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error !== undefined) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      const brings = tool === 'tshark' ? '' : ` (it brings ${tool})`;
      throw new Error(`${tool} is not installed: run \`apt-get install tshark\`${brings} to run the capture interop tests`);
    }
    throw r.error;
  }
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited with ${String(r.status)}: ${r.stderr}`);
  t.log(`${tool} ${args.join(' ')}`);
  return r.stdout;
}

const FIELDS = [
  'frame.interface_name',
  'frame.packet_flags_direction',
  'eth.src',
  'eth.dst',
  'ip.src',
  'ipv6.src',
  'udp.dstport',
  'tcp.dstport',
  'tcp.flags.syn',
  'frame.len',
  'frame.cap_len',
  'frame.time_epoch',
] as const;

/** `tshark -T fields` rows as objects keyed by field name. */
function fields(t: ExecutionContext, file: string): Record<(typeof FIELDS)[number], string>[] {
  const args = ['-r', file, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=f'];
  for (const f of FIELDS) args.push('-e', f);
  return run(t, 'tshark', args)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const cols = line.split('|');
      return Object.fromEntries(FIELDS.map((f, i) => [f, cols[i] ?? ''])) as Record<(typeof FIELDS)[number], string>;
    });
}

test('tshark decodes a pcapng with an Ethernet and a raw-IP interface: names, directions, addresses, ports, truncation', async (t) => {
  const tsharkVersion = run(t, 'tshark', ['--version']).split('\n')[0]!;
  t.log(tsharkVersion);
  const path = join(dir, 'two-interfaces.pcapng');
  const cap = await CaptureFile.open(path, { snaplen: 128, clock: new StepClock(T0_MS, 0.5), flushIntervalMs: 0 });
  const [vm, net] = pipeL2(MAC_VM, MAC_GW);
  const port = cap.tapL2(vm, 'hub-port-0');
  const [tun, peer] = pipeL3();
  const tunTapped = cap.tapL3(tun, 'tun0');
  port.setHandler(() => {});
  net.setHandler(() => {});
  tunTapped.setHandler(() => {});
  peer.setHandler(() => {});

  port.send(ethForIp(MAC_VM, MAC_GW, fromHex(KERNEL_IPV4_UDP))); // into the VM: inbound
  net.send(ethForIp(MAC_GW, MAC_VM, fromHex(KERNEL_IPV6_TCP_SYN))); // from the VM: outbound
  const jumbo = new Uint8Array(300); // an IPv4 UDP frame with a long trailer: stored as 128 bytes
  jumbo.set(ethForIp(MAC_VM, MAC_GW, fromHex(KERNEL_IPV4_UDP)));
  port.send(jumbo);
  tunTapped.send(fromHex(KERNEL_IPV4_TCP_SYN));
  peer.send(fromHex(KERNEL_IPV6_UDP));
  await cap.close();

  // A plain read must succeed (no "appears to be damaged or corrupt").
  const summary = run(t, 'tshark', ['-r', path]);
  t.is(summary.trim().split('\n').length, 5, summary);

  const rows = fields(t, path);
  t.deepEqual(rows, [
    {
      'frame.interface_name': 'hub-port-0',
      'frame.packet_flags_direction': '0x00000001', // inbound
      'eth.src': '02:00:00:00:00:01',
      'eth.dst': '52:54:00:12:34:56',
      'ip.src': '10.99.0.1',
      'ipv6.src': '',
      'udp.dstport': '53',
      'tcp.dstport': '',
      'tcp.flags.syn': '',
      'frame.len': '62',
      'frame.cap_len': '62',
      'frame.time_epoch': '1700000000.124456000', // two clock reads went to the two interfaces
    },
    {
      'frame.interface_name': 'hub-port-0',
      'frame.packet_flags_direction': '0x00000002', // outbound
      'eth.src': '52:54:00:12:34:56',
      'eth.dst': '02:00:00:00:00:01',
      'ip.src': '',
      'ipv6.src': 'fd99::1',
      'udp.dstport': '',
      'tcp.dstport': '80',
      'tcp.flags.syn': '1',
      'frame.len': '94',
      'frame.cap_len': '94',
      'frame.time_epoch': '1700000000.124956000',
    },
    {
      'frame.interface_name': 'hub-port-0',
      'frame.packet_flags_direction': '0x00000001',
      'eth.src': '02:00:00:00:00:01',
      'eth.dst': '52:54:00:12:34:56',
      'ip.src': '10.99.0.1',
      'ipv6.src': '',
      'udp.dstport': '53',
      'tcp.dstport': '',
      'tcp.flags.syn': '',
      'frame.len': '300', // original length
      'frame.cap_len': '128', // snaplen
      'frame.time_epoch': '1700000000.125456000',
    },
    {
      'frame.interface_name': 'tun0',
      'frame.packet_flags_direction': '0x00000001',
      'eth.src': '',
      'eth.dst': '',
      'ip.src': '10.99.0.1',
      'ipv6.src': '',
      'udp.dstport': '',
      'tcp.dstport': '80',
      'tcp.flags.syn': '1',
      'frame.len': '60',
      'frame.cap_len': '60',
      'frame.time_epoch': '1700000000.125956000',
    },
    {
      'frame.interface_name': 'tun0',
      'frame.packet_flags_direction': '0x00000002',
      'eth.src': '',
      'eth.dst': '',
      'ip.src': '',
      'ipv6.src': 'fd99::1',
      'udp.dstport': '53',
      'tcp.dstport': '',
      'tcp.flags.syn': '',
      'frame.len': '68',
      'frame.cap_len': '68',
      'frame.time_epoch': '1700000000.126456000',
    },
  ]);

  // capinfos reads the metadata: application, interfaces, link types, resolution, and one
  // Interface Statistics Block per interface.
  const info = run(t, 'capinfos', ['-I', '-F', '-c', path]);
  t.regex(info, /Capture application:\s+pktkit/);
  t.regex(info, /Number of packets:\s+5/);
  t.regex(info, /Number of interfaces in file: 2/);
  t.regex(info, /Interface #0 info:\s+Name = hub-port-0\s+Encapsulation = Ethernet \(1 - ether\)\s+Capture length = 128\s+Time precision = microseconds \(6\)/);
  t.regex(info, /Interface #1 info:\s+Name = tun0\s+Encapsulation = Raw IP \(7 - rawip\)\s+Capture length = 128/);
  t.is(info.match(/Number of stat entries = 1/g)?.length, 2, info);
});

test('tshark decodes a classic pcap of raw IP packets (IPv4 and IPv6) with a truncated one', async (t) => {
  const path = join(dir, 'raw.pcap');
  const cap = await CaptureFile.open(path, { format: 'pcap', snaplen: 64, clock: new StepClock(T0_MS, 1), flushIntervalMs: 0 });
  const [a, b] = pipeL3();
  const ta = cap.tapL3(a, 'tun0');
  ta.setHandler(() => {});
  b.setHandler(() => {});
  ta.send(fromHex(KERNEL_IPV4_UDP));
  b.send(fromHex(KERNEL_IPV6_TCP_SYN)); // 80 bytes: stored as 64
  await cap.close();

  const info = run(t, 'capinfos', ['-t', '-E', '-l', '-c', path]);
  t.regex(info, /File type:\s+Wireshark\/tcpdump\/\.\.\. - pcap/);
  t.regex(info, /File encapsulation:\s+Raw IP/);
  t.regex(info, /Packet size limit:\s+file hdr: 64 bytes/);
  t.regex(info, /Number of packets:\s+2/);

  const rows = fields(t, path);
  t.deepEqual(
    rows.map((r) => [r['frame.interface_name'], r['ip.src'], r['ipv6.src'], r['udp.dstport'], r['tcp.dstport'], r['tcp.flags.syn'], r['frame.len'], r['frame.cap_len'], r['frame.time_epoch']]),
    [
      ['', '10.99.0.1', '', '53', '', '', '48', '48', '1700000000.124456000'],
      ['', '', 'fd99::1', '', '80', '1', '80', '64', '1700000000.125456000'],
    ],
  );
});
