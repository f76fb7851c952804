#!/usr/bin/env python3
"""Captures packets written by the Linux kernel, as golden vectors for pktkit's codec tests.

Opens a TUN device (IFF_NO_PI) in a throwaway network namespace, gives it 10.99.0.1/24 and
fd99::1/64, then makes the kernel send to addresses routed into the TUN: a UDP datagram, a TCP
SYN (with the kernel's options: MSS, SACK-permitted, timestamps, window scale), an ICMP echo
request, and the same over IPv6. Every packet the kernel writes to the TUN carries checksums the
kernel computed (a TUN without a vnet header gets no checksum offload). Prints one hex line per
packet with a label. Run as root:  ip netns add pktv && ip netns exec pktv python3 capture-kernel.py
"""
import fcntl, os, select, socket, struct, subprocess, time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000

fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', b'pktv0', IFF_TUN | IFF_NO_PI))
for cmd in (['ip', 'link', 'set', 'lo', 'up'], ['ip', 'link', 'set', 'pktv0', 'up'],
            ['ip', 'addr', 'add', '10.99.0.1/24', 'dev', 'pktv0'],
            ['ip', '-6', 'addr', 'add', 'fd99::1/64', 'dev', 'pktv0', 'nodad'],
            ['sysctl', '-qw', 'net.ipv6.conf.pktv0.router_solicitations=0']):
    subprocess.run(cmd, check=True)
time.sleep(0.3)

def drain(label_of):
    deadline = time.time() + 1.0
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        pkt = os.read(fd, 65535)
        label = label_of(pkt)
        if label:
            print(f'{label} {pkt.hex()}')
            return

def proto_of(pkt):
    v = pkt[0] >> 4
    if v == 4:
        return {1: 'ipv4-icmp-echo', 6: 'ipv4-tcp-syn', 17: 'ipv4-udp'}.get(pkt[9])
    if v == 6:
        return {58: 'ipv6-icmpv6-echo' if len(pkt) > 40 and pkt[40] == 128 else None,
                6: 'ipv6-tcp-syn', 17: 'ipv6-udp'}.get(pkt[6])
    return None

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('10.99.0.1', 40000))
u.sendto(b'pktkit golden vector', ('10.99.0.2', 53))
drain(lambda p: 'ipv4-udp' if proto_of(p) == 'ipv4-udp' else None)

t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setblocking(False)
t.bind(('10.99.0.1', 40001))
try:
    t.connect(('10.99.0.2', 80))
except BlockingIOError:
    pass
drain(lambda p: 'ipv4-tcp-syn' if proto_of(p) == 'ipv4-tcp-syn' else None)

# Ping sockets: the kernel writes the ICMP identifier and checksum (net.ipv4.ping_group_range).
subprocess.run(['sysctl', '-qw', 'net.ipv4.ping_group_range=0 2147483647'], check=True)
ICMP_ECHO_REQUEST, ICMPV6_ECHO_REQUEST = 8, 128
p4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
p4.sendto(struct.pack('!BBHHH', ICMP_ECHO_REQUEST, 0, 0, 0, 1) + b'pktkit golden', ('10.99.0.2', 0))
drain(lambda p: 'ipv4-icmp-echo' if proto_of(p) == 'ipv4-icmp-echo' else None)

u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6.bind(('fd99::1', 40002))
u6.sendto(b'pktkit golden vector', ('fd99::2', 53))
drain(lambda p: 'ipv6-udp' if proto_of(p) == 'ipv6-udp' else None)

t6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
t6.setblocking(False)
t6.bind(('fd99::1', 40003))
try:
    t6.connect(('fd99::2', 80))
except BlockingIOError:
    pass
drain(lambda p: 'ipv6-tcp-syn' if proto_of(p) == 'ipv6-tcp-syn' else None)

p6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
p6.sendto(struct.pack('!BBHHH', ICMPV6_ECHO_REQUEST, 0, 0, 0, 1) + b'pktkit golden', ('fd99::2', 0))
drain(lambda p: 'ipv6-icmpv6-echo' if proto_of(p) == 'ipv6-icmpv6-echo' else None)
