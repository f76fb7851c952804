# Sourced by capture-dhcp.sh and capture-dhcp-frames.sh: two throwaway network namespaces joined
# by a veth pair, a dnsmasq DHCP server in the first, the clients' side in the second, a work
# directory, and a cleanup on exit that kills every process started and deletes both namespaces.
#
#   dhcp_netns TAG NET     TAG names the namespaces (pkTAG-srv, pkTAG-cli) and the veth ends
#                          (pkTAG-s, pkTAG-c); NET is the first three octets (10.97.0): the
#                          server is NET.1/24 with MAC 02:00:00:<NET's last two octets, as decimal digits>:01
#   start_dnsmasq [ARGS]   dnsmasq on the server end (pool NET.50-99, 1 h leases, router and DNS
#                          NET.1, domain pktkit.test); extra dnsmasq ARGS are appended; sets DNSMASQ
#   start_tcpdump PCAP     ports 67/68 on the client end with Ethernet headers; sets TCPDUMP
#   stop PID               kills and reaps one process
#
# Sets SRV, CLI, SIF, CIF (the namespaces and veth ends), WORK; keeps PIDS for the cleanup.

PIDS=''

dhcp_cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  ip netns del "$SRV" 2>/dev/null || true
  ip netns del "$CLI" 2>/dev/null || true
  rm -rf "$WORK"
}

dhcp_netns() { # TAG NET
  SRV="pk$1-srv"
  CLI="pk$1-cli"
  SIF="pk$1-s"
  CIF="pk$1-c"
  NET=$2
  WORK=$(mktemp -d "/tmp/pk$1.XXXXXX")
  trap dhcp_cleanup EXIT
  mac=$(echo "$NET" | awk -F. '{ printf "%02d:%02d", $2, $3 }')
  ip netns add "$SRV"
  ip netns add "$CLI"
  ip -n "$SRV" link add "$SIF" type veth peer name "$CIF" netns "$CLI"
  ip -n "$SRV" link set lo up
  ip -n "$CLI" link set lo up
  ip -n "$SRV" link set "$SIF" address "02:00:00:$mac:01"
  ip -n "$CLI" link set "$CIF" address "02:00:00:$mac:02"
  ip -n "$SRV" addr add "$NET.1/24" dev "$SIF"
  ip -n "$SRV" link set "$SIF" up
  ip -n "$CLI" link set "$CIF" up
  printf '#!/bin/sh\nexit 0\n' > "$WORK/noop.sh"
  chmod +x "$WORK/noop.sh"
}

# dnsmasq runs with --no-ping: its ping of a new address leaves the kernel's ARP entry for it
# unresolved (the client has no address yet), and the unicast OFFER then never leaves.
start_dnsmasq() { # extra dnsmasq arguments
  ip netns exec "$SRV" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root \
    --interface="$SIF" --bind-interfaces --dhcp-authoritative --no-ping \
    --dhcp-range="$NET.50,$NET.99,255.255.255.0,1h" \
    --dhcp-option=option:router,"$NET.1" \
    --dhcp-option=option:domain-name,pktkit.test \
    --dhcp-leasefile="$WORK/dnsmasq.leases" --pid-file="$WORK/dnsmasq.pid" "$@" 2>>"$WORK/dnsmasq.log" &
  DNSMASQ=$!
  PIDS="$PIDS $DNSMASQ"
  sleep 0.5
}

start_tcpdump() { # pcap file
  ip netns exec "$CLI" tcpdump -i "$CIF" -U -w "$1" 'udp port 67 or udp port 68' 2>>"$WORK/tcpdump.log" &
  TCPDUMP=$!
  PIDS="$PIDS $TCPDUMP"
  sleep 0.5
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# The stale lease both dhclient runs start from (INIT-REBOOT REQUEST for 10.96.0.77 -> NAK).
stale_dhclient_lease() { # interface
  cat > "$WORK/dhclient.leases" <<LEASE
lease {
  interface "$1";
  fixed-address 10.96.0.77;
  option subnet-mask 255.255.255.0;
  option dhcp-server-identifier 10.96.0.1;
  renew 4 2037/01/01 00:00:00;
  rebind 4 2037/01/01 00:00:00;
  expire 4 2037/01/01 00:00:00;
}
LEASE
}

dhcp_versions() {
  echo "--- versions"
  dnsmasq --version | head -1
  udhcpc --help 2>&1 | head -1
  dhclient --version 2>&1
  tcpdump --version 2>&1 | head -1
  uname -r
  echo "--- logs"
  cat "$WORK"/*.log
}
