#!/bin/sh
# Captures whole DHCP Ethernet frames exchanged by real programs, as vectors for src/dhcp/.
#
# Two throwaway network namespaces joined by a veth pair: pktdh-srv runs dnsmasq (10.98.7.1/24),
# pktdh-cli runs the clients; tcpdump in pktdh-cli records ports 67/68 with their Ethernet
# headers, and a Python reader prints each frame as `label hex`.
#   run 1: busybox udhcpc: DISCOVER, OFFER, REQUEST, ACK; SIGUSR1 -> renew (unicast REQUEST from
#          the leased address, ACK); SIGUSR2 -> RELEASE. Its hook script puts the leased address
#          on the client's veth (inside the throwaway namespace only), so that the renewal can
#          leave from it as udhcpc sends it (a kernel UDP socket).
#   run 2: ISC dhclient with a stale lease for 10.96.0.77: INIT-REBOOT REQUEST, NAK, then
#          DISCOVER, OFFER, REQUEST, ACK; then `dhclient -r`: RELEASE.
# Nothing outside the two namespaces changes; both are deleted on exit, with every process.
# Needs root, dnsmasq, udhcpc, dhclient, tcpdump, ethtool, python3.   sh capture-frames.sh > frames.txt
set -eu
SRV=pktdh-srv
CLI=pktdh-cli
WORK=$(mktemp -d /tmp/pktdh.XXXXXX)
PIDS=''
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  ip netns del $SRV 2>/dev/null || true
  ip netns del $CLI 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add $SRV
ip netns add $CLI
ip -n $SRV link add pktdh-s type veth peer name pktdh-c netns $CLI
ip -n $SRV link set lo up
ip -n $CLI link set lo up
ip -n $SRV link set pktdh-s address 02:00:00:98:07:01
ip -n $CLI link set pktdh-c address 02:00:00:98:07:02
ip -n $SRV addr add 10.98.7.1/24 dev pktdh-s
ip -n $SRV link set pktdh-s up
ip -n $CLI link set pktdh-c up
# No checksum offload: frames from kernel sockets (dnsmasq, udhcpc's renewal) otherwise leave
# with a partial UDP checksum that the receiving veth never completes, and the capture shows it.
ip netns exec $SRV ethtool -K pktdh-s tx off >/dev/null
ip netns exec $CLI ethtool -K pktdh-c tx off >/dev/null

cat > "$WORK/hook.sh" <<'HOOK'
#!/bin/sh
case "$1" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
HOOK
printf '#!/bin/sh\nexit 0\n' > "$WORK/noop.sh"
chmod +x "$WORK/hook.sh" "$WORK/noop.sh"

ip netns exec $SRV dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root \
  --interface=pktdh-s --bind-interfaces --dhcp-authoritative --no-ping \
  --dhcp-range=10.98.7.50,10.98.7.99,255.255.255.0,1h \
  --dhcp-option=option:router,10.98.7.1 --dhcp-option=option:dns-server,10.98.7.1 \
  --dhcp-option=option:domain-name,pktkit.test \
  --dhcp-leasefile="$WORK/dnsmasq.leases" --pid-file="$WORK/dnsmasq.pid" 2>>"$WORK/dnsmasq.log" &
PIDS="$PIDS $!"
ip netns exec $CLI tcpdump -i pktdh-c -U -w "$WORK/all.pcap" 'udp port 67 or udp port 68' 2>>"$WORK/tcpdump.log" &
TCPDUMP=$!
PIDS="$PIDS $TCPDUMP"
sleep 1

# Run 1: udhcpc, renew, release.
ip netns exec $CLI udhcpc -f -i pktdh-c -s "$WORK/hook.sh" -x hostname:pktkit-udhcpc -t 3 -T 1 \
  >"$WORK/udhcpc.log" 2>&1 &
UDHCPC=$!
PIDS="$PIDS $UDHCPC"
sleep 2
kill -USR1 $UDHCPC; sleep 1.5
kill -USR2 $UDHCPC; sleep 1
kill $UDHCPC; wait $UDHCPC 2>/dev/null || true
ip -n $CLI addr flush dev pktdh-c

# Run 2: dhclient with a stale lease, then release.
cat > "$WORK/dhclient.conf" <<'CONF'
send host-name "pktkit-dhclient";
request subnet-mask, routers, domain-name, domain-name-servers;
CONF
cat > "$WORK/dhclient.leases" <<'LEASE'
lease {
  interface "pktdh-c";
  fixed-address 10.96.0.77;
  option subnet-mask 255.255.255.0;
  option dhcp-server-identifier 10.96.0.1;
  renew 4 2037/01/01 00:00:00;
  rebind 4 2037/01/01 00:00:00;
  expire 4 2037/01/01 00:00:00;
}
LEASE
ip netns exec $CLI dhclient -1 -v -cf "$WORK/dhclient.conf" -sf "$WORK/noop.sh" \
  -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" pktdh-c >"$WORK/dhclient.log" 2>&1
ip netns exec $CLI dhclient -r -v -cf "$WORK/dhclient.conf" -sf "$WORK/noop.sh" \
  -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" pktdh-c >>"$WORK/dhclient.log" 2>&1
sleep 1
kill $TCPDUMP; wait $TCPDUMP 2>/dev/null || true

python3 - "$WORK/all.pcap" <<'PY'
import struct, sys
NAMES = {1:'discover',2:'offer',3:'request',4:'decline',5:'ack',6:'nak',7:'release',8:'inform'}
data = open(sys.argv[1], 'rb').read()
magic = struct.unpack('<I', data[:4])[0]
e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
off = 24
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(e + 'IIII', data[off:off+16]); off += 16
    f = data[off:off+incl]; off += incl
    ihl = (f[14] & 15) * 4
    dhcp = f[14 + ihl + 8:]
    t = 0; i = 240
    while i < len(dhcp) and dhcp[i] != 255:
        if dhcp[i] == 0: i += 1; continue
        if dhcp[i] == 53: t = dhcp[i+2]
        i += 2 + dhcp[i+1]
    print(NAMES.get(t, 'type%d' % t), f.hex())
PY
{
  echo "--- versions"; dnsmasq --version | head -1; udhcpc --help 2>&1 | head -1
  dhclient --version 2>&1; tcpdump --version 2>&1 | head -1; uname -r
  echo "--- logs"; cat "$WORK"/*.log
} >&2
