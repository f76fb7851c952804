/** Recording a hub port and a device into a pcapng file that tshark and Wireshark open. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtherType, L2Hub, PipeL2, PipeL3, newFrame } from 'pktkit';
import { CaptureFile, LINKTYPE_ETHERNET } from 'pktkit/capture';

const path = join(tmpdir(), `pktkit-example-${process.pid}.pcapng`);
const cap = await CaptureFile.open(path);
const hub = new L2Hub();
const a = new PipeL2('02:00:00:00:00:01');
const b = new PipeL2('02:00:00:00:00:02');
hub.connect(a).capture(cap.addInterface('hub-port-a', LINKTYPE_ETHERNET));
hub.connect(b);
a.inject(newFrame('ff:ff:ff:ff:ff:ff', a.hwAddr, EtherType.ARP, new Uint8Array(28)));

// A device wrapper records both directions of an L3 device.
const inner = new PipeL3('10.9.0.1/24');
const tapped = cap.tapL3(inner, 'tun0');
tapped.setHandler(() => {});
tapped.send(new Uint8Array([0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 9, 0, 2, 10, 9, 0, 1]));

hub.close();
await cap.close(); // flushes everything
const s = cap.stats();
console.log(`${s.packets} packets on ${s.interfaces.length} interfaces, ${s.drops} dropped: ${path}`);
