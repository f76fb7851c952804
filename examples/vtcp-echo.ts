/**
 * vtcp (pktkit/vtcp): two userspace TCP stacks, each on its own virtual IP device, joined by a
 * pair of pipes (a TUN would do the same with the kernel on the other side). One listens and
 * echoes; the other dials, writes, and reads the echo back through net.Socket-like streams.
 */
import { PipeL3 } from 'pktkit';
import { TcpStack } from 'pktkit/vtcp';

// Each stack reads what its device produces and sends into it: the wire between them is the
// two pipes' onSend feeding the other's inject.
const wireA = new PipeL3('10.1.0.1/24');
const wireB = new PipeL3('10.1.0.2/24');
wireA.onSend = (packet) => wireB.inject(packet);
wireB.onSend = (packet) => wireA.inject(packet);

const server = new TcpStack(wireB, { addrs: ['10.1.0.2'] });
const client = new TcpStack(wireA, { addrs: ['10.1.0.1'] });

server.listen(7).on('connection', (conn) => conn.pipe(conn)); // echo

const conn = await client.dial('10.1.0.2', 7);
console.log(`connected ${conn.localAddress}:${conn.localPort} -> ${conn.remoteAddress}:${conn.remotePort}`);
const chunks: Buffer[] = [];
conn.on('data', (b: Buffer) => chunks.push(b));
const payload = Buffer.alloc(1 << 20, 'pktkit ');
conn.end(payload);
await new Promise((resolve) => conn.on('end', resolve));
const echoed = Buffer.concat(chunks);
console.log(`echoed ${echoed.length} bytes, ${echoed.equals(payload) ? 'identical' : 'DIFFERENT'}`);
client.close();
server.close();
