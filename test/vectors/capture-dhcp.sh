#!/bin/sh
# Captures DHCPv4 messages exchanged by real programs, as golden vectors for pktkit's DHCP codec.
#
# Two throwaway network namespaces joined by a veth pair: pktvb-dsrv runs dnsmasq as the server
# (10.97.0.1/24), pktvb-dcli runs the clients, and tcpdump in pktvb-dcli records ports 67/68.
# Three runs:
#   1. busybox udhcpc: DISCOVER, OFFER, REQUEST, ACK;
#   2. ISC dhclient, started with a stale lease for 10.96.0.77 so that it first asks for that
#      address (INIT-REBOOT REQUEST) and gets a NAK, then DISCOVER, OFFER, REQUEST, ACK;
#   3. udhcpc again against a dnsmasq that must also send options 224 (50 bytes), 225 (100
#      bytes) and 226 (150 bytes): the reply no longer fits the 576 bytes udhcpc accepts
#      (option 57), so dnsmasq moves options into the file field and says so with option 52
#      (Option Overload, RFC 2132 §9.3).
# The clients get a hook script that does nothing, so nothing on the host changes (no address,
# no /etc/resolv.conf). Prints one line per DHCP message: a label and the UDP payload in hex.
# The namespaces, dnsmasq and tcpdump come from dhcp-netns.sh. Everything it creates is deleted on exit. Needs root, dnsmasq, udhcpc, dhclient, tcpdump, tshark.
#
#   sh capture-dhcp.sh > dhcp.txt
set -eu
. "$(dirname "$0")/dhcp-netns.sh"
dhcp_netns vb 10.97.0
DNS='--dhcp-option=option:dns-server,10.97.0.1,10.97.0.3'

dump() { # label pcap
  tshark -r "$2" -Y dhcp -T fields -e dhcp.option.dhcp -e udp.payload 2>/dev/null |
    while read -r type hex; do
      case $type in
        1) name=discover ;; 2) name=offer ;; 3) name=request ;; 4) name=decline ;;
        5) name=ack ;; 6) name=nak ;; 7) name=release ;; 8) name=inform ;; *) name=type$type ;;
      esac
      echo "$1-$name $hex"
    done
}

# Run 1: udhcpc.
start_dnsmasq "$DNS"
start_tcpdump "$WORK/udhcpc.pcap"
ip netns exec $CLI udhcpc -f -q -n -t 3 -T 1 -i "$CIF" -s "$WORK/noop.sh" -x hostname:pktkit-udhcpc \
  >"$WORK/udhcpc.log" 2>&1
sleep 0.5
stop "$TCPDUMP"
dump udhcpc "$WORK/udhcpc.pcap"

# Run 2: dhclient with a stale lease (INIT-REBOOT -> NAK -> DISCOVER ...).
cat > "$WORK/dhclient.conf" <<'EOF'
send host-name "pktkit-dhclient";
send dhcp-client-identifier = hardware;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, host-name, interface-mtu;
EOF
stale_dhclient_lease "$CIF"
start_tcpdump "$WORK/dhclient.pcap"
ip netns exec $CLI dhclient -d -1 -v -cf "$WORK/dhclient.conf" -sf "$WORK/noop.sh" \
  -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" "$CIF" >"$WORK/dhclient.log" 2>&1 &
DHCLIENT=$!
PIDS="$PIDS $DHCLIENT"
for _ in $(seq 1 100); do
  grep -q 'bound to' "$WORK/dhclient.log" && break
  sleep 0.1
done
sleep 0.5
stop "$DHCLIENT"
stop "$TCPDUMP"
dump dhclient "$WORK/dhclient.pcap"
stop "$DNSMASQ"

# Run 3: an option too big for udhcpc's 576 bytes, so dnsmasq overloads file and sname.
rm -f "$WORK/dnsmasq.leases"
hexrun() { seq 0 $(($1 - 1)) | awk -v base="$2" '{ printf "%s%02x", (NR > 1 ? ":" : ""), (base + $1) % 256 }'; }
start_dnsmasq "$DNS" --dhcp-option-force=224,"$(hexrun 50 0)" --dhcp-option-force=225,"$(hexrun 100 64)" \
  --dhcp-option-force=226,"$(hexrun 150 128)"
start_tcpdump "$WORK/overload.pcap"
ip netns exec $CLI udhcpc -f -q -n -t 3 -T 1 -i "$CIF" -s "$WORK/noop.sh" >"$WORK/udhcpc2.log" 2>&1
sleep 0.5
stop "$TCPDUMP"
dump overload "$WORK/overload.pcap"
stop "$DNSMASQ"

dhcp_versions >&2
