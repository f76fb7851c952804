/** Reading headers with reused views: one bounds check per layer, then plain loads. */
import { IpProto, Packet, WireStatus } from 'pktkit';
import { UdpView, emitIpv4, emitUdpV4, newIpv4Fields, newUdpFields, parseIPv4 } from 'pktkit/wire';

const packet = new Packet(); // one view, reused for every packet
const udp = new UdpView();
function onPacket(bytes: Uint8Array): void {
  const p = packet.reset(bytes);
  if (p.check() !== WireStatus.Ok) return console.log('dropped: malformed IP');
  if (p.ipProtocol !== IpProto.UDP) return;
  if (udp.reset(bytes, p.payloadOff, p.payloadLen).check() !== WireStatus.Ok) return console.log('dropped: malformed UDP');
  console.log(`${p.srcAddr.toString()}:${udp.srcPort} -> ${p.dstAddr.toString()}:${udp.dstPort}, ${udp.payloadLen} bytes`);
}

// Build a UDP datagram to parse: IPv4 header, UDP header, 5 bytes of data.
const ip = newIpv4Fields();
ip.src = parseIPv4('192.168.1.10');
ip.dst = parseIPv4('192.168.1.1');
ip.protocol = IpProto.UDP;
ip.payloadLen = 8 + 5;
const bytes = new Uint8Array(20 + 8 + 5);
emitIpv4(ip, bytes, 0);
bytes.set(new TextEncoder().encode('hello'), 28);
const u = newUdpFields();
u.srcPort = 40000;
u.dstPort = 53;
u.payloadLen = 5;
emitUdpV4(u, bytes, 20, ip.src, ip.dst);

onPacket(bytes);
onPacket(bytes.subarray(0, 24)); // truncated: counted as a drop, never thrown
