/**
 * TUN (pktkit/tuntap, native addon; needs root and iproute2): a TUN interface inside a network
 * namespace of its own, whose kernel pings an address that only pktkit answers. The descriptor
 * stays in this process; the interface lives in the namespace and goes away with it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { Tun } from 'pktkit/tuntap';
import { IpProto, WireStatus, checksumUpdate16, parseIPv4 } from 'pktkit';
import { Icmpv4Type, Icmpv4View, Ipv4View } from 'pktkit/wire';

const ns = `pktkit-example-${process.pid}`;
execFileSync('ip', ['netns', 'add', ns]);
try {
  const tun = await Tun.open({ name: 'pk0', netns: ns, addrs: ['10.0.9.1/24'] });
  const ours = parseIPv4('10.0.9.2');
  const ip = new Ipv4View(); // views reused for every packet: nothing allocated per packet
  const icmp = new Icmpv4View();
  let answered = 0;
  tun.setHandler((p) => {
    // An echo request to 10.0.9.2 becomes its reply in place and goes back to the kernel.
    if (ip.reset(p, 0, p.length).check() !== WireStatus.Ok || ip.protocol !== IpProto.ICMP || ip.dst !== ours) return;
    if (icmp.reset(p, ip.payloadOff, ip.payloadLen).check() !== WireStatus.Ok || icmp.type !== Icmpv4Type.Echo) return;
    ip.dst = ip.src;
    ip.src = ours; // swapping the two addresses leaves the IPv4 checksum as it was
    icmp.checksum = checksumUpdate16(icmp.checksum, Icmpv4Type.Echo << 8, Icmpv4Type.EchoReply << 8);
    icmp.type = Icmpv4Type.EchoReply;
    tun.send(p);
    answered++;
  });
  // ping runs in a child process, so this thread's event loop keeps answering meanwhile.
  const { stdout: out } = await promisify(execFile)('ip', ['netns', 'exec', ns, 'ping', '-c', '5', '-i', '0.2', '-q', '10.0.9.2']);
  console.log(out.trim().split('\n').at(-2));
  console.log(`pktkit answered ${answered} echo requests on ${tun.name}; stats: rx ${tun.stats().rxFrames}, tx ${tun.stats().txFrames}`);
  await tun.close();
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
