#!/usr/bin/env python3
"""Captures real DNS queries (from dig) and responses (from dnsmasq) as golden vectors for
pktkit's DNS codec tests (test/vectors/dns-captured.ts).

It makes a throwaway network namespace `pktvc-dns` with only a loopback interface, runs dnsmasq
in it on 127.0.0.1:53 with records given on its command line and in an addn-hosts file (no
upstream servers, no /etc/hosts, no /etc/dnsmasq.conf), starts tcpdump on that loopback, asks
dig a set of questions (A, AAAA, CNAME, MX, TXT, SRV, PTR, NXDOMAIN, two A records with the DO
bit), restarts dnsmasq in authoritative mode and asks for SOA, NS and an NXDOMAIN with the SOA,
then stops what it started and deletes the namespace. Nothing touches the host's interfaces or
/etc/resolv.conf: every process runs inside the namespace.

Prints one line per UDP payload to stdout: `<label> <query|response> <hex>`, in capture order
(these became test/vectors/dns-captured.ts), and dig's own printout of each answer to stderr.
Needs root, and Debian's dnsmasq, bind9-dnsutils (dig) and tcpdump:
    apt-get install -y --no-install-recommends dnsmasq bind9-dnsutils tcpdump
    python3 test/vectors/capture-dns.py
"""
import os, shutil, signal, struct, subprocess, sys, tempfile, time

NS = 'pktvc-dns'

HOSTS = """\
10.99.0.25 mail.pktkit.test
fd99::25 mail.pktkit.test
10.99.0.30 multi.pktkit.test
10.99.0.31 multi.pktkit.test
10.99.0.40 sip.pktkit.test
"""

COMMON_ARGS = [
    '--keep-in-foreground', '--conf-file=/dev/null', '--pid-file=', '--no-resolv', '--no-hosts',
    '--bind-interfaces', '--port=53',
]
RECORD_ARGS = [
    '--host-record=www.pktkit.test,10.99.0.10,fd99::10',
    '--cname=alias.pktkit.test,www.pktkit.test',
    '--mx-host=pktkit.test,mail.pktkit.test,10',
    '--txt-record=txt.pktkit.test,v=pktkit golden,second string',
    '--srv-host=_sip._udp.pktkit.test,sip.pktkit.test,5060,10,20',
]
# Phase 1: dnsmasq as a caching forwarder with local data. It compresses its answers and adds the
# addresses of MX and SRV targets as additional records.
CACHE_ARGS = [
    '--listen-address=127.0.0.1',
    '--local=/pktkit.test/',  # answer NXDOMAIN for unknown names here instead of forwarding
]
# (label, dig arguments). dig's defaults: RD and AD set, EDNS0 with a 1232-byte payload size and
# a client COOKIE option; the first query turns EDNS and AD off to have a plain RFC 1035 query.
CACHE_QUERIES = [
    ('a-plain', ['+noedns', '+noad', 'www.pktkit.test', 'A']),
    ('aaaa', ['www.pktkit.test', 'AAAA']),
    ('cname', ['alias.pktkit.test', 'A']),
    ('mx', ['pktkit.test', 'MX']),
    ('txt', ['txt.pktkit.test', 'TXT']),
    ('srv', ['_sip._udp.pktkit.test', 'SRV']),
    ('ptr', ['-x', '10.99.0.10']),
    ('nxdomain', ['nope.pktkit.test', 'A']),
    ('multi-do', ['+dnssec', 'multi.pktkit.test', 'A']),
]
# Phase 2: a new dnsmasq, authoritative for the same data: SOA and NS records, and an NXDOMAIN
# answer that carries the zone's SOA in the authority section.
AUTH_ARGS = [
    '--listen-address=127.0.0.1', '--local=/pktkit.test/',
    '--auth-server=ns.pktkit.test,lo', '--auth-zone=pktkit.test',
    '--auth-soa=2026112201,hostmaster.pktkit.test,1200,120,1209600', '--auth-ttl=300',
]
AUTH_QUERIES = [
    ('auth-soa', ['pktkit.test', 'SOA']),
    ('auth-ns', ['pktkit.test', 'NS']),
    ('auth-nxdomain', ['nope.pktkit.test', 'A']),
]
PHASES = [(CACHE_ARGS, CACHE_QUERIES), (AUTH_ARGS, AUTH_QUERIES)]


def stop(p, sig):
    p.send_signal(sig)
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def netns(*cmd):
    return ['ip', 'netns', 'exec', NS, *cmd]


def udp_payloads(path):
    """Yields (src_port, dst_port, payload) for each IPv4/UDP packet of a pcap file."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    endian = '<' if magic in (0xA1B2C3D4, 0xA1B23C4D) else '>'
    linktype = struct.unpack(endian + 'I', data[20:24])[0]
    pos = 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + 'IIII', data[pos:pos + 16])
        pkt = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        if linktype == 1:  # Ethernet (Linux loopback has zero MACs)
            if pkt[12:14] != b'\x08\x00':
                continue
            ip = pkt[14:]
        elif linktype == 113:  # Linux cooked
            if pkt[14:16] != b'\x08\x00':
                continue
            ip = pkt[16:]
        else:
            raise SystemExit(f'unexpected pcap link type {linktype}')
        if ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack('>H', ip[2:4])[0]
        udp = ip[ihl:total]
        sport, dport, ulen = struct.unpack('>HHH', udp[:6])
        yield sport, dport, bytes(udp[8:ulen])


def main():
    tmp = tempfile.mkdtemp(prefix='pktvc-dns-')
    os.chmod(tmp, 0o755)
    hosts = os.path.join(tmp, 'hosts')
    with open(hosts, 'w') as f:
        f.write(HOSTS)
    os.chmod(hosts, 0o644)
    pcap = os.path.join(tmp, 'dns.pcap')
    subprocess.run(['ip', 'netns', 'add', NS], check=True)
    tcpdump = None
    try:
        subprocess.run(netns('ip', 'link', 'set', 'lo', 'up'), check=True)
        tcpdump = subprocess.Popen(netns('tcpdump', '--immediate-mode', '-i', 'lo', '-U', '-s', '0',
                                         '-w', pcap, 'udp port 53'))
        time.sleep(1.0)
        for mode_args, queries in PHASES:
            dnsmasq = subprocess.Popen(
                netns('dnsmasq', *COMMON_ARGS, *mode_args, *RECORD_ARGS, f'--addn-hosts={hosts}'),
                stderr=subprocess.DEVNULL)
            try:
                time.sleep(1.0)
                for label, args in queries:
                    out = subprocess.run(netns('dig', '@127.0.0.1', '+tries=1', '+time=2', *args),
                                         check=True, capture_output=True, text=True).stdout
                    print(f'# {label}: dig {" ".join(args)}', file=sys.stderr)
                    print(out, file=sys.stderr)
            finally:
                stop(dnsmasq, signal.SIGTERM)  # dnsmasq exits on SIGTERM
        time.sleep(0.5)
    finally:
        if tcpdump is not None:
            stop(tcpdump, signal.SIGINT)  # tcpdump writes out what it has on SIGINT
        subprocess.run(['ip', 'netns', 'delete', NS], check=True)

    labels = iter([q for _, qs in PHASES for q in qs])
    label = None
    for sport, dport, payload in udp_payloads(pcap):
        if dport == 53:
            label = next(labels)[0]
            print(f'{label} query {payload.hex()}')
        elif sport == 53:
            print(f'{label} response {payload.hex()}')
    shutil.rmtree(tmp)


if __name__ == '__main__':
    main()
