#!/bin/sh
# Captures the ARP and NDP frames of test/vectors/l2-captured.ts from the Linux kernel.
# Run as root: sh test/l2/capture-l2-vectors.sh > /tmp/l2.txt
# Two throwaway network namespaces joined by a veth pair; both are deleted at the end.
#   pktl2a: veth l2a, 02:00:5e:77:00:01 (set below), 10.77.0.1/24, fd77::1/64
#   pktl2b: veth l2b, 02:00:5e:77:00:02,             10.77.0.2/24, fd77::2/64
# Prints every frame seen on l2b (tcpdump -w on B's end, which is up before A's, so that A's
# link-up frames are caught; then tcpdump -r -xx).
set -eu
A=pktl2a
B=pktl2b
PCAP=$(mktemp /tmp/l2cap.XXXXXX.pcap)
cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -f "$PCAP"; }
trap cleanup EXIT
ip netns add $A
ip netns add $B
ip link add l2a netns $A type veth peer name l2b netns $B
ip -n $A link set l2a address 02:00:5e:77:00:01
ip -n $B link set l2b address 02:00:5e:77:00:02
# arp_notify: gratuitous ARP on link up; ndisc_notify: unsolicited NA on link up (RFC 4861 §7.2.6).
ip netns exec $A sysctl -qw net.ipv4.conf.l2a.arp_notify=1 net.ipv6.conf.l2a.ndisc_notify=1
# Short reachable/probe timers on A so that it re-verifies B with unicast probes (PROBE state).
ip netns exec $A sysctl -qw net.ipv6.neigh.l2a.base_reachable_time_ms=500 net.ipv6.neigh.l2a.delay_first_probe_time=1 \
  net.ipv4.neigh.l2a.base_reachable_time_ms=500 net.ipv4.neigh.l2a.delay_first_probe_time=1
ip -n $A addr add 10.77.0.1/24 dev l2a
ip -n $B addr add 10.77.0.2/24 dev l2b
ip -n $A addr add fd77::1/64 dev l2a
ip -n $B addr add fd77::2/64 dev l2b nodad
ip -n $B link set l2b up
ip netns exec $B tcpdump -i l2b -w "$PCAP" -U -s 0 2>/dev/null &
TCPDUMP=$!
sleep 1
ip -n $A link set l2a up        # gratuitous ARP, DAD NS for fd77::1 and the link-local, unsolicited NA
sleep 3
ip netns exec $A ping -c 1 -W 1 10.77.0.2 >/dev/null          # ARP request, ARP reply
ip netns exec $A ping -6 -c 1 -W 1 fd77::2 >/dev/null         # NS (multicast, SLLA), NA (S, O, TLLA)
sleep 3
ip netns exec $A ping -c 1 -W 1 10.77.0.2 >/dev/null          # stale: unicast ARP request, reply
ip netns exec $A ping -6 -c 1 -W 1 fd77::2 >/dev/null         # stale: unicast NS, NA (S)
sleep 2
# An RFC 5227 probe for A's address from B (python raw socket), and the kernel's answer to it.
ip netns exec $B python3 -c '
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("l2b", 0))
mac = bytes.fromhex("02005e770002")
arp = bytes.fromhex("0001080006040001") + mac + bytes(4) + bytes(6) + socket.inet_aton("10.77.0.1")
s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)
'
sleep 1
kill $TCPDUMP
wait $TCPDUMP 2>/dev/null || true
tcpdump -r "$PCAP" -xx -n -tt 2>/dev/null
