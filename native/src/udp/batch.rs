//! The napi-free half of batched UDP (unit-tested): how a batch of datagrams is cut into GSO
//! messages. The 8-word peer address record and its sockaddr conversion are crate::dgram's.

use crate::dgram::{ADDR_WORDS, W_EXTRA};

/// Word 7 of a udp record: the GRO segment size.
pub const W_SEGMENT: usize = W_EXTRA;

/// The most segments one GSO message carries (the kernel's UDP_MAX_SEGMENTS was 64 until 6.9).
pub const GSO_MAX_SEGMENTS: usize = 64;
/// The most payload bytes one GSO message carries: an IPv4 datagram's 65535 bytes minus the IPv4
/// and UDP headers is 65507; stay below with room for IP options.
pub const GSO_MAX_BYTES: usize = 65000;
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
