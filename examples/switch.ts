/** A learning switch: frames flood until the switch has learned where a MAC lives. */
import { EtherType, L2Hub, PipeL2, formatMac, newFrame } from 'pktkit';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const hub = new L2Hub(); // 8192 MACs, 5-minute aging
const a = new PipeL2(A, (frame) => console.log(`a got ${frame.length} bytes`));
const b = new PipeL2(B, (frame) => console.log(`b got ${frame.length} bytes`));
const c = new PipeL2('02:00:00:00:00:03', (frame) => console.log(`c got ${frame.length} bytes`));
hub.connect(a);
hub.connect(b);
hub.connect(c);

// a -> b: b is not learned yet, so the frame floods to b and c.
a.inject(newFrame(B, A, EtherType.IPv4, new Uint8Array(46)));
// b -> a: a was learned from the first frame, so only a gets this one.
b.inject(newFrame(A, B, EtherType.IPv4, new Uint8Array(46)));
console.log(`${formatMac(a.hwAddr)} is on port ${hub.portOfMac(a.hwAddr)}; ${hub.stats().macs} MACs learned`);
hub.close();
