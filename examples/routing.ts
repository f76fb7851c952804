/** Point-to-point L3 links and a routing hub with host routes, explicit routes and a default. */
import { L3Hub, Packet, PipeL3, connectL3 } from 'pktkit';
import { IpProto, emitIpv4, newIpv4Fields, parseIPv4 } from 'pktkit/wire';

function ipv4(src: string, dst: string): Uint8Array {
  const f = newIpv4Fields();
  f.src = parseIPv4(src);
  f.dst = parseIPv4(dst);
  f.protocol = IpProto.UDP;
  const out = new Uint8Array(20);
  emitIpv4(f, out, 0);
  return out;
}
const show = (name: string) => (bytes: Uint8Array) => {
  const p = Packet.from(bytes);
  p.check();
  console.log(`${name} got ${p.srcAddr.toString()} -> ${p.dstAddr.toString()}`);
};

// The Go README's first example: two devices wired back to back.
const tun1 = new PipeL3('10.0.0.1/24', show('tun1'));
const tun2 = new PipeL3('10.0.0.2/24', show('tun2'));
connectL3(tun1, tun2);
tun1.inject(ipv4('10.0.0.1', '10.0.0.2'));

const hub = new L3Hub();
const lan = new PipeL3('10.0.0.1/24', show('lan'));
const peer = new PipeL3('10.0.0.2/24', show('peer'));
const gw = new PipeL3(null, show('gw'));
hub.connect(lan); // routes 10.0.0.1/32 and 10.0.0.0/24
hub.connect(peer); // routes 10.0.0.2/32 (the /24 is lan's: first claimant)
hub.connect(gw, { routes: ['192.168.50.0/24'] });
hub.setDefaultRoute(gw);
lan.inject(ipv4('10.0.0.1', '10.0.0.2')); // host route: peer
lan.inject(ipv4('10.0.0.1', '192.168.50.7')); // explicit route: gw
lan.inject(ipv4('10.0.0.1', '8.8.8.8')); // default route: gw
hub.close();
