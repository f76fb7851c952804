#!/bin/sh
# Captures whole DHCP Ethernet frames exchanged by real programs, as vectors for src/dhcp/.
#
# Two throwaway network namespaces joined by a veth pair (dhcp-netns.sh): pkdh-srv runs dnsmasq
# (10.98.7.1/24), pkdh-cli runs the clients; tcpdump in pkdh-cli records ports 67/68 with their Ethernet
# headers, and a Python reader prints each frame as `label hex`.
#   run 1: busybox udhcpc: DISCOVER, OFFER, REQUEST, ACK; SIGUSR1 -> renew (unicast REQUEST from
#          the leased address, ACK); SIGUSR2 -> RELEASE. Its hook script puts the leased address
#          on the client's veth (inside the throwaway namespace only), so that the renewal can
#          leave from it as udhcpc sends it (a kernel UDP socket).
#   run 2: ISC dhclient with a stale lease for 10.96.0.77: INIT-REBOOT REQUEST, NAK, then
#          DISCOVER, OFFER, REQUEST, ACK; then `dhclient -r`: RELEASE.
# Nothing outside the two namespaces changes; both are deleted on exit, with every process.
# Needs root, dnsmasq, udhcpc, dhclient, tcpdump, ethtool, python3.   sh capture-dhcp-frames.sh > frames.txt
set -eu
. "$(dirname "$0")/dhcp-netns.sh"
dhcp_netns dh 10.98.7
# No checksum offload: frames from kernel sockets (dnsmasq, udhcpc's renewal) otherwise leave
# with a partial UDP checksum that the receiving veth never completes, and the capture shows it.
ip netns exec "$SRV" ethtool -K "$SIF" tx off >/dev/null
ip netns exec "$CLI" ethtool -K "$CIF" tx off >/dev/null

cat > "$WORK/hook.sh" <<'HOOK'
#!/bin/sh
case "$1" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
HOOK
chmod +x "$WORK/hook.sh"

start_dnsmasq --dhcp-option=option:dns-server,10.98.7.1
start_tcpdump "$WORK/all.pcap"
sleep 0.5

# Run 1: udhcpc, renew, release.
ip netns exec "$CLI" udhcpc -f -i "$CIF" -s "$WORK/hook.sh" -x hostname:pktkit-udhcpc -t 3 -T 1 \
  >"$WORK/udhcpc.log" 2>&1 &
UDHCPC=$!
PIDS="$PIDS $UDHCPC"
sleep 2
kill -USR1 $UDHCPC; sleep 1.5
kill -USR2 $UDHCPC; sleep 1
kill $UDHCPC; wait $UDHCPC 2>/dev/null || true
ip -n "$CLI" addr flush dev "$CIF"

# Run 2: dhclient with a stale lease, then release.
cat > "$WORK/dhclient.conf" <<'CONF'
send host-name "pktkit-dhclient";
request subnet-mask, routers, domain-name, domain-name-servers;
CONF
stale_dhclient_lease "$CIF"
ip netns exec "$CLI" dhclient -1 -v -cf "$WORK/dhclient.conf" -sf "$WORK/noop.sh" \
  -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" "$CIF" >"$WORK/dhclient.log" 2>&1
ip netns exec "$CLI" dhclient -r -v -cf "$WORK/dhclient.conf" -sf "$WORK/noop.sh" \
  -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" "$CIF" >>"$WORK/dhclient.log" 2>&1
sleep 1
stop "$TCPDUMP"

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
dhcp_versions >&2
