#!/usr/bin/env python3
"""Captures TCP segments written by the Linux kernel, as golden vectors for pktkit's TCP codec.

Same method as capture-kernel.py: a TUN device (IFF_NO_PI) in a throwaway network namespace, so
every packet the kernel writes carries checksums the kernel computed (no offload on a TUN
without a vnet header). Here the kernel is the *server*: it listens on 10.98.0.1:8080 and this
script plays the peer 10.98.0.2 through the TUN, writing its own segments by hand. Only the
segments the kernel writes are printed (one hex line per segment with a label); the peer's
segments are scaffolding and are not vectors.

  1. peer SYN with ECE|CWR (RFC 3168 ECN setup), MSS 1400, SACK-permitted, timestamps, WS 7
     -> kernel SYN-ACK (ECE set; MSS, SACK-permitted + timestamps, NOP, window scale)
  2. peer ACK; the kernel accepts and sends 20 bytes of data
     -> kernel data segment (PSH|ACK, NOP NOP timestamps)
  3. peer sends three 10-byte segments out of order, leaving holes before each
     -> kernel duplicate ACKs with 1, 2 and 3 SACK blocks (NOP NOP timestamps NOP NOP SACK)
  4. the kernel closes -> kernel FIN|ACK

Run as root:
  ip netns add pktvb-tcp && ip netns exec pktvb-tcp python3 capture-tcp.py; ip netns del pktvb-tcp
"""
import fcntl, os, select, socket, struct, subprocess, time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80

KERNEL, PEER = bytes([10, 98, 0, 1]), bytes([10, 98, 0, 2])
KPORT, PPORT = 8080, 50123
PEER_ISS = 0x1000_0000
PEER_TS = 0x0001_0000

fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', b'pktvb0', IFF_TUN | IFF_NO_PI))
for cmd in (['ip', 'link', 'set', 'lo', 'up'], ['ip', 'link', 'set', 'pktvb0', 'up'],
            ['ip', 'addr', 'add', '10.98.0.1/24', 'dev', 'pktvb0']):
    subprocess.run(cmd, check=True)
time.sleep(0.3)


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def peer_segment(seq, ack, flags, opts=b'', data=b'', window=64000):
    """A segment from the peer, written by this script (not a vector)."""
    hl = 20 + len(opts)
    h = struct.pack('!HHIIBBHHH', PPORT, KPORT, seq, ack, (hl // 4) << 4, flags, window, 0, 0) + opts + data
    c = csum(PEER + KERNEL + struct.pack('!BBH', 0, 6, len(h)) + h)
    seg = h[:16] + struct.pack('!H', c) + h[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(seg), 0, 0x4000, 64, 6, 0, PEER, KERNEL)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    os.write(fd, ip + seg)


def ts_opt(val, ecr):
    return struct.pack('!BBBBII', 1, 1, 8, 10, val, ecr)


def read_kernel(want, timeout=2.0):
    """Next TCP segment the kernel writes to the TUN for which want(flags, payload_len) holds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        p = os.read(fd, 65535)
        if p[0] >> 4 != 4 or p[9] != 6:
            continue
        ihl = (p[0] & 15) * 4
        doff = (p[ihl + 12] >> 4) * 4
        flags = p[ihl + 13]
        if want(flags, len(p) - ihl - doff):
            return p
    raise SystemExit('timed out waiting for a kernel segment')


def fields(p):
    ihl = (p[0] & 15) * 4
    seq, ack = struct.unpack('!II', p[ihl + 4:ihl + 12])
    doff = (p[ihl + 12] >> 4) * 4
    opts = p[ihl + 20:ihl + doff]
    tsval = 0
    i = 0
    while i < len(opts):
        if opts[i] == 0:
            break
        if opts[i] == 1:
            i += 1
            continue
        if opts[i] == 8:
            tsval = struct.unpack('!I', opts[i + 2:i + 6])[0]
        i += opts[i + 1]
    return seq, ack, tsval


lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(('10.98.0.1', KPORT))
lst.listen(1)

syn_opts = struct.pack('!BBH', 2, 4, 1400) + struct.pack('!BB', 4, 2) + struct.pack('!BBII', 8, 10, PEER_TS, 0) \
    + struct.pack('!BBBB', 1, 3, 3, 7)
peer_segment(PEER_ISS, 0, SYN | ECE | CWR, syn_opts)
synack = read_kernel(lambda f, n: f & (SYN | ACK) == SYN | ACK)
print('ipv4-tcp-synack', synack.hex())
k_iss, _, k_ts = fields(synack)

pseq, kseq = PEER_ISS + 1, k_iss + 1
peer_segment(pseq, kseq, ACK, ts_opt(PEER_TS + 1, k_ts))
conn, _ = lst.accept()
conn.sendall(b'pktkit kernel data\r\n')
data = read_kernel(lambda f, n: n > 0)
print('ipv4-tcp-data', data.hex())
_, _, k_ts = fields(data)
kseq += 20
peer_segment(pseq, kseq, ACK, ts_opt(PEER_TS + 2, k_ts))

# Out-of-order data: holes at [0,10), [20,30), [40,50) of the peer's stream, so the kernel's
# duplicate ACKs carry 1, 2 and 3 SACK blocks (the most recent block first, RFC 2018 §4).
for i, label in ((1, 'ipv4-tcp-sack1'), (3, 'ipv4-tcp-sack2'), (5, 'ipv4-tcp-sack3')):
    peer_segment(pseq + 10 * i, kseq, ACK | PSH, ts_opt(PEER_TS + 2 + i, k_ts), bytes([0x30 + i]) * 10)
    print(label, read_kernel(lambda f, n: f & ACK and n == 0).hex())

conn.close()
print('ipv4-tcp-fin', read_kernel(lambda f, n: f & FIN).hex())
peer_segment(pseq, kseq + 1, RST, b'')
