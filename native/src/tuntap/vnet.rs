//! The virtio-net header on a TUN descriptor (IFF_VNET_HDR; linux/virtio_net.h, the virtio 1.2
//! spec §5.1.6 "Device Operation"), and what pktkit does with the packets it describes: complete
//! a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) and cut a GSO super-packet into MSS-sized
//! segments, as a NIC doing TSO/USO would. Pure functions over byte slices, unit-tested below;
//! vnet_io.rs moves the bytes between descriptors and slots.
//!
//! ```text
//!   struct virtio_net_hdr (10 bytes; _v1 / _mrg_rxbuf add num_buffers: 12)
//!   0 flags  1 gso_type  2 hdr_len  4 gso_size  6 csum_start  8 csum_offset  [10 num_buffers]
//! ```
//!
//! Fields are little-endian: TUN reads and writes them in the host's order unless TUNSETVNETBE
//! is set (drivers/net/tun.c `tun_is_little_endian`), and pktkit builds for little-endian hosts
//! only (x86-64, aarch64).
//!
//! Segmentation (`Gso`): each segment is the super-packet's headers followed by the next
//! `gso_size` bytes of payload, with, as Linux's `tcp_gso_segment` / `__udp_gso_segment` do:
//! IPv4 total length, identification (+1 per segment) and header checksum; IPv6 payload length;
//! TCP sequence number advanced by the payload before it, FIN and PSH only on the last segment,
//! CWR only on the first; UDP length; the TCP/UDP checksum computed in full. Not supported: UFO
//! (VIRTIO_NET_HDR_GSO_UDP, IP fragmentation), which TUN no longer negotiates; such packets are
//! refused (`Bad`) and counted.

#[cfg(target_endian = "big")]
compile_error!("the virtio-net header code assumes a little-endian host");

/// linux/if_tun.h: TUNSETIFF flag: every read and write starts with a virtio_net_hdr.
pub const IFF_VNET_HDR: u16 = 0x4000;
/// `_IOW('T', 208, unsigned int)`: which offloads the reader handles (TUN_F_*).
pub const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
/// `_IOW('T', 216, int)`: the header's size (10 or 12 here; the kernel takes >= 10).
pub const TUNSETVNETHDRSZ: libc::c_ulong = 0x4004_54d8;

/// linux/if_tun.h TUNSETOFFLOAD bits.
pub const TUN_F_CSUM: u32 = 0x01;
pub const TUN_F_TSO4: u32 = 0x02;
pub const TUN_F_TSO6: u32 = 0x04;
pub const TUN_F_TSO_ECN: u32 = 0x08;
pub const TUN_F_USO4: u32 = 0x20;
pub const TUN_F_USO6: u32 = 0x40;

/// Checks a TUNSETOFFLOAD request the way the kernel's `set_offload` would refuse it, with a
/// message that says why: known bits only, TSO and USO only with CSUM, USO4 and USO6 together.
pub fn check_offloads(bits: u32) -> Result<u32, String> {
    let known = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6;
    if bits & !known != 0 {
        return Err(format!("unknown offload bits {:#x}", bits & !known));
    }
    if bits & !TUN_F_CSUM != 0 && bits & TUN_F_CSUM == 0 {
        return Err("segmentation offloads need the checksum offload (TUN_F_CSUM)".to_string());
    }
    if (bits & TUN_F_USO4 == 0) != (bits & TUN_F_USO6 == 0) {
        return Err("USO4 and USO6 go together".to_string());
    }
    Ok(bits)
}

/// `sizeof(struct virtio_net_hdr)` and `sizeof(struct virtio_net_hdr_v1)`.
pub const HDR_LEN: usize = 10;
pub const HDR_LEN_V1: usize = 12;

// struct virtio_net_hdr field offsets.
const FLAGS: usize = 0;
const GSO_TYPE: usize = 1;
const HDR_LEN_FIELD: usize = 2;
const GSO_SIZE: usize = 4;
const CSUM_START: usize = 6;
const CSUM_OFFSET: usize = 8;

/// `flags`: the checksum at csum_start + csum_offset holds only the pseudo-header sum; the
/// reader completes it over csum_start .. end.
pub const F_NEEDS_CSUM: u8 = 1;
// (`flags` bit 2, VIRTIO_NET_HDR_F_DATA_VALID, says the kernel verified the checksum: nothing
// to do for it.)
/// `gso_type` values.
pub const GSO_NONE: u8 = 0;
pub const GSO_TCPV4: u8 = 1;
pub const GSO_UDP: u8 = 3;
pub const GSO_TCPV6: u8 = 4;
pub const GSO_UDP_L4: u8 = 5;
/// Or'ed into gso_type: the TCP segment carries CWR (ECN).
pub const GSO_ECN: u8 = 0x80;

// IPv4 (RFC 791 §3.1), IPv6 (RFC 8200 §3), TCP (RFC 9293 §3.1), UDP (RFC 768) field offsets.
const IP4_TOTAL_LEN: usize = 2;
const IP4_ID: usize = 4;
const IP4_CSUM: usize = 10;
const IP4_SRC: usize = 12;
const IP4_ADDRS_LEN: usize = 8;
const IP4_MIN_LEN: usize = 20;
const IP6_PAYLOAD_LEN: usize = 4;
const IP6_SRC: usize = 8;
const IP6_ADDRS_LEN: usize = 32;
const IP6_LEN: usize = 40;
const TCP_SEQ: usize = 4;
const TCP_DOFF: usize = 12;
const TCP_FLAGS: usize = 13;
const TCP_CSUM: usize = 16;
const TCP_MIN_LEN: usize = 20;
const UDP_LEN: usize = 4;
const UDP_CSUM: usize = 6;
const UDP_HDR_LEN: usize = 8;
const TCP_FIN: u8 = 0x01;
const TCP_PSH: u8 = 0x08;
const TCP_CWR: u8 = 0x80;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// A virtio_net_hdr (num_buffers, when present, is 0 on TUN and ignored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHdr {
    pub flags: u8,
    pub gso_type: u8,
    pub hdr_len: u16,
    pub gso_size: u16,
    pub csum_start: u16,
    pub csum_offset: u16,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn set_be16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

impl VnetHdr {
    /// Reads the first 10 bytes of `b` (at least 10 long).
    pub fn parse(b: &[u8]) -> VnetHdr {
        VnetHdr {
            flags: b[FLAGS],
            gso_type: b[GSO_TYPE],
            hdr_len: le16(b, HDR_LEN_FIELD),
            gso_size: le16(b, GSO_SIZE),
            csum_start: le16(b, CSUM_START),
            csum_offset: le16(b, CSUM_OFFSET),
        }
    }

    /// Writes the header into the first `len` bytes of `b` (10 or 12; num_buffers = 0). Only
    /// tests build headers: pktkit writes blank ones (io.rs) or passes the kernel's on.
    #[cfg(test)]
    pub fn emit(&self, b: &mut [u8], len: usize) {
        b[FLAGS] = self.flags;
        b[GSO_TYPE] = self.gso_type;
        b[HDR_LEN_FIELD..HDR_LEN_FIELD + 2].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[GSO_SIZE..GSO_SIZE + 2].copy_from_slice(&self.gso_size.to_le_bytes());
        b[CSUM_START..CSUM_START + 2].copy_from_slice(&self.csum_start.to_le_bytes());
        b[CSUM_OFFSET..CSUM_OFFSET + 2].copy_from_slice(&self.csum_offset.to_le_bytes());
        b[HDR_LEN..len].fill(0);
    }

    /// The GSO type without the ECN bit.
    pub fn gso(&self) -> u8 {
        self.gso_type & !GSO_ECN
    }
}

/// Adds `data` to a one's-complement sum kept in native byte order (RFC 1071 §2(B): the sum is
/// independent of byte order, so words are added as they lie in memory, 8 bytes at a time, and
/// the folded result is stored the same way). Pieces summed one after another must each start
/// at an even offset of the checksummed whole.
pub fn sum(data: &[u8], mut acc: u64) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let (s, o) = acc.overflowing_add(x);
        acc = s + u64::from(o);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // Zero padding after the last bytes is what RFC 1071 §4.1 does with an odd byte.
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        let (s, o) = acc.overflowing_add(u64::from_ne_bytes(w));
        acc = s + u64::from(o);
    }
    acc
}

/// Folds a native-order sum to 16 bits and complements it: the bytes to store are
/// `finish(acc).to_ne_bytes()`.
pub fn finish(acc: u64) -> u16 {
    let mut a = (acc & 0xffff_ffff) + (acc >> 32);
    a = (a & 0xffff_ffff) + (a >> 32);
    let mut b = (a & 0xffff) + (a >> 16);
    b = (b & 0xffff) + (b >> 16);
    b = (b & 0xffff) + (b >> 16);
    !(b as u16)
}

/// Why a packet's header could not be acted on (counted, the packet dropped).
#[derive(Debug, PartialEq, Eq)]
pub struct Bad;

/// Completes a VIRTIO_NET_HDR_F_NEEDS_CSUM checksum in place: the field at csum_start +
/// csum_offset holds the pseudo-header sum; the checksum over csum_start .. end replaces it
/// (as the kernel's `skb_checksum_help` does, for TCP and UDP, IPv4 and IPv6 alike; a result of
/// 0 is sent as 0xffff, RFC 768's "transmitted as all ones").
pub fn complete_csum(pkt: &mut [u8], h: &VnetHdr) -> Result<(), Bad> {
    let start = usize::from(h.csum_start);
    let at = start + usize::from(h.csum_offset);
    if start >= pkt.len() || at + 2 > pkt.len() {
        return Err(Bad);
    }
    let c = finish(sum(&pkt[start..], 0));
    let c = if c == 0 { 0xffff } else { c };
    pkt[at..at + 2].copy_from_slice(&c.to_ne_bytes());
    Ok(())
}

/// A super-packet's segmentation plan (`plan`), then `write_segment` for each segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gso {
    pub v6: bool,
    pub tcp: bool,
    /// Offset of the TCP/UDP header, and of the payload (headers copied into every segment).
    pub l4: usize,
    pub hlen: usize,
    /// Payload bytes per segment (gso_size).
    pub mss: usize,
    /// The super-packet's length.
    pub len: usize,
}

impl Gso {
    /// Segments the super-packet makes (at least 1).
    pub fn count(&self) -> usize {
        (self.len - self.hlen).div_ceil(self.mss).max(1)
    }

    /// The longest segment.
    pub fn max_segment(&self) -> usize {
        self.hlen + self.mss.min(self.len - self.hlen)
    }
}

/// Checks a packet whose header has a GSO type and returns how to segment it; Ok(None) for a
/// packet without one (GSO_NONE). The transport header is found at csum_start (the kernel
/// always sets NEEDS_CSUM with GSO), or after the IP header (no IPv6 extension headers) if not.
pub fn plan(pkt: &[u8], h: &VnetHdr) -> Result<Option<Gso>, Bad> {
    let gso = h.gso();
    if gso == GSO_NONE {
        return Ok(None);
    }
    let version = pkt.first().map_or(0, |b| b >> 4);
    let (v6, tcp) = match (gso, version) {
        (GSO_TCPV4, 4) => (false, true),
        (GSO_TCPV6, 6) => (true, true),
        (GSO_UDP_L4, 4) => (false, false),
        (GSO_UDP_L4, 6) => (true, false),
        // UFO: the datagram would have to be cut into IP fragments; TUN stopped offering it.
        (GSO_UDP, _) => return Err(Bad),
        _ => return Err(Bad),
    };
    let ip_len = if v6 { IP6_LEN } else { usize::from(pkt[0] & 0x0f) * 4 };
    if ip_len < IP4_MIN_LEN || pkt.len() < ip_len {
        return Err(Bad);
    }
    let l4 = if h.flags & F_NEEDS_CSUM != 0 { usize::from(h.csum_start) } else { ip_len };
    if l4 < ip_len {
        return Err(Bad);
    }
    let l4_len = if tcp {
        if pkt.len() < l4 + TCP_MIN_LEN {
            return Err(Bad);
        }
        usize::from(pkt[l4 + TCP_DOFF] >> 4) * 4
    } else {
        UDP_HDR_LEN
    };
    let hlen = l4 + l4_len;
    let mss = usize::from(h.gso_size);
    if l4_len < if tcp { TCP_MIN_LEN } else { UDP_HDR_LEN } || hlen > pkt.len() || mss == 0 || pkt.len() > 0xffff + IP6_LEN {
        return Err(Bad);
    }
    Ok(Some(Gso { v6, tcp, l4, hlen, mss, len: pkt.len() }))
}

/// Writes segment `i` of the super-packet `pkt` (as `g` plans it) into `out`, which must hold
/// `g.max_segment()` bytes; returns the segment's length. Every checksum in it is complete.
pub fn write_segment(pkt: &[u8], g: &Gso, i: usize, out: &mut [u8]) -> usize {
    let off = g.hlen + i * g.mss;
    let chunk = g.mss.min(pkt.len() - off);
    let len = g.hlen + chunk;
    out[..g.hlen].copy_from_slice(&pkt[..g.hlen]);
    out[g.hlen..len].copy_from_slice(&pkt[off..off + chunk]);
    let last = off + chunk >= pkt.len();
    let l4_len = len - g.l4;
    let mut acc;
    if g.v6 {
        set_be16(out, IP6_PAYLOAD_LEN, (len - IP6_LEN) as u16);
        acc = sum(&out[IP6_SRC..IP6_SRC + IP6_ADDRS_LEN], 0);
    } else {
        let ihl = usize::from(out[0] & 0x0f) * 4;
        set_be16(out, IP4_TOTAL_LEN, len as u16);
        // RFC 6864 §4.1: the ID of atomic datagrams may be anything; Linux counts on per segment.
        set_be16(out, IP4_ID, be16(pkt, IP4_ID).wrapping_add(i as u16));
        set_be16(out, IP4_CSUM, 0);
        let c = finish(sum(&out[..ihl], 0));
        out[IP4_CSUM..IP4_CSUM + 2].copy_from_slice(&c.to_ne_bytes());
        acc = sum(&out[IP4_SRC..IP4_SRC + IP4_ADDRS_LEN], 0);
    }
    let proto = if g.tcp { PROTO_TCP } else { PROTO_UDP };
    let l4b = (l4_len as u16).to_be_bytes();
    acc = sum(&[0, proto, l4b[0], l4b[1]], acc);
    let l4 = g.l4;
    let csum_at = if g.tcp {
        let seq = u32::from_be_bytes([pkt[l4 + TCP_SEQ], pkt[l4 + TCP_SEQ + 1], pkt[l4 + TCP_SEQ + 2], pkt[l4 + TCP_SEQ + 3]]);
        out[l4 + TCP_SEQ..l4 + TCP_SEQ + 4].copy_from_slice(&seq.wrapping_add((i * g.mss) as u32).to_be_bytes());
        let mut flags = pkt[l4 + TCP_FLAGS];
        if !last {
            flags &= !(TCP_FIN | TCP_PSH);
        }
        if i > 0 {
            flags &= !TCP_CWR;
        }
        out[l4 + TCP_FLAGS] = flags;
        l4 + TCP_CSUM
    } else {
        set_be16(out, l4 + UDP_LEN, l4_len as u16);
        l4 + UDP_CSUM
    };
    out[csum_at..csum_at + 2].fill(0);
    let c = finish(sum(&out[l4..len], acc));
    let c = if c == 0 && !g.tcp { 0xffff } else { c };
    out[csum_at..csum_at + 2].copy_from_slice(&c.to_ne_bytes());
    len
}

#[cfg(test)]
#[path = "vnet_tests.rs"]
mod tests;
