/**
 * ARP and NDP frames written by the Linux kernel 6.18.44-fc-v595 (`uname -r`), captured on
 * 2026-11-22 with test/vectors/capture-l2-vectors.sh (run as root: `sh test/vectors/capture-l2-vectors.sh`),
 * as golden vectors for the L2Adapter's ARP and NDP. Every byte is the kernel's (checksums
 * included), except PROBE_ARP_FROM_B, which the script wrote to provoke LINUX_ARP_PROBE_REPLY.
 *
 * How: two throwaway network namespaces, pktl2a and pktl2b, joined by a veth pair (both deleted
 * at the end):
 *   A: veth l2a, MAC 02:00:5e:77:00:01, 10.77.0.1/24, fd77::1/64, link-local fe80::5eff:fe77:1
 *   B: veth l2b, MAC 02:00:5e:77:00:02, 10.77.0.2/24, fd77::2/64 (nodad), fe80::5eff:fe77:2
 * with net.ipv4.conf.l2a.arp_notify=1 and net.ipv6.conf.l2a.ndisc_notify=1 (announcements on link
 * up) and A's neighbour timers shortened (base_reachable_time_ms=500, delay_first_probe_time=1)
 * so that A re-verifies B with unicast probes. `tcpdump -i l2b -w` (in B, up before A) recorded
 * A's link-up, `ip netns exec pktl2a ping -c 1 10.77.0.2` and `ping -6 -c 1 fd77::2` (twice, 3 s
 * apart), and a Python AF_PACKET probe from B; the frames were printed with `tcpdump -r -xx` and
 * pasted here unedited. Versions: tcpdump 4.99.3 (libpcap 1.10.3), iproute2 6.1.0, iputils ping
 * of Debian 12, Python 3.11. A re-run gives other DAD nonces, ICMP identifiers and flow labels.
 */

/** A's MAC (02:00:5e:77:00:01) and B's (02:00:5e:77:00:02). */
export const MAC_A = 0x0200_5e77_0001;
export const MAC_B = 0x0200_5e77_0002;

/** Gratuitous ARP (arp_notify on link up): request from A, sender IP = target IP = 10.77.0.1, target MAC zero, broadcast. Not padded (veth has no minimum). */
export const LINUX_ARP_GRATUITOUS =
  'ffffffffffff02005e7700010806000108000604000102005e7700010a4d00010000000000000a4d0001';

/** ARP request, broadcast: who has 10.77.0.2? tell 10.77.0.1 (A, resolving for `ping 10.77.0.2`). */
export const LINUX_ARP_REQUEST =
  'ffffffffffff02005e7700010806000108000604000102005e7700010a4d00010000000000000a4d0002';

/** ARP reply from B: 10.77.0.2 is at 02:00:5e:77:00:02, unicast to A. */
export const LINUX_ARP_REPLY =
  '02005e77000102005e7700020806000108000604000202005e7700020a4d000202005e7700010a4d0001';

/** The IPv4 echo request that waited for that resolution, A to B. */
export const LINUX_ICMP_ECHO_V4 =
  '02005e77000202005e770001080045000054659940004001c0730a4d00010a4d00020800ef731c4200013441036b0000' +
  '0000e7c90e0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435' +
  '3637';

/** A re-verifying its stale entry for 10.77.0.2 (PROBE state): a unicast request to the cached MAC, target MAC zero. */
export const LINUX_ARP_REQUEST_UNICAST =
  '02005e77000202005e7700010806000108000604000102005e7700010a4d00010000000000000a4d0002';

/** DAD Neighbor Solicitation for A's link-local fe80::5eff:fe77:1: source ::, to ff02::1:ff77:1, no SLLA, with a Nonce option (type 14, RFC 7527). */
export const LINUX_NS_DAD_LINK_LOCAL =
  '3333ff77000102005e77000186dd6000000000203aff00000000000000000000000000000000ff020000000000000000' +
  '0001ff7700018700161900000000fe8000000000000000005efffe7700010e013f26d5ede500';

/** Unsolicited NA (ndisc_notify on link up) for fe80::5eff:fe77:1, to ff02::1: Override only, TLLA 02:00:5e:77:00:01. */
export const LINUX_NA_UNSOLICITED_LINK_LOCAL =
  '33330000000102005e77000186dd6000000000203afffe8000000000000000005efffe770001ff020000000000000000' +
  '00000000000188003e3520000000fe8000000000000000005efffe770001020102005e770001';

/** Unsolicited NA for fd77::1 from fd77::1 to ff02::1: Override only, TLLA 02:00:5e:77:00:01. */
export const LINUX_NA_UNSOLICITED =
  '33330000000102005e77000186dd6000000000203afffd770000000000000000000000000001ff020000000000000000' +
  '0000000000018800fb3520000000fd770000000000000000000000000001020102005e770001';

/** Router Solicitation from fe80::5eff:fe77:1 to ff02::2 with SLLA. */
export const LINUX_RS =
  '33330000000202005e77000186dd6000000000103afffe8000000000000000005efffe770001ff020000000000000000' +
  '0000000000028500be3d00000000010102005e770001';

/** Neighbor Solicitation for fd77::2 from fd77::1 to its solicited-node group ff02::1:ff00:2 (MAC 33:33:ff:00:00:02), SLLA 02:00:5e:77:00:01. */
export const LINUX_NS_MULTICAST =
  '3333ff00000202005e77000186dd6000000000203afffd770000000000000000000000000001ff020000000000000000' +
  '0001ff00000287001e3200000000fd770000000000000000000000000002010102005e770001';

/** B's answer: NA for fd77::2 to fd77::1, Solicited and Override, TLLA 02:00:5e:77:00:02. */
export const LINUX_NA_SOLICITED =
  '02005e77000102005e77000286dd6000000000203afffd770000000000000000000000000002fd770000000000000000' +
  '0000000000018800bcbd60000000fd770000000000000000000000000002020102005e770002';

/** The IPv6 echo request that waited for that resolution, fd77::1 to fd77::2. */
export const LINUX_ICMPV6_ECHO =
  '02005e77000202005e77000186dd60026ecf00403a40fd770000000000000000000000000001fd770000000000000000' +
  '000000000002800064eb1c4300013441036b00000000fee30e0000000000101112131415161718191a1b1c1d1e1f2021' +
  '22232425262728292a2b2c2d2e2f3031323334353637';

/** A re-verifying fd77::2 (PROBE state): unicast NS from fe80::5eff:fe77:1 to fd77::2 at its cached MAC, with SLLA. */
export const LINUX_NS_UNICAST =
  '02005e77000202005e77000186dd6000000000203afffe8000000000000000005efffe770001fd770000000000000000' +
  '0000000000028700c03e00000000fd770000000000000000000000000002010102005e770001';

/** B's answer to the unicast NS: Solicited only (no Override), and no TLLA (RFC 4861 §7.2.4 lets it be omitted when the NS was unicast). */
export const LINUX_NA_UNICAST_NO_TLLA =
  '02005e77000102005e77000286dd6000000000183afffd770000000000000000000000000002fe800000000000000000' +
  '5efffe7700018800e0bf40000000fd770000000000000000000000000002';

/** An RFC 5227 ARP probe for 10.77.0.1 written by the script from B (Python AF_PACKET, not the kernel): sender IP 0.0.0.0, target MAC zero, broadcast. */
export const PROBE_ARP_FROM_B =
  'ffffffffffff02005e7700020806000108000604000102005e770002000000000000000000000a4d0001';

/** The kernel's (A's) answer to that probe: an ARP reply unicast to B with target IP 0.0.0.0. */
export const LINUX_ARP_PROBE_REPLY =
  '02005e77000202005e7700010806000108000604000202005e7700010a4d000102005e77000200000000';
