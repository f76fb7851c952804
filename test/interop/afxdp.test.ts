/**
 * Real-peer tests of pktkit/afxdp on a veth pair: our end in this process's namespace (an AF_XDP
 * socket needs the interface in its own namespace), the other end in a namespace of its own
 * where the Linux kernel and a raw AF_PACKET socket (a python3 stand-in) are the peers. Frames
 * injected there must reach our handler; frames we send must be seen there; the kernel must
 * learn our MAC by ARP through our tx ring and send us its UDP datagram; every mode and way of
 * attaching must work; close must detach the program (`ip -d link show` has no xdp) and leave
 * no descriptor; a BPF link must vanish with a killed process where a netlink attachment stays.
 *
 * Needs root, iproute2 and python3 (`apt-get install iproute2 python3`); a missing tool fails
 * the test with that instruction, never skips. Each test makes its own namespace and veth pair
 * (unique names) and deletes them at teardown whatever happened.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { AfXdpDevice, type AfXdpOptions } from '../../src/afxdp/index.js';
import { PktError } from '../../src/errors.js';
import { formatMac, parseIPv4 } from '../../src/wire/addr.js';
import { ARP_OP_REPLY, ARP_OP_REQUEST, ArpView, emitArp, newArpFields, parseArp } from '../../src/wire/arp.js';
import { ETH_HEADER_LEN, ETH_MIN_FRAME_LEN, EtherType, EthernetView, emitEthernet, newEthernetFields } from '../../src/wire/ethernet.js';
import { WireStatus } from '../../src/wire/status.js';

/** Local experimental EtherTypes (IEEE 802): one per direction, so nothing else is counted. */
const TYPE_IN = 0x88b5;
const TYPE_OUT = 0x88b6;
let seq = 0;

const INJECT = `
import socket, struct, sys
ifn, n, et, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 16), int(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifn, 0))
src = bytes.fromhex('020000000001')
for i in range(n):
    body = struct.pack('!I', i) + bytes((i + k) & 255 for k in range(size - 18))
    s.send(b'\\xff' * 6 + src + struct.pack('!H', et) + body)
print('sent', n, flush=True)
`;

const SNIFF = `
import socket, struct, sys, time
ifn, et, n, tmo = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(et))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((ifn, 0))
s.settimeout(0.2)
print('ready', flush=True)
seqs, end = [], time.time() + tmo
while len(seqs) < n and time.time() < end:
    try:
        f = s.recv(65535)
    except socket.timeout:
        continue
    seqs.append(struct.unpack('!I', f[14:18])[0])
print(' '.join(map(str, seqs)), flush=True)
`;

function missing(tool: string, pkg: string): Error {
  return new Error(`${tool} is not installed: run \`apt-get install ${pkg}\` to run the AF_XDP interop tests`);
}

function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing('ip', 'iproute2');
    throw err;
  }
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

interface Veth {
  ns: string;
  /** Our end, in this namespace. */
  host: string;
  /** The far end, in `ns`. */
  peer: string;
  /** A number unique to this pair (for addresses). */
  id: number;
}

/** A veth pair, its far end in a fresh namespace, IPv6 off on both (no stray frames); deleted at teardown. */
async function veth(t: ExecutionContext): Promise<Veth> {
  const id = ++seq;
  const tag = `${(process.pid % 46656).toString(36)}${id.toString(36)}`;
  const v: Veth = { ns: `pkxsk-${process.pid}-${id}`, host: `pkx${tag}b`, peer: `pkx${tag}a`, id };
  ip(['netns', 'add', v.ns]);
  t.teardown(() => {
    try {
      execFileSync('ip', ['netns', 'del', v.ns]); // deletes the pair: a veth end goes with its peer
    } catch {
      // already gone
    }
    try {
      execFileSync('ip', ['link', 'del', v.host], { stdio: 'ignore' });
    } catch {
      // gone with the namespace, as expected
    }
  });
  ip(['link', 'add', v.host, 'type', 'veth', 'peer', 'name', v.peer, 'netns', v.ns]);
  await writeFile(`/proc/sys/net/ipv6/conf/${v.host}/disable_ipv6`, '1');
  ip(['netns', 'exec', v.ns, 'sh', '-c', `echo 1 > /proc/sys/net/ipv6/conf/${v.peer}/disable_ipv6`]);
  ip(['link', 'set', v.host, 'up']);
  ip(['-n', v.ns, 'link', 'set', 'lo', 'up']);
  ip(['-n', v.ns, 'link', 'set', v.peer, 'up']);
  return v;
}

/**
 * What `ip -d link show` says of XDP on our end: the link's mode flag (`xdp`, `xdpgeneric`) and
 * its `prog/xdp id N name ...` line, or '' when no program is attached.
 */
function xdpLine(v: Veth): string {
  const out = ip(['-d', 'link', 'show', v.host]);
  const flag = / (xdp|xdpgeneric|xdpdrv|xdpoffload|xdpmulti) /.exec(out);
  const prog = /prog\/xdp id \d+ name \S+/.exec(out);
  return [flag?.[1] ?? '', prog?.[0] ?? ''].filter((x) => x !== '').join(' ');
}

/** Runs a python3 stand-in inside the namespace; resolves with its output when it exits. */
function python(v: Veth, script: string, args: (string | number)[], onLine?: (line: string) => void): Promise<string> {
  const p = spawn('ip', ['netns', 'exec', v.ns, 'python3', '-c', script, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (onLine !== undefined) for (const l of d.split('\n')) if (l !== '') onLine(l);
  });
  p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    p.once('error', (e) => reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? missing('ip', 'iproute2') : e));
    p.once('exit', (code) => {
      if (code === 0) resolve(out);
      else reject(/python3: (not found|No such file)|No such file or directory/.test(err) ? missing('python3', 'python3') : new Error(`python3 stand-in exited with ${String(code)}: ${err}`));
    });
  });
}

function open(t: ExecutionContext, opts: AfXdpOptions): AfXdpDevice {
  const d = AfXdpDevice.open(opts);
  t.teardown(() => d.close());
  return d;
}

/** Sequence numbers of our test frames (EtherType TYPE_IN) reaching `dev`'s handler. */
function collect(dev: AfXdpDevice): number[] {
  const seqs: number[] = [];
  const eth = new EthernetView();
  dev.setHandler((f) => {
    eth.reset(f);
    if (eth.check() !== WireStatus.Ok || eth.etherType !== TYPE_IN) return;
    seqs.push(((f[14]! << 24) | (f[15]! << 16) | (f[16]! << 8) | f[17]!) >>> 0);
  });
  return seqs;
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
}

function outFrame(i: number, len: number, src: number): Uint8Array {
  const f = new Uint8Array(len);
  const e = newEthernetFields();
  e.dst = 0xffff_ffff_ffff;
  e.src = src;
  e.etherType = TYPE_OUT;
  emitEthernet(e, f, 0);
  f[14] = i >>> 24;
  f[15] = (i >>> 16) & 0xff;
  f[16] = (i >>> 8) & 0xff;
  f[17] = i & 0xff;
  for (let k = 18; k < len; k++) f[k] = (i + k) & 0xff;
  return f;
}

const roundTrip = test.macro({
  async exec(t, mode: 'auto' | 'native' | 'generic', attach: 'auto' | 'link' | 'netlink', frames: number) {
    const v = await veth(t);
    const fds = fdCount();
    const dev = open(t, { ifname: v.host, mode, attach });
    const info = dev.info;
    t.log(`${v.host}: ${info.mode} XDP through a ${info.attach}, zero-copy ${String(info.zeroCopy)}, program ${info.progId}`);
    t.is(info.mode, mode === 'auto' ? 'native' : mode, 'veth has native XDP: auto picks it');
    t.is(info.attach, attach === 'auto' ? 'link' : attach, 'auto prefers a BPF link');
    t.false(info.zeroCopy, 'veth has no zero-copy: copy mode');
    t.true(info.progId > 0);
    t.is(xdpLine(v), `${info.mode === 'native' ? 'xdp' : 'xdpgeneric'} prog/xdp id ${info.progId} name pktkit_xsk`);

    // In: frames injected at the far end reach the handler, in order, each once.
    const seqs = collect(dev);
    const loop = dev.start();
    await python(v, INJECT, [v.peer, frames, TYPE_IN.toString(16), 100]);
    await until(() => seqs.length >= frames, 5000);
    t.deepEqual(seqs, Array.from({ length: frames }, (_, i) => i));

    // Out: frames we send are seen at the far end, in order, each once.
    let ready: () => void = () => {};
    const isReady = new Promise<void>((r) => (ready = r));
    const sniffed = python(v, SNIFF, [v.peer, TYPE_OUT.toString(16), frames, 5], (l) => l === 'ready' && ready());
    await isReady;
    for (let i = 0; i < frames; i++) {
      dev.send(outFrame(i, 60 + (i % 200), dev.hwAddr));
      if (i % 64 === 63) await new Promise((r) => setImmediate(r)); // let the peer keep up
    }
    const out = (await sniffed).trim().split('\n').pop()!; // after its 'ready' line
    t.deepEqual(out === 'ready' ? [] : out.split(' ').map(Number), Array.from({ length: frames }, (_, i) => i));
    const s = dev.stats();
    t.true(s.rxFrames >= frames);
    t.is(s.txFrames, frames);
    t.is(s.txDropNoFrame + s.txDropTooBig + s.txDropClosed, 0);

    await dev.close();
    await loop;
    t.is(xdpLine(v), '', 'close detached the program');
    t.is(fdCount(), fds, 'close left no descriptor');
  },
  title: (_ = '', mode: string, attach: string, frames: number) => `${mode} XDP, attached by ${attach}: ${frames} frames each way between our socket and a raw socket at the far end`,
});

test.serial(roundTrip, 'auto', 'auto', 1000);
test.serial(roundTrip, 'native', 'netlink', 300);
test.serial(roundTrip, 'generic', 'link', 300);
test.serial(roundTrip, 'generic', 'netlink', 300);

test.serial('the kernel at the far end learns our MAC by ARP through our tx ring, then sends us its UDP datagram', async (t) => {
  const v = await veth(t);
  const peerIp = `10.77.${v.id}.1`;
  const ourIp = parseIPv4(`10.77.${v.id}.2`);
  ip(['-n', v.ns, 'addr', 'add', `${peerIp}/24`, 'dev', v.peer]);
  const dev = open(t, { ifname: v.host });
  const eth = new EthernetView();
  const arp = new ArpView();
  const req = newArpFields();
  const reply = new Uint8Array(ETH_MIN_FRAME_LEN);
  let arpRequests = 0;
  let payload = '';
  dev.setHandler((f) => {
    eth.reset(f);
    if (eth.check() !== WireStatus.Ok) return;
    if (eth.etherType === EtherType.ARP && parseArp(arp.reset(f, ETH_HEADER_LEN), req) === WireStatus.Ok && req.op === ARP_OP_REQUEST && req.targetIp === ourIp) {
      arpRequests++;
      const e = newEthernetFields();
      e.dst = req.senderMac;
      e.src = dev.hwAddr;
      e.etherType = EtherType.ARP;
      emitEthernet(e, reply, 0);
      emitArp({ op: ARP_OP_REPLY, senderMac: dev.hwAddr, senderIp: ourIp, targetMac: req.senderMac, targetIp: req.senderIp }, reply, ETH_HEADER_LEN);
      dev.send(reply);
    } else if (eth.etherType === EtherType.IPv4 && f[23] === 17) {
      const ihl = (f[14]! & 0x0f) * 4;
      const udp = 14 + ihl;
      if (((f[udp + 2]! << 8) | f[udp + 3]!) === 5000) payload = Buffer.from(f.subarray(udp + 8)).toString();
    }
  });
  const loop = dev.start();
  await python(v, `import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'pktkit-afxdp', ('10.77.${v.id}.2', 5000))`, []);
  await until(() => payload !== '', 5000);
  t.true(arpRequests >= 1, 'the kernel asked for our MAC');
  t.is(payload, 'pktkit-afxdp');
  const neigh = ip(['-n', v.ns, 'neigh', 'show', `10.77.${v.id}.2`]);
  t.regex(neigh, new RegExp(`lladdr ${formatMac(dev.hwAddr)}`), `the kernel's neighbour table has our MAC: ${neigh.trim()}`);
  await dev.close();
  await loop;
});

test.serial('zero-copy required on veth fails with the kernel reason and leaves nothing behind', async (t) => {
  const v = await veth(t);
  const fds = fdCount();
  const e = t.throws(() => open(t, { ifname: v.host, zeroCopy: 'require' }), { instanceOf: PktError });
  t.is(e?.code, 'ERR_PKT_IO');
  t.regex(e?.message ?? '', /zero-copy .*bind: Operation not supported/);
  t.log(e?.message);
  t.is(xdpLine(v), '');
  t.is(fdCount(), fds);
  // zeroCopy 'auto' falls back to copy mode on the same interface.
  const dev = open(t, { ifname: v.host });
  t.false(dev.info.zeroCopy);
  dev.close();
  t.is(xdpLine(v), '');
  t.is(fdCount(), fds);
});

test.serial('one socket per queue, and a queue bound twice is refused', async (t) => {
  const v = await veth(t);
  const a = open(t, { ifname: v.host });
  const e = t.throws(() => open(t, { ifname: v.host }), { instanceOf: PktError });
  t.regex(e?.message ?? '', /queue 0 of .* already has an AF_XDP socket in this process/);
  t.not(xdpLine(v), '', 'the first socket keeps its program');
  a.close();
  t.is(xdpLine(v), '');
  const b = open(t, { ifname: v.host, attach: 'netlink' });
  t.is(b.info.attach, 'netlink', 'reopened after close');
  b.close();
  t.is(xdpLine(v), '');
});

/** Opens a device in a child process, which is then killed with SIGKILL (no close, no finalizer). */
async function killedHolder(v: Veth, attach: 'link' | 'netlink'): Promise<void> {
  const mod = new URL('../../src/afxdp/index.js', import.meta.url).href;
  const code = `const { AfXdpDevice } = await import(${JSON.stringify(mod)});
    AfXdpDevice.open({ ifname: ${JSON.stringify(v.host)}, attach: ${JSON.stringify(attach)} });
    console.log('open'); setInterval(() => {}, 1000);`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    p.stdout.setEncoding('utf8').on('data', (d: string) => d.includes('open') && resolve());
    p.once('exit', (c) => reject(new Error(`the holder exited (${String(c)}) before opening`)));
  });
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

test.serial('a killed process: its BPF link detaches by itself, a netlink attachment stays and is refused with a hint', async (t) => {
  const v = await veth(t);
  await killedHolder(v, 'link');
  await until(() => xdpLine(v) === '', 2000); // the kernel releases the link when the process's files close
  t.is(xdpLine(v), '', 'the BPF link went with the process');

  await killedHolder(v, 'netlink');
  t.regex(xdpLine(v), /^xdp prog\/xdp id \d+ name pktkit_xsk$/, 'a netlink attachment outlives its process');
  const e = t.throws(() => open(t, { ifname: v.host }), { instanceOf: PktError });
  t.regex(e?.message ?? '', /already has an XDP program .*xdp off/);
  t.log(e?.message);
  ip(['link', 'set', 'dev', v.host, 'xdp', 'off']);
  const dev = open(t, { ifname: v.host });
  t.is(dev.info.attach, 'link');
  dev.close();
  t.is(xdpLine(v), '');
});
