/**
 * Batched UDP (pktkit/udp, native addon): an echo server answering a burst of datagrams, each
 * batch received with one recvmmsg and answered with one sendmmsg. Runs on loopback, no root.
 */
import { UdpSocket } from 'pktkit/udp';

// A burst of 256 leaves in four system calls (GSO joins equal datagrams): give the receiver room.
const server = UdpSocket.open({ bind: '127.0.0.1:0', recvBufferSize: 1 << 20 });
const client = UdpSocket.open({ bind: '127.0.0.1:0', connect: server.localAddress, recvBufferSize: 1 << 20 });

// The server echoes: every datagram of the batch is queued and leaves in one flush.
let echoed = 0;
const serving = server.start((datagram, from) => {
  server.send(datagram, from); // `datagram` and `from` are borrowed views: valid until we return
  echoed++;
});

const N = 256;
for (let i = 0; i < N; i++) client.send(new TextEncoder().encode(`ping ${i}`)); // to the connected peer
client.flush();

let answers = 0;
let last = '';
const deadline = Date.now() + 5000;
while (answers < N && Date.now() < deadline) {
  await client.waitAsync(100);
  answers += client.recv((datagram) => {
    last = new TextDecoder().decode(datagram);
  });
}
console.log(`server ${server.localAddress} echoed ${echoed}; client got ${answers} back, the last "${last}"`);
console.log(`client sent ${client.stats().txDatagrams} datagrams in ${client.stats().txCalls} system calls`);
client.close();
await server.close();
await serving;
