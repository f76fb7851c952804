/**
 * A virtual LAN (pktkit/l2, pktkit/dhcp): a switch, a DHCP server, and two hosts whose L3
 * devices sit behind L2Adapters that get their addresses by DHCP, resolve each other by ARP and
 * exchange a packet. All in one process, no root.
 */
import { DHCPServer, L2Adapter, L2Hub, PipeL3, checksum, createDhcpClient, formatIPv4 } from 'pktkit';

const hub = new L2Hub();
const server = new DHCPServer({
  serverIp: '10.0.0.1',
  prefixLen: 24,
  rangeStart: '10.0.0.100',
  rangeEnd: '10.0.0.199',
  router: '10.0.0.1',
  dns: ['10.0.0.1'],
  leaseSecs: 3600,
});
hub.connect(server);

function host(name: string): { ip: PipeL3; adapter: L2Adapter } {
  const ip = new PipeL3(null, (packet) => {
    if (packet[16] === 255) return; // broadcasts (the other host's DHCP DISCOVER) reach us too
    console.log(`${name} got a ${packet.length}-byte packet from ${formatIPv4((packet[12]! << 24 | packet[13]! << 16 | packet[14]! << 8 | packet[15]!) >>> 0)}`);
  });
  // probeTimeoutMs: how long the offered address is ARP-probed before it is taken (RFC 5227).
  const adapter = new L2Adapter(ip, { dhcp: createDhcpClient({ hostname: name }), probeTimeoutMs: 300 });
  hub.connect(adapter);
  return { ip, adapter };
}

const a = host('alpha');
const b = host('beta');
const leased = (h: { adapter: L2Adapter }) => new Promise<void>((resolve) => h.adapter.onLease((l) => l !== null && resolve()));
const both = Promise.all([leased(a), leased(b)]);
a.adapter.startDHCP();
b.adapter.startDHCP();
// pktkit's timers never keep the process alive; this timeout does, and bounds the wait.
let timer: NodeJS.Timeout | undefined;
await Promise.race([both, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no lease in 5 s')), 5000)))]);
clearTimeout(timer);
console.log(`alpha leased ${a.adapter.lease}, gateway ${a.adapter.gateway4}, DNS ${a.adapter.dnsServers.map(formatIPv4).join(', ')}`);
console.log(`beta leased ${b.adapter.lease}`);

// alpha sends beta a minimal IPv4 packet (a UDP header, no payload): the adapter ARPs for beta first.
const src = a.ip.addr!.addr.v4;
const dst = b.ip.addr!.addr.v4;
const p = new Uint8Array(28);
p.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17]);
for (let i = 0; i < 4; i++) {
  p[12 + i] = (src >>> (24 - 8 * i)) & 0xff;
  p[16 + i] = (dst >>> (24 - 8 * i)) & 0xff;
}
p.set([0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0], 20); // UDP 12345 -> 53, checksum 0 (none, over IPv4)
const sum = checksum(p, 0, 20);
p[10] = sum >>> 8;
p[11] = sum & 0xff;
a.ip.inject(p);
await new Promise((r) => setTimeout(r, 50));
console.log(`server: ${server.stats().leases} leases; alpha knows ${a.adapter.neighbors().map((n) => `${n.addr} (${n.state})`).join(', ')}`);
a.adapter.close();
b.adapter.close();
server.close();
hub.close();
