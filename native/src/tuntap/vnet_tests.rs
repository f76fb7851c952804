//! Tests of vnet.rs against a reference computed another way: a plain big-endian 16-bit word
//! sum (RFC 1071 §4.1's loop) over the pseudo-header and the segment laid end to end in a Vec.

use super::*;

/// RFC 1071 §4.1, word by word in network order: the checksum of `b`.
fn ref_csum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    let mut i = 0;
    while i < b.len() {
        let hi = u32::from(b[i]) << 8;
        let lo = if i + 1 < b.len() { u32::from(b[i + 1]) } else { 0 };
        s += hi | lo;
        i += 2;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// The pseudo-header (RFC 9293 §3.1 / RFC 8200 §8.1) of the transport segment at `l4`.
fn pseudo(pkt: &[u8], l4: usize, proto: u8) -> Vec<u8> {
    let l4_len = (pkt.len() - l4) as u32;
    let mut p = Vec::new();
    if pkt[0] >> 4 == 6 {
        p.extend_from_slice(&pkt[8..40]);
        p.extend_from_slice(&l4_len.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, proto]);
    } else {
        p.extend_from_slice(&pkt[12..20]);
        p.extend_from_slice(&[0, proto]);
        p.extend_from_slice(&(l4_len as u16).to_be_bytes());
    }
    p
}

/// True when the transport checksum of `pkt` verifies (the reference way).
fn l4_ok(pkt: &[u8], l4: usize, proto: u8) -> bool {
    let mut all = pseudo(pkt, l4, proto);
    all.extend_from_slice(&pkt[l4..]);
    ref_csum(&all) == 0
}

const SRC6: [u8; 16] = [0xfd, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const DST6: [u8; 16] = [0xfd, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xef];

/// An IPv4 or IPv6 packet with a TCP header of 32 bytes (12 of options) or a UDP header and
/// `payload` bytes of a pattern; the transport checksum complete (reference), `tcp_flags` set.
fn packet(v6: bool, tcp: bool, payload: usize, seq: u32, tcp_flags: u8) -> (Vec<u8>, usize) {
    let l4 = if v6 { 40 } else { 20 };
    let l4_hdr = if tcp { 32 } else { 8 };
    let len = l4 + l4_hdr + payload;
    let mut p = vec![0u8; len];
    let proto = if tcp { 6 } else { 17 };
    if v6 {
        p[0] = 0x60;
        p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
        p[6] = proto;
        p[7] = 64;
        p[8..24].copy_from_slice(&SRC6);
        p[24..40].copy_from_slice(&DST6);
    } else {
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len.min(0xffff) as u16).to_be_bytes());
        p[4..6].copy_from_slice(&0xfffeu16.to_be_bytes());
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = proto;
        p[12..16].copy_from_slice(&[10, 0, 1, 2]);
        p[16..20].copy_from_slice(&[10, 0, 2, 9]);
        let c = ref_csum(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
    }
    p[l4..l4 + 2].copy_from_slice(&40000u16.to_be_bytes());
    p[l4 + 2..l4 + 4].copy_from_slice(&5201u16.to_be_bytes());
    if tcp {
        p[l4 + 4..l4 + 8].copy_from_slice(&seq.to_be_bytes());
        p[l4 + 8..l4 + 12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        p[l4 + 12] = 8 << 4;
        p[l4 + 13] = tcp_flags;
        p[l4 + 14..l4 + 16].copy_from_slice(&502u16.to_be_bytes());
        p[l4 + 20..l4 + 32].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]); // NOP NOP TS
    } else {
        p[l4 + 4..l4 + 6].copy_from_slice(&((len - l4) as u16).to_be_bytes());
    }
    for (i, b) in p[l4 + l4_hdr..].iter_mut().enumerate() {
        *b = (i * 7 + 3) as u8;
    }
    let at = l4 + if tcp { 16 } else { 6 };
    let mut all = pseudo(&p, l4, proto);
    all.extend_from_slice(&p[l4..]);
    let c = ref_csum(&all);
    p[at..at + 2].copy_from_slice(&c.to_be_bytes());
    (p, l4)
}

/// What the kernel hands over with NEEDS_CSUM: the field holds the folded pseudo-header sum.
fn make_partial(p: &mut [u8], l4: usize, tcp: bool) -> VnetHdr {
    let proto = if tcp { 6 } else { 17 };
    let off = if tcp { 16 } else { 6 };
    let ps = !ref_csum(&pseudo(p, l4, proto));
    p[l4 + off..l4 + off + 2].copy_from_slice(&ps.to_be_bytes());
    VnetHdr { flags: F_NEEDS_CSUM, csum_start: l4 as u16, csum_offset: off as u16, ..VnetHdr::default() }
}

#[test]
fn header_parse_and_emit() {
    // flags NEEDS_CSUM, TCPV4|ECN, hdr_len 66, gso_size 1448, csum_start 20, csum_offset 16.
    let golden = [0x01, 0x81, 66, 0, 0xa8, 0x05, 20, 0, 16, 0, 0, 0];
    let h = VnetHdr::parse(&golden);
    assert_eq!(h, VnetHdr { flags: 1, gso_type: 0x81, hdr_len: 66, gso_size: 1448, csum_start: 20, csum_offset: 16 });
    assert_eq!(h.gso(), GSO_TCPV4);
    let mut b = [0xa5u8; 16];
    h.emit(&mut b, HDR_LEN_V1);
    assert_eq!(&b[..12], &golden);
    assert_eq!(&b[12..], &[0xa5; 4], "nothing written past the header");
    let mut b = [0xa5u8; 12];
    h.emit(&mut b, HDR_LEN);
    assert_eq!(&b[..10], &golden[..10]);
    assert_eq!(&b[10..], &[0xa5, 0xa5]);
    assert_eq!(VnetHdr::parse(&b), h, "round trip");
}

#[test]
fn sum_matches_the_reference_at_every_length() {
    // RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
    let ex = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    assert_eq!(u16::from_be_bytes(finish(sum(&ex, 0)).to_ne_bytes()), !0xddf2);
    let data: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for n in 0..data.len() {
        let got = u16::from_be_bytes(finish(sum(&data[..n], 0)).to_ne_bytes());
        assert_eq!(got, ref_csum(&data[..n]), "length {n}");
    }
    // Pieces at even offsets add up to the whole.
    let split = finish(sum(&data[101..], sum(&data[..100], 0)));
    assert_ne!(split, finish(sum(&data, 0)), "an odd cut is not allowed: the test would be vacuous otherwise");
    assert_eq!(finish(sum(&data[100..], sum(&data[..100], 0))), finish(sum(&data, 0)));
    // All ones everywhere: the end-around carries.
    let ff = [0xffu8; 64];
    assert_eq!(u16::from_be_bytes(finish(sum(&ff, 0)).to_ne_bytes()), ref_csum(&ff));
}

#[test]
fn completes_partial_checksums_tcp_udp_v4_v6() {
    for (v6, tcp) in [(false, true), (false, false), (true, true), (true, false)] {
        for payload in [0, 1, 7, 1000, 1401] {
            let (want, l4) = packet(v6, tcp, payload, 77, 0x18);
            let mut p = want.clone();
            let h = make_partial(&mut p, l4, tcp);
            assert_ne!(p, want, "the partial checksum differs from the full one");
            complete_csum(&mut p, &h).unwrap();
            let proto = if tcp { 6 } else { 17 };
            assert!(l4_ok(&p, l4, proto), "v6 {v6} tcp {tcp} payload {payload}");
            // 0 and 0xffff are the same one's-complement number; UDP must send the latter.
            let at = l4 + if tcp { 16 } else { 6 };
            if want[at..at + 2] != [0, 0] {
                assert_eq!(p, want, "v6 {v6} tcp {tcp} payload {payload}");
            }
        }
    }
}

#[test]
fn a_udp_checksum_of_zero_is_sent_as_all_ones() {
    let (mut p, l4) = packet(false, false, 2, 0, 0);
    // Choose the last two payload bytes so that the sum comes out as 0xffff (checksum 0).
    p[l4 + 6..l4 + 8].fill(0);
    let n = p.len();
    p[n - 2..].fill(0);
    let mut all = pseudo(&p, l4, 17);
    all.extend_from_slice(&p[l4..]);
    let fill = !ref_csum(&all);
    p[n - 2..].copy_from_slice(&(!fill).to_be_bytes());
    let h = make_partial(&mut p, l4, false);
    complete_csum(&mut p, &h).unwrap();
    assert_eq!(&p[l4 + 6..l4 + 8], &[0xff, 0xff]);
    assert!(l4_ok(&p, l4, 17));
}

#[test]
fn completion_refuses_offsets_outside_the_packet() {
    let (mut p, _) = packet(false, true, 10, 1, 0);
    let n = p.len() as u16;
    let h = VnetHdr { flags: F_NEEDS_CSUM, csum_start: 20, csum_offset: n - 21, ..VnetHdr::default() };
    assert_eq!(complete_csum(&mut p, &h), Err(Bad));
    let h = VnetHdr { flags: F_NEEDS_CSUM, csum_start: n, csum_offset: 0, ..VnetHdr::default() };
    assert_eq!(complete_csum(&mut p, &h), Err(Bad));
}

/// Segments a super-packet and checks every segment against the original, the reference way.
fn check_segmentation(v6: bool, tcp: bool, payload: usize, mss: u16, flags: u8) {
    let seq = 0xffff_f000; // wraps during the super-packet
    let (mut sp, l4) = packet(v6, tcp, payload, seq, flags);
    let mut h = make_partial(&mut sp, l4, tcp);
    h.gso_type = match (v6, tcp) {
        (false, true) => GSO_TCPV4,
        (true, true) => GSO_TCPV6,
        _ => GSO_UDP_L4,
    };
    h.gso_size = mss;
    let g = plan(&sp, &h).unwrap().unwrap();
    let l4_hdr = if tcp { 32 } else { 8 };
    assert_eq!(g.hlen, l4 + l4_hdr);
    let mss = usize::from(mss);
    assert_eq!(g.count(), payload.div_ceil(mss).max(1));
    let mut out = vec![0xa5u8; g.max_segment() + 8];
    let mut joined = Vec::new();
    let proto = if tcp { 6 } else { 17 };
    for i in 0..g.count() {
        out.fill(0xa5);
        let n = g.hlen.max(write_segment(&sp, &g, i, &mut out));
        let s = &out[..n];
        assert!(out[n..].iter().all(|&b| b == 0xa5), "nothing past the segment");
        let chunk = mss.min(payload - i * mss);
        assert_eq!(n, g.hlen + chunk, "segment {i} length");
        if v6 {
            assert_eq!(usize::from(u16::from_be_bytes([s[4], s[5]])), n - 40);
        } else {
            assert_eq!(usize::from(u16::from_be_bytes([s[2], s[3]])), n);
            assert_eq!(u16::from_be_bytes([s[4], s[5]]), 0xfffeu16.wrapping_add(i as u16), "IPv4 ID counts on");
            assert_eq!(ref_csum(&s[..20]), 0, "IPv4 header checksum");
        }
        assert!(l4_ok(s, l4, proto), "segment {i}: transport checksum");
        if tcp {
            let sseq = u32::from_be_bytes([s[l4 + 4], s[l4 + 5], s[l4 + 6], s[l4 + 7]]);
            assert_eq!(sseq, seq.wrapping_add((i * mss) as u32));
            let last = i + 1 == g.count();
            let f = s[l4 + 13];
            assert_eq!(f & 0x09 != 0, last && flags & 0x09 != 0, "FIN/PSH only on the last");
            assert_eq!(f & 0x80 != 0, i == 0 && flags & 0x80 != 0, "CWR only on the first");
            assert_eq!(f & 0x10, flags & 0x10, "ACK on all");
            assert_eq!(&s[l4 + 20..l4 + 32], &sp[l4 + 20..l4 + 32], "options copied");
        } else {
            assert_eq!(usize::from(u16::from_be_bytes([s[l4 + 4], s[l4 + 5]])), n - l4);
        }
        joined.extend_from_slice(&s[g.hlen..]);
    }
    assert_eq!(joined, &sp[g.hlen..], "the payload, in order, whole");
}

#[test]
fn segments_tcp_v4_and_v6() {
    check_segmentation(false, true, 5000, 1448, 0x80 | 0x10 | 0x08 | 0x01); // CWR ACK PSH FIN
    check_segmentation(false, true, 4 * 1448, 1448, 0x10 | 0x08);
    check_segmentation(true, true, 65535 - 40 - 32, 1428, 0x10 | 0x08);
    check_segmentation(true, true, 1000, 1448, 0x10 | 0x01); // one segment
    check_segmentation(false, true, 64_000, 536, 0x10);
}

#[test]
fn segments_udp_l4_v4_and_v6() {
    check_segmentation(false, false, 4000, 1200, 0);
    check_segmentation(true, false, 2401, 1200, 0);
}

#[test]
fn refuses_what_it_cannot_segment() {
    let (sp, l4) = packet(false, true, 3000, 1, 0x10);
    let h = VnetHdr { flags: F_NEEDS_CSUM, gso_type: GSO_TCPV4, gso_size: 1000, csum_start: l4 as u16, csum_offset: 16, hdr_len: 0 };
    assert!(plan(&sp, &h).unwrap().is_some());
    assert_eq!(plan(&sp, &VnetHdr { gso_type: GSO_NONE, ..h }), Ok(None));
    assert_eq!(plan(&sp, &VnetHdr { gso_type: GSO_UDP, ..h }), Err(Bad), "UFO");
    assert_eq!(plan(&sp, &VnetHdr { gso_type: GSO_TCPV6, ..h }), Err(Bad), "IPv4 packet, TCPV6 type");
    assert_eq!(plan(&sp, &VnetHdr { gso_size: 0, ..h }), Err(Bad));
    assert_eq!(plan(&sp[..l4 + 10], &h), Err(Bad), "truncated TCP header");
    assert_eq!(plan(&sp, &VnetHdr { csum_start: 10, ..h }), Err(Bad), "transport inside the IP header");
    let mut bad_doff = sp.clone();
    bad_doff[l4 + 12] = 2 << 4;
    assert_eq!(plan(&bad_doff, &h), Err(Bad));
    assert_eq!(plan(&[], &h), Err(Bad));
}

#[test]
fn offload_requests_are_checked_as_the_kernel_would() {
    let tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    assert_eq!(check_offloads(tso), Ok(0x0f));
    assert_eq!(check_offloads(0), Ok(0));
    assert!(check_offloads(TUN_F_TSO4).is_err(), "TSO without CSUM");
    assert!(check_offloads(TUN_F_CSUM | TUN_F_USO4).is_err(), "USO4 alone");
    assert_eq!(check_offloads(TUN_F_CSUM | TUN_F_USO4 | TUN_F_USO6), Ok(0x61));
    assert!(check_offloads(0x10).is_err(), "UFO is not asked for");
}
