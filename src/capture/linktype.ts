/**
 * Link-layer header types for capture files (draft-ietf-opsawg-pcaplinktype, the tcpdump.org
 * LINKTYPE_ registry): the value in a pcap file header or a pcapng IDB that tells a reader how
 * to decode each packet.
 */

/** IEEE 802.3 Ethernet: destination MAC, source MAC, EtherType, payload (no FCS). For L2 devices. */
export const LINKTYPE_ETHERNET = 1;
/** Raw IP: the packet starts with an IPv4 or IPv6 header, told apart by its version nibble. For L3 devices. */
export const LINKTYPE_RAW = 101;

/** Readable names for the link types pktkit writes (error messages, stats). */
export function linkTypeName(linkType: number): string {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return 'ETHERNET';
    case LINKTYPE_RAW:
      return 'RAW';
    default:
      return `LINKTYPE ${linkType}`;
  }
}
