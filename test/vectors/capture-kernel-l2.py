#!/usr/bin/env python3
"""Captures Ethernet frames written by the Linux kernel (and by radvd) to a TAP device, as golden
vectors for pktkit's ARP, ICMP, ICMPv6, NDP and UDP codec tests (test/vectors/kernel-tap.ts).

Run as root:  python3 test/vectors/capture-kernel-l2.py
It creates a throwaway network namespace `pktva-<pid>`, re-runs itself inside it, and deletes it
afterwards; no frame leaves that namespace. Inside, it opens the TAP `pktva0` (IFF_TAP|IFF_NO_PI)
with MAC 02:6b:00:00:00:01, 10.98.0.1/24 and fd98::1/64, and plays a neighbour on the other end of
the TAP: MAC 02:70:00:00:00:02, 10.98.0.2 and fd98::2. Two more TAPs that nobody reads are egress
links for forwarding: pktva1 (MTU 100, 10.97.0.0/24) and pktva2 (MTU 1280, fd97::/64).

What it makes the kernel write, in order:
  link up                          -> DAD Neighbor Solicitation (source ::), Router Solicitation
  UDP to 10.98.0.9 (unresolved)    -> ARP request
  our ARP request for 10.98.0.1    -> ARP reply
  UDP to fd98::9 (unresolved)      -> Neighbor Solicitation (multicast, with SLLA)
  our NS for fd98::1               -> Neighbor Advertisement (S, O; with TLLA)
  our ICMP echo request            -> ICMP echo reply
  our UDP to a closed port         -> ICMP Destination Unreachable, code 3 (port)
  our IPv4 packet with a bad RR    -> ICMP Parameter Problem with a pointer
  our ICMPv6 echo request          -> ICMPv6 echo reply
  our UDP to a closed port (v6)    -> ICMPv6 Destination Unreachable, code 4 (port)
  our IPv6 packet, next header 253 -> ICMPv6 Parameter Problem, code 1 (pointer 6)
  (forwarding on)
  our NS for fd98::1               -> Neighbor Advertisement (R, S, O)
  TTL 1 / hop limit 1, forwarded   -> ICMP Time Exceeded / ICMPv6 Time Exceeded
  DF datagram larger than MTU 100  -> ICMP Fragmentation Needed, next-hop MTU 100 (RFC 1191)
  IPv6 datagram larger than 1280   -> ICMPv6 Packet Too Big, MTU 1280
  our packet to an on-link host    -> ICMP Redirect (host) and NDP Redirect
  radvd (when installed)           -> Router Advertisement (M, O, MTU, Prefix Information)

Frames we write are built here with their checksums; the frames printed are only ones read back
from pktva0, written by the kernel (or radvd). Error messages quote our datagrams, as they must.
Prints one `label hex` line per frame.
"""
import fcntl, os, select, socket, struct, subprocess, sys, tempfile, time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000

K_MAC = bytes.fromhex('026b00000001')   # the kernel's side of pktva0
P_MAC = bytes.fromhex('027000000002')   # our side: the neighbour 10.98.0.2 / fd98::2
H3_MAC = bytes.fromhex('027000000003')  # another on-link host, 10.98.0.3 / fd98::3
K4, P4, H3_4 = '10.98.0.1', '10.98.0.2', '10.98.0.3'
K6, P6, H3_6 = 'fd98::1', 'fd98::2', 'fd98::3'
PAYLOAD = b'pktkit golden vector'


def outer():
    ns = f'pktva-{os.getpid()}'
    subprocess.run(['ip', 'netns', 'add', ns], check=True)
    try:
        subprocess.run(['ip', 'netns', 'exec', ns, sys.executable, os.path.abspath(__file__), '--inner'], check=True)
    finally:
        subprocess.run(['ip', 'netns', 'del', ns], check=True)


def sh(*cmd):
    subprocess.run(list(cmd), check=True)


def open_tap(name):
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def csum(data, initial=0):
    if len(data) % 2:
        data += b'\0'
    s = initial + sum(struct.unpack(f'!{len(data) // 2}H', data))
    while s > 0xffff:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def a4(s):
    return socket.inet_pton(socket.AF_INET, s)


def a6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def ipv4(src, dst, proto, payload, ttl=64, df=True, options=b''):
    hl = 20 + len(options)
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | (hl // 4), 0, hl + len(payload), 0x1234, 0x4000 if df else 0,
                    ttl, proto, 0, a4(src), a4(dst)) + options
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload


def udp4(src, dst, sport, dport, data):
    u = struct.pack('!HHHH', sport, dport, 8 + len(data), 0) + data
    ph = a4(src) + a4(dst) + struct.pack('!BBH', 0, 17, len(u))
    c = csum(ph + u) or 0xffff
    return u[:6] + struct.pack('!H', c) + u[8:]


def ipv6(src, dst, nh, payload, hlim=64):
    return struct.pack('!IHBB16s16s', 0x60000000, len(payload), nh, hlim, a6(src), a6(dst)) + payload


def l4v6(src, dst, nh, msg, csum_off):
    ph = a6(src) + a6(dst) + struct.pack('!I3xB', len(msg), nh)
    c = csum(ph + msg)
    if nh == 17 and c == 0:
        c = 0xffff
    return msg[:csum_off] + struct.pack('!H', c) + msg[csum_off + 2:]


def eth(dst, src, etype, payload):
    return dst + src + struct.pack('!H', etype) + payload


def inner():
    fd = open_tap('pktva0')
    fd_v4_egress = open_tap('pktva1')
    fd_v6_egress = open_tap('pktva2')
    sh('ip', 'link', 'set', 'lo', 'up')
    sh('ip', 'link', 'set', 'pktva0', 'address', K_MAC.hex(':'))
    sh('sysctl', '-qw', 'net.ipv6.conf.pktva0.router_solicitation_delay=0')
    sh('sysctl', '-qw', 'net.ipv6.conf.pktva0.dad_transmits=1')
    sh('sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0')
    sh('sysctl', '-qw', 'net.ipv6.icmp.ratelimit=0')
    sh('ip', 'link', 'set', 'pktva0', 'up')
    sh('ip', 'addr', 'add', K4 + '/24', 'dev', 'pktva0')
    sh('ip', '-6', 'addr', 'add', K6 + '/64', 'dev', 'pktva0', 'nodad')

    def read_until(pred, timeout=4.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                f = os.read(fd, 65535)
                if pred(f):
                    return f
        raise SystemExit(f'timed out waiting for a frame ({pred.__name__})')

    def emit(label, f):
        print(f'{label} {f.hex()}', flush=True)

    def icmp6_type(f):
        return f[54] if len(f) > 54 and f[12:14] == b'\x86\xdd' and f[20] == 58 else -1

    def icmp4_type(f):
        return f[34] if len(f) > 34 and f[12:14] == b'\x08\x00' and f[23] == 1 else -1

    # Link up: link-local DAD (one probe), then a Router Solicitation once the address is valid.
    def dad_ns(f):
        return icmp6_type(f) == 135 and f[22:38] == bytes(16)
    emit('ndp-ns-dad', read_until(dad_ns))

    def rs(f):
        return icmp6_type(f) == 133
    emit('ndp-rs', read_until(rs, 6.0))

    # ARP request: the kernel resolves 10.98.0.9 before it can send this datagram.
    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s4.bind((K4, 40010))
    s4.sendto(PAYLOAD, ('10.98.0.9', 53))

    def arp_request(f):
        return f[12:14] == b'\x08\x06' and f[20:22] == b'\x00\x01'
    emit('arp-request', read_until(arp_request))

    # ARP reply to our request for 10.98.0.1.
    arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, P_MAC, a4(P4), bytes(6), a4(K4))
    os.write(fd, eth(b'\xff' * 6, P_MAC, 0x0806, arp))

    def arp_reply(f):
        return f[12:14] == b'\x08\x06' and f[20:22] == b'\x00\x02'
    emit('arp-reply', read_until(arp_reply))

    # Neighbor Solicitation: the kernel resolves fd98::9.
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s6.bind((K6, 40011))
    s6.sendto(PAYLOAD, ('fd98::9', 53))

    def ns_for_9(f):
        return icmp6_type(f) == 135 and f[62:78] == a6('fd98::9')
    emit('ndp-ns', read_until(ns_for_9))

    def send_ns():
        # RFC 4861 §4.3: NS for fd98::1 from fd98::2 to its solicited-node group, with SLLA.
        ns = struct.pack('!BBHI16s', 135, 0, 0, 0, a6(K6)) + bytes([1, 1]) + P_MAC
        dst = 'ff02::1:ff00:1'
        msg = l4v6(P6, dst, 58, ns, 2)
        os.write(fd, eth(bytes.fromhex('3333ff000001'), P_MAC, 0x86dd, ipv6(P6, dst, 58, msg, hlim=255)))

    def na(f):
        return icmp6_type(f) == 136 and f[62:78] == a6(K6)
    send_ns()
    emit('ndp-na', read_until(na))

    # From here on the neighbours are static so that replies go out without resolution.
    sh('ip', 'neigh', 'replace', P4, 'lladdr', P_MAC.hex(':'), 'dev', 'pktva0', 'nud', 'permanent')
    sh('ip', 'neigh', 'replace', P6, 'lladdr', P_MAC.hex(':'), 'dev', 'pktva0', 'nud', 'permanent')
    sh('ip', 'neigh', 'replace', H3_4, 'lladdr', H3_MAC.hex(':'), 'dev', 'pktva0', 'nud', 'permanent')
    sh('ip', 'neigh', 'replace', H3_6, 'lladdr', H3_MAC.hex(':'), 'dev', 'pktva0', 'nud', 'permanent')

    def to_k4(payload_ip):
        os.write(fd, eth(K_MAC, P_MAC, 0x0800, payload_ip))

    def to_k6(payload_ip):
        os.write(fd, eth(K_MAC, P_MAC, 0x86dd, payload_ip))

    # ICMP echo reply.
    echo = struct.pack('!BBHHH', 8, 0, 0, 0x7070, 1) + b'pktkit golden'
    echo = echo[:2] + struct.pack('!H', csum(echo)) + echo[4:]
    to_k4(ipv4(P4, K4, 1, echo))
    emit('icmp4-echo-reply', read_until(lambda f: icmp4_type(f) == 0))

    # ICMP port unreachable: UDP to the discard port, which nothing listens on.
    to_k4(ipv4(P4, K4, 17, udp4(P4, K4, 40020, 9, PAYLOAD)))
    emit('icmp4-port-unreachable', read_until(lambda f: icmp4_type(f) == 3))

    # ICMP Parameter Problem: a Record Route option with length 2 (RFC 791 needs at least 3).
    to_k4(ipv4(P4, K4, 17, udp4(P4, K4, 40021, 9, PAYLOAD), options=bytes([7, 2, 0, 0])))
    emit('icmp4-param-problem', read_until(lambda f: icmp4_type(f) == 12))

    # ICMPv6 echo reply.
    e6 = l4v6(P6, K6, 58, struct.pack('!BBHHH', 128, 0, 0, 0x7070, 1) + b'pktkit golden', 2)
    to_k6(ipv6(P6, K6, 58, e6))
    emit('icmp6-echo-reply', read_until(lambda f: icmp6_type(f) == 129))

    # ICMPv6 port unreachable.
    u6 = l4v6(P6, K6, 17, struct.pack('!HHHH', 40022, 9, 8 + len(PAYLOAD), 0) + PAYLOAD, 6)
    to_k6(ipv6(P6, K6, 17, u6))
    emit('icmp6-port-unreachable', read_until(lambda f: icmp6_type(f) == 1))

    # ICMPv6 Parameter Problem: next header 253 (RFC 3692 experimentation) is not understood.
    to_k6(ipv6(P6, K6, 253, PAYLOAD))
    emit('icmp6-param-problem', read_until(lambda f: icmp6_type(f) == 4))

    # Forwarding on: the kernel is now a router.
    sh('sysctl', '-qw', 'net.ipv4.ip_forward=1')
    sh('sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1')
    sh('ip', 'link', 'set', 'pktva1', 'mtu', '100', 'up')
    sh('ip', 'link', 'set', 'pktva2', 'mtu', '1280', 'up')
    sh('ip', 'route', 'add', '10.97.0.0/24', 'dev', 'pktva1')
    sh('ip', '-6', 'route', 'add', 'fd97::/64', 'dev', 'pktva2')
    time.sleep(0.2)

    send_ns()
    emit('ndp-na-router', read_until(na))

    to_k4(ipv4(P4, '10.97.0.5', 17, udp4(P4, '10.97.0.5', 40023, 53, PAYLOAD), ttl=1))
    emit('icmp4-time-exceeded', read_until(lambda f: icmp4_type(f) == 11))

    big4 = PAYLOAD * 5
    to_k4(ipv4(P4, '10.97.0.5', 17, udp4(P4, '10.97.0.5', 40024, 53, big4)))
    emit('icmp4-frag-needed', read_until(lambda f: icmp4_type(f) == 3))

    to_k6(ipv6(P6, 'fd97::5', 17, l4v6(P6, 'fd97::5', 17, struct.pack('!HHHH', 40025, 53, 8 + len(PAYLOAD), 0) + PAYLOAD, 6), hlim=1))
    emit('icmp6-time-exceeded', read_until(lambda f: icmp6_type(f) == 3))

    big6 = PAYLOAD * 64
    to_k6(ipv6(P6, 'fd97::5', 17, l4v6(P6, 'fd97::5', 17, struct.pack('!HHHH', 40026, 53, 8 + len(big6), 0) + big6, 6)))
    emit('icmp6-packet-too-big', read_until(lambda f: icmp6_type(f) == 2))

    # Redirects: a packet for an on-link host, sent to the router, goes back out the same link.
    to_k4(ipv4(P4, H3_4, 17, udp4(P4, H3_4, 40027, 53, PAYLOAD)))
    emit('icmp4-redirect', read_until(lambda f: icmp4_type(f) == 5))

    # The kernel rate-limits NDP Redirects per source with the same inet_peer token bucket that
    # the ICMPv6 errors above just drained for fd98::2: let it refill (1 s).
    time.sleep(1.2)
    to_k6(ipv6(P6, H3_6, 17, l4v6(P6, H3_6, 17, struct.pack('!HHHH', 40028, 53, 8 + len(PAYLOAD), 0) + PAYLOAD, 6)))
    emit('ndp-redirect', read_until(lambda f: icmp6_type(f) == 137))

    # Router Advertisement from radvd, when it is installed.
    radvd = subprocess.run(['sh', '-c', 'command -v radvd'], capture_output=True, text=True).stdout.strip()
    if not radvd:
        print('# radvd not installed: no Router Advertisement', file=sys.stderr)
        return
    with tempfile.TemporaryDirectory(prefix='pktva-') as d:
        conf = os.path.join(d, 'radvd.conf')
        with open(conf, 'w') as c:
            c.write('''interface pktva0 {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 4;
    AdvManagedFlag on;
    AdvOtherConfigFlag on;
    AdvCurHopLimit 64;
    AdvDefaultLifetime 1800;
    AdvReachableTime 30000;
    AdvRetransTimer 1000;
    AdvLinkMTU 1400;
    prefix fd98::/64 {
        AdvOnLink on;
        AdvAutonomous on;
        AdvValidLifetime 86400;
        AdvPreferredLifetime 14400;
    };
};
''')
        proc = subprocess.Popen([radvd, '-n', '-C', conf, '-p', os.path.join(d, 'radvd.pid'), '-m', 'stderr'],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            emit('ndp-ra', read_until(lambda f: icmp6_type(f) == 134, 10.0))
        finally:
            proc.terminate()
            proc.wait(5)


if __name__ == '__main__':
    if os.geteuid() != 0:
        raise SystemExit('run as root: it creates a network namespace and TAP devices')
    if '--inner' in sys.argv:
        inner()
    else:
        outer()
