/**
 * DNS messages captured on 2026-11-22 with test/vectors/capture-dns.py: real queries written by
 * dig 9.18.49 (Debian bind9-dnsutils 1:9.18.49-1~deb12u3) and real responses written by dnsmasq 2.90
 * (Debian 2.90-4~deb12u2), taken from the loopback of a throwaway network namespace with tcpdump
 * 4.99.3 (libpcap 1.10.3) on Linux 6.18.44. Each string is the UDP payload of one packet, in
 * capture order. Nothing here was written by pktkit or by hand (see test/vectors/SOURCES.md).
 *
 * dnsmasq answered for pktkit.test from its command line and an addn-hosts file (see the script):
 * www 10.99.0.10 / fd99::10, alias CNAME www, MX 10 mail (10.99.0.25, fd99::25), TXT on txt, SRV
 * _sip._udp -> sip:5060 (10.99.0.40), multi 10.99.0.30 and .31. The auth-* vectors come from a
 * second dnsmasq run in authoritative mode (SOA ns.pktkit.test hostmaster.pktkit.test 2026112201
 * 1200 120 1209600 300, TTL 300). Query IDs and COOKIE values are dig's random choices.
 */

/**
 * dig +noedns +noad www.pktkit.test A: no EDNS, RD only; answer A 10.99.0.10 (owner name a pointer
 * to the question).
 */
export const DNS_A_PLAIN_QUERY = '6357010000010000000000000377777706706b746b697404746573740000010001';
export const DNS_A_PLAIN_RESPONSE =
  '6357858000010001000000000377777706706b746b697404746573740000010001c00c000100010000000000040a63000a';
/** dig www.pktkit.test AAAA: RD+AD, EDNS0 udp 1232 with a client COOKIE; answer AAAA fd99::10. */
export const DNS_AAAA_QUERY =
  '2bd2012000010000000000010377777706706b746b6974047465737400001c000100002904d000000000000c000a0008913d905caf2fadba';
export const DNS_AAAA_RESPONSE =
  '2bd2858000010001000000010377777706706b746b6974047465737400001c0001c00c001c0001000000000010fd99000000000000000000000000001000002904d0000000000000';
/**
 * dig alias.pktkit.test A: answer CNAME www.pktkit.test (uncompressed rdata) then A, whose owner
 * is a pointer into the CNAME rdata (0xc02f).
 */
export const DNS_CNAME_QUERY =
  '47200120000100000000000105616c69617306706b746b69740474657374000001000100002904d000000000000c000a0008216c72be567fab41';
export const DNS_CNAME_RESPONSE =
  '47208580000100020000000105616c69617306706b746b697404746573740000010001c00c000500010000000000110377777706706b746b6974047465737400c02f000100010000000000040a63000a00002904d0000000000000';
/**
 * dig pktkit.test MX: answer MX 10 mail.pktkit.test; additional A and AAAA of mail.pktkit.test,
 * owners pointing into the MX rdata.
 */
export const DNS_MX_QUERY =
  '1a9c0120000100000000000106706b746b6974047465737400000f000100002904d000000000000c000a00082e5eb606a87101b6';
export const DNS_MX_RESPONSE =
  '1a9c8580000100010000000306706b746b6974047465737400000f0001c00c000f0001000000000014000a046d61696c06706b746b6974047465737400c02b000100010000000000040a630019c02b001c0001000000000010fd99000000000000000000000000002500002904d0000000000000';
/** dig txt.pktkit.test TXT: two character-strings, "v=pktkit golden" and "second string". */
export const DNS_TXT_QUERY =
  'de34012000010000000000010374787406706b746b69740474657374000010000100002904d000000000000c000a0008670c88cdb97b0a98';
export const DNS_TXT_RESPONSE =
  'de34858000010001000000010374787406706b746b697404746573740000100001c00c0010000100000000001e0f763d706b746b697420676f6c64656e0d7365636f6e6420737472696e6700002904d0000000000000';
/**
 * dig _sip._udp.pktkit.test SRV: 10 20 5060 sip.pktkit.test (target uncompressed, RFC 2782);
 * additional A of the target.
 */
export const DNS_SRV_QUERY =
  '52b801200001000000000001045f736970045f75647006706b746b69740474657374000021000100002904d000000000000c000a000801041c84dc5c3b81';
export const DNS_SRV_RESPONSE =
  '52b885800001000100000002045f736970045f75647006706b746b697404746573740000210001c00c00210001000000000017000a001413c40373697006706b746b6974047465737400c039000100010000000000040a63002800002904d0000000000000';
/** dig -x 10.99.0.10: PTR 10.0.99.10.in-addr.arpa -> www.pktkit.test. */
export const DNS_PTR_QUERY =
  '01f201200001000000000001023130013002393902313007696e2d61646472046172706100000c000100002904d000000000000c000a00085c109d38fbe8bb28';
export const DNS_PTR_RESPONSE =
  '01f285800001000100000001023130013002393902313007696e2d61646472046172706100000c0001c00c000c00010000000000110377777706706b746b697404746573740000002904d0000000000000';
/** dig nope.pktkit.test A: NXDOMAIN from the cache, no records. */
export const DNS_NXDOMAIN_QUERY =
  'c9ed01200001000000000001046e6f706506706b746b69740474657374000001000100002904d000000000000c000a0008ca0482176dc5d0b9';
export const DNS_NXDOMAIN_RESPONSE =
  'c9ed81830001000000000001046e6f706506706b746b69740474657374000001000100002904d0000000000000';
/**
 * dig +dnssec multi.pktkit.test A: DO bit set in the OPT TTL; two A records, both owners 0xc00c.
 */
export const DNS_MULTI_DO_QUERY =
  'fc7601200001000000000001056d756c746906706b746b69740474657374000001000100002904d000008000000c000a0008c08454281b54c9e9';
export const DNS_MULTI_DO_RESPONSE =
  'fc7685800001000200000001056d756c746906706b746b697404746573740000010001c00c000100010000000000040a63001ec00c000100010000000000040a63001f00002904d0000080000000';
/**
 * dig pktkit.test SOA against dnsmasq in authoritative mode: SOA answer, NS in authority pointing
 * into the SOA rdata (0xc01d).
 */
export const DNS_AUTH_SOA_QUERY =
  '2b350120000100000000000106706b746b69740474657374000006000100002904d000000000000c000a0008fcfe59f0026b9992';
export const DNS_AUTH_SOA_RESPONSE =
  '2b358500000100010001000106706b746b69740474657374000006000106706b746b6974047465737400000600010000012c003c026e7306706b746b69740474657374000a686f73746d617374657206706b746b697404746573740078c404c9000004b000000078001275000000012cc01d000200010000012c0010026e7306706b746b697404746573740000002904d0000000000000';
/** dig pktkit.test NS (authoritative mode): NS ns.pktkit.test, no compression. */
export const DNS_AUTH_NS_QUERY =
  '9cee0120000100000000000106706b746b69740474657374000002000100002904d000000000000c000a000888fdf46346538537';
export const DNS_AUTH_NS_RESPONSE =
  '9cee8500000100010000000106706b746b69740474657374000002000106706b746b6974047465737400000200010000012c0010026e7306706b746b697404746573740000002904d0000000000000';
/**
 * dig nope.pktkit.test A (authoritative mode): NXDOMAIN with AA and the zone SOA in the authority
 * section.
 */
export const DNS_AUTH_NXDOMAIN_QUERY =
  'bc7201200001000000000001046e6f706506706b746b69740474657374000001000100002904d000000000000c000a00083d1685ed5cfa6011';
export const DNS_AUTH_NXDOMAIN_RESPONSE =
  'bc7285030001000000010001046e6f706506706b746b69740474657374000001000106706b746b6974047465737400000600010000012c003c026e7306706b746b69740474657374000a686f73746d617374657206706b746b697404746573740078c404c9000004b000000078001275000000012c00002904d0000000000000';

/** Every captured payload, for tests that walk them all (fuzz seeds, round trips). */
export const DNS_CAPTURED: readonly { label: string; kind: 'query' | 'response'; hex: string }[] = [
  { label: 'a-plain', kind: 'query', hex: DNS_A_PLAIN_QUERY },
  { label: 'a-plain', kind: 'response', hex: DNS_A_PLAIN_RESPONSE },
  { label: 'aaaa', kind: 'query', hex: DNS_AAAA_QUERY },
  { label: 'aaaa', kind: 'response', hex: DNS_AAAA_RESPONSE },
  { label: 'cname', kind: 'query', hex: DNS_CNAME_QUERY },
  { label: 'cname', kind: 'response', hex: DNS_CNAME_RESPONSE },
  { label: 'mx', kind: 'query', hex: DNS_MX_QUERY },
  { label: 'mx', kind: 'response', hex: DNS_MX_RESPONSE },
  { label: 'txt', kind: 'query', hex: DNS_TXT_QUERY },
  { label: 'txt', kind: 'response', hex: DNS_TXT_RESPONSE },
  { label: 'srv', kind: 'query', hex: DNS_SRV_QUERY },
  { label: 'srv', kind: 'response', hex: DNS_SRV_RESPONSE },
  { label: 'ptr', kind: 'query', hex: DNS_PTR_QUERY },
  { label: 'ptr', kind: 'response', hex: DNS_PTR_RESPONSE },
  { label: 'nxdomain', kind: 'query', hex: DNS_NXDOMAIN_QUERY },
  { label: 'nxdomain', kind: 'response', hex: DNS_NXDOMAIN_RESPONSE },
  { label: 'multi-do', kind: 'query', hex: DNS_MULTI_DO_QUERY },
  { label: 'multi-do', kind: 'response', hex: DNS_MULTI_DO_RESPONSE },
  { label: 'auth-soa', kind: 'query', hex: DNS_AUTH_SOA_QUERY },
  { label: 'auth-soa', kind: 'response', hex: DNS_AUTH_SOA_RESPONSE },
  { label: 'auth-ns', kind: 'query', hex: DNS_AUTH_NS_QUERY },
  { label: 'auth-ns', kind: 'response', hex: DNS_AUTH_NS_RESPONSE },
  { label: 'auth-nxdomain', kind: 'query', hex: DNS_AUTH_NXDOMAIN_QUERY },
  { label: 'auth-nxdomain', kind: 'response', hex: DNS_AUTH_NXDOMAIN_RESPONSE },
];
