//! The napi-free half of batched UDP (unit-tested): the 8-word peer address record and its
//! conversion to and from sockaddrs, and how a batch of datagrams is cut into GSO messages.

use std::mem::{size_of, zeroed};

/// Words per peer address record.
pub const ADDR_WORDS: usize = 8;
pub const W_FAMILY: usize = 0;
pub const W_PORT: usize = 1;
pub const W_ADDR: usize = 2;
pub const W_SCOPE: usize = 6;
pub const W_SEGMENT: usize = 7;

/// The most segments one GSO message carries (the kernel's UDP_MAX_SEGMENTS was 64 until 6.9).
pub const GSO_MAX_SEGMENTS: usize = 64;
/// The most payload bytes one GSO message carries: an IPv4 datagram's 65535 bytes minus the IPv4
/// and UDP headers is 65507; stay below with room for IP options.
pub const GSO_MAX_BYTES: usize = 65000;
// ---------------------------------------------------------------------------------------------
// Addresses: records <-> sockaddr (napi-free, unit-tested)
// ---------------------------------------------------------------------------------------------

/// A sockaddr big enough for IPv4 and IPv6.
pub type SockAddr = libc::sockaddr_in6;

/// Writes the sockaddr for `rec` (8 words) into `out` for a socket of `sock_family` (4 or 6).
/// Returns its length, 0 for "no address" (family 0), or None when the record cannot be sent
/// from this socket (an IPv6 peer on an IPv4 socket, an unknown family).
pub fn record_to_sockaddr(rec: &[i32], sock_family: u32, out: &mut SockAddr) -> Option<libc::socklen_t> {
    let family = rec[W_FAMILY];
    let port = (rec[W_PORT] as u16).to_be();
    match (family, sock_family) {
        (0, _) => Some(0),
        (4, 4) => {
            // SAFETY: sockaddr_in is smaller than sockaddr_in6 and both are plain old data.
            let sin = unsafe { &mut *(out as *mut SockAddr).cast::<libc::sockaddr_in>() };
            *sin = unsafe { zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = port;
            sin.sin_addr.s_addr = (rec[W_ADDR] as u32).to_be();
            Some(size_of::<libc::sockaddr_in>() as libc::socklen_t)
        }
        (4, 6) => {
            *out = unsafe { zeroed() };
            out.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            out.sin6_port = port;
            let mut b = [0u8; 16];
            b[10] = 0xff;
            b[11] = 0xff;
            b[12..16].copy_from_slice(&(rec[W_ADDR] as u32).to_be_bytes());
            out.sin6_addr.s6_addr = b;
            Some(size_of::<SockAddr>() as libc::socklen_t)
        }
        (6, 6) => {
            *out = unsafe { zeroed() };
            out.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            out.sin6_port = port;
            let mut b = [0u8; 16];
            for k in 0..4 {
                b[k * 4..k * 4 + 4].copy_from_slice(&(rec[W_ADDR + k] as u32).to_be_bytes());
            }
            out.sin6_addr.s6_addr = b;
            out.sin6_scope_id = rec[W_SCOPE] as u32;
            Some(size_of::<SockAddr>() as libc::socklen_t)
        }
        _ => None,
    }
}

/// Fills `rec[0..7]` from a sockaddr the kernel wrote (word 7, the segment, is left alone).
/// v4-mapped IPv6 addresses become family 4. Unknown families give family 0.
pub fn sockaddr_to_record(sa: &SockAddr, len: libc::socklen_t, rec: &mut [i32]) {
    rec[W_FAMILY..W_SEGMENT].fill(0);
    if len == 0 {
        return;
    }
    if sa.sin6_family == libc::AF_INET as libc::sa_family_t {
        // SAFETY: the kernel wrote a sockaddr_in here.
        let sin = unsafe { &*(sa as *const SockAddr).cast::<libc::sockaddr_in>() };
        rec[W_FAMILY] = 4;
        rec[W_PORT] = i32::from(u16::from_be(sin.sin_port));
        rec[W_ADDR] = u32::from_be(sin.sin_addr.s_addr) as i32;
    } else if sa.sin6_family == libc::AF_INET6 as libc::sa_family_t {
        let b = sa.sin6_addr.s6_addr;
        rec[W_PORT] = i32::from(u16::from_be(sa.sin6_port));
        if b[..10].iter().all(|&x| x == 0) && b[10] == 0xff && b[11] == 0xff {
            rec[W_FAMILY] = 4;
            rec[W_ADDR] = u32::from_be_bytes([b[12], b[13], b[14], b[15]]) as i32;
        } else {
            rec[W_FAMILY] = 6;
            for k in 0..4 {
                rec[W_ADDR + k] = u32::from_be_bytes([b[k * 4], b[k * 4 + 1], b[k * 4 + 2], b[k * 4 + 3]]) as i32;
            }
            rec[W_SCOPE] = sa.sin6_scope_id as i32;
        }
    }
}

/// True when two records name the same peer (words 0..7).
pub fn same_peer(a: &[i32], b: &[i32]) -> bool {
    a[..W_SEGMENT] == b[..W_SEGMENT]
}

// ---------------------------------------------------------------------------------------------
// GSO planning (napi-free, unit-tested)
// ---------------------------------------------------------------------------------------------

/// One message of a send: entries `first .. first + count`, and the GSO segment size when it
/// carries more than one datagram (0: one plain datagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendRun {
    pub first: usize,
    pub count: usize,
    pub segment: usize,
}

/// What a GSO message may carry (`enabled` false: one datagram per message).
#[derive(Clone, Copy, Debug)]
pub struct GsoLimits {
    pub enabled: bool,
    pub max_segments: usize,
    pub max_bytes: usize,
}

/// Splits entries `start .. start + count` into messages. With `gso`, a run is consecutive
/// entries to the same peer, all `lens` equal to the first one's except the last, which may be
/// shorter (and ends the run), at most `max_segments` and `max_bytes`; without, one entry each.
pub fn plan_runs(lens: &[i32], addrs: &[i32], start: usize, count: usize, limits: GsoLimits, out: &mut Vec<SendRun>) {
    let GsoLimits { enabled: gso, max_segments, max_bytes } = limits;
    out.clear();
    let end = start + count;
    let mut i = start;
    while i < end {
        let seg = lens[i].max(0) as usize;
        let mut n = 1;
        let mut bytes = seg;
        if gso && seg > 0 {
            let rec = &addrs[i * ADDR_WORDS..i * ADDR_WORDS + ADDR_WORDS];
            while i + n < end && n < max_segments {
                let len = lens[i + n].max(0) as usize;
                let r = &addrs[(i + n) * ADDR_WORDS..(i + n) * ADDR_WORDS + ADDR_WORDS];
                if len == 0 || len > seg || bytes + len > max_bytes || !same_peer(rec, r) {
                    break;
                }
                n += 1;
                bytes += len;
                if len < seg {
                    break; // a short segment can only be the last
                }
            }
        }
        out.push(SendRun { first: i, count: n, segment: if n > 1 { seg } else { 0 } });
        i += n;
    }
}

/// How many datagrams an entry of `len` bytes with GRO segment `segment` holds.
pub fn segments_in(len: usize, segment: usize) -> usize {
    if segment == 0 || len == 0 {
        1
    } else {
        len.div_ceil(segment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(family: i32, port: i32, a: [i32; 4], scope: i32) -> Vec<i32> {
        vec![family, port, a[0], a[1], a[2], a[3], scope, 0]
    }

    #[test]
    fn ipv4_record_round_trips_through_sockaddr_in() {
        let r = rec(4, 51820, [0x7f00_0001, 0, 0, 0], 0);
        let mut sa: SockAddr = unsafe { zeroed() };
        let len = record_to_sockaddr(&r, 4, &mut sa).unwrap();
        assert_eq!(len as usize, size_of::<libc::sockaddr_in>());
        let sin = unsafe { &*(&sa as *const SockAddr).cast::<libc::sockaddr_in>() };
        assert_eq!(sin.sin_family, libc::AF_INET as u16);
        assert_eq!(sin.sin_port, 51820u16.to_be());
        assert_eq!(sin.sin_addr.s_addr.to_ne_bytes(), [127, 0, 0, 1]);
        let mut back = vec![0; 8];
        back[W_SEGMENT] = 9;
        sockaddr_to_record(&sa, len, &mut back);
        assert_eq!(back, vec![4, 51820, 0x7f00_0001, 0, 0, 0, 0, 9], "word 7 is left alone");
    }

    #[test]
    fn high_ipv4_addresses_survive_the_int32_words() {
        let r = rec(4, 1, [0xc0a8_0101u32 as i32, 0, 0, 0], 0); // 192.168.1.1, negative as i32
        let mut sa: SockAddr = unsafe { zeroed() };
        let len = record_to_sockaddr(&r, 4, &mut sa).unwrap();
        let mut back = vec![0; 8];
        sockaddr_to_record(&sa, len, &mut back);
        assert_eq!(back[W_ADDR] as u32, 0xc0a8_0101);
    }

    #[test]
    fn ipv4_record_on_an_ipv6_socket_goes_v4_mapped_and_comes_back_as_family_4() {
        let r = rec(4, 53, [0x0a00_0001, 0, 0, 0], 0);
        let mut sa: SockAddr = unsafe { zeroed() };
        let len = record_to_sockaddr(&r, 6, &mut sa).unwrap();
        assert_eq!(len as usize, size_of::<SockAddr>());
        assert_eq!(sa.sin6_addr.s6_addr, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
        let mut back = vec![0; 8];
        sockaddr_to_record(&sa, len, &mut back);
        assert_eq!(back, vec![4, 53, 0x0a00_0001, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn ipv6_record_round_trips_with_its_scope() {
        // fe80::1%3
        let r = rec(6, 443, [0xfe80_0000u32 as i32, 0, 0, 1], 3);
        let mut sa: SockAddr = unsafe { zeroed() };
        let len = record_to_sockaddr(&r, 6, &mut sa).unwrap();
        assert_eq!(sa.sin6_addr.s6_addr[0], 0xfe);
        assert_eq!(sa.sin6_addr.s6_addr[15], 1);
        assert_eq!(sa.sin6_scope_id, 3);
        let mut back = vec![0; 8];
        sockaddr_to_record(&sa, len, &mut back);
        assert_eq!(back, r);
    }

    #[test]
    fn unreachable_families_are_refused_and_family_0_means_no_address() {
        let mut sa: SockAddr = unsafe { zeroed() };
        assert_eq!(record_to_sockaddr(&rec(6, 1, [0, 0, 0, 1], 0), 4, &mut sa), None);
        assert_eq!(record_to_sockaddr(&rec(5, 1, [0; 4], 0), 6, &mut sa), None);
        assert_eq!(record_to_sockaddr(&rec(0, 0, [0; 4], 0), 4, &mut sa), Some(0));
    }

    fn addrs_of(peers: &[i32]) -> Vec<i32> {
        peers.iter().flat_map(|&p| rec(4, p, [0x7f00_0001, 0, 0, 0], 0)).collect()
    }

    #[test]
    fn gso_runs_join_equal_lengths_to_one_peer_with_a_short_tail() {
        let lens = [1400, 1400, 1400, 900, 1400, 1400];
        let addrs = addrs_of(&[1, 1, 1, 1, 1, 1]);
        let mut out = Vec::new();
        plan_runs(&lens, &addrs, 0, 6, GsoLimits { enabled: true, max_segments: 64, max_bytes: 65000 }, &mut out);
        assert_eq!(out, vec![SendRun { first: 0, count: 4, segment: 1400 }, SendRun { first: 4, count: 2, segment: 1400 }]);
    }

    #[test]
    fn gso_runs_break_on_peer_change_a_longer_datagram_and_the_limits() {
        let lens = [100, 100, 200, 100, 100, 100, 100];
        let addrs = addrs_of(&[1, 1, 1, 1, 2, 2, 2]);
        let mut out = Vec::new();
        plan_runs(&lens, &addrs, 0, 7, GsoLimits { enabled: true, max_segments: 2, max_bytes: 65000 }, &mut out);
        assert_eq!(
            out,
            vec![
                SendRun { first: 0, count: 2, segment: 100 },
                // 200 then a shorter 100: a run whose last segment is short.
                SendRun { first: 2, count: 2, segment: 200 },
                SendRun { first: 4, count: 2, segment: 100 },
                SendRun { first: 6, count: 1, segment: 0 },
            ]
        );
        // Byte limit: 2 x 100 fits in 250, a third does not.
        plan_runs(&lens, &addrs, 4, 3, GsoLimits { enabled: true, max_segments: 64, max_bytes: 250 }, &mut out);
        assert_eq!(out, vec![SendRun { first: 4, count: 2, segment: 100 }, SendRun { first: 6, count: 1, segment: 0 }]);
    }

    #[test]
    fn without_gso_every_entry_is_its_own_message_and_a_window_is_respected() {
        let lens = [10, 10, 10, 10];
        let addrs = addrs_of(&[1, 1, 1, 1]);
        let mut out = Vec::new();
        plan_runs(&lens, &addrs, 1, 2, GsoLimits { enabled: false, max_segments: 64, max_bytes: 65000 }, &mut out);
        assert_eq!(out, vec![SendRun { first: 1, count: 1, segment: 0 }, SendRun { first: 2, count: 1, segment: 0 }]);
        plan_runs(&lens, &addrs, 1, 3, GsoLimits { enabled: true, max_segments: 64, max_bytes: 65000 }, &mut out);
        assert_eq!(out, vec![SendRun { first: 1, count: 3, segment: 10 }]);
    }

    #[test]
    fn empty_datagrams_never_join_a_run() {
        let lens = [0, 0, 5, 0];
        let addrs = addrs_of(&[1, 1, 1, 1]);
        let mut out = Vec::new();
        plan_runs(&lens, &addrs, 0, 4, GsoLimits { enabled: true, max_segments: 64, max_bytes: 65000 }, &mut out);
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn gro_entries_hold_ceil_len_over_segment_datagrams() {
        assert_eq!(segments_in(1400, 0), 1);
        assert_eq!(segments_in(2800, 1400), 2);
        assert_eq!(segments_in(2900, 1400), 3);
        assert_eq!(segments_in(0, 1400), 1);
    }
}
