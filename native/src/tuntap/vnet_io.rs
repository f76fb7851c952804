//! Batched reads from a TUN descriptor opened with IFF_VNET_HDR into slots (io.rs's layout), in
//! one of two modes the caller's `state` selects:
//!
//! - raw (MODE_RAW): each frame is the kernel's bytes as they are, the virtio-net header first,
//!   then the packet, which may be a GSO super-packet (up to 64 KiB) with a partial checksum.
//!   Slots must be large enough (header + 65535 bytes), or such frames are dropped as too big.
//!   For engines that pass super-packets on (a relay to another vnet TUN) or handle them.
//! - segment (MODE_SEGMENT): each frame is a plain, checksummed IP packet of at most the slot's
//!   room: partial checksums are completed in place, super-packets cut into MSS-sized segments
//!   (vnet.rs), one per slot. What a plain L3 consumer expects.
//!
//! Segmenting needs the whole super-packet in one place while the slots are MTU-sized, so each
//! read is a readv(2) of three parts: the header into `scratch`, the packet into the slot, and
//! whatever does not fit the slot into `scratch` after room for the slot's share:
//!
//! ```text
//!   scratch: [ header (16) | slot's share (cap) | rest of a super-packet (65536) ]
//!             ^ SCRATCH_HDR  ^ SCRATCH_PKT
//! ```
//!
//! A packet that fits the slot stays there (no copy). A super-packet is gathered in scratch (the
//! slot's share copied in front of the rest), then written out segment by segment into slots.
//! When the batch runs out of slots first, the rest waits in scratch (the "carry", recorded in
//! `state`) and the next call goes on with it before reading anything: the caller owns that
//! state and must call again while CARRY_LEN is nonzero even if the descriptor is not readable.
//! Nothing is allocated per call or per packet.

use super::io::{self, stat, Slots};
use super::vnet::{self, VnetHdr};

/// Int32 indices of a vnet reader's state (mirrored by src/tuntap/native.ts).
pub mod state {
    /// The virtio-net header's length on this descriptor: 10 or 12.
    pub const HDR_LEN: usize = 0;
    /// MODE_RAW or MODE_SEGMENT.
    pub const MODE: usize = 1;
    /// Bytes of the super-packet waiting in scratch (0: none).
    pub const CARRY_LEN: usize = 2;
    /// Its next segment.
    pub const CARRY_NEXT: usize = 3;
    pub const LEN: usize = 4;
}
pub const MODE_RAW: i32 = 0;
pub const MODE_SEGMENT: i32 = 1;

const SCRATCH_HDR: usize = 0;
const SCRATCH_PKT: usize = 16;
/// Room for the part of a packet beyond the slot: the largest IP packet.
const SCRATCH_REST: usize = 65536;

/// Bytes of scratch a reader with `cap` bytes of room per slot needs.
pub fn scratch_len(cap: usize) -> usize {
    SCRATCH_PKT + cap + SCRATCH_REST
}

/// Checks the state array; returns the header length and whether to segment.
pub fn check_state(st: &[i32]) -> Result<(usize, bool), String> {
    if st.len() < state::LEN {
        return Err(format!("vnet state must hold at least {} ints, got {}", state::LEN, st.len()));
    }
    let hl = st[state::HDR_LEN];
    if hl != vnet::HDR_LEN as i32 && hl != vnet::HDR_LEN_V1 as i32 {
        return Err(format!("vnet header length must be 10 or 12, got {hl}"));
    }
    let mode = st[state::MODE];
    if mode != MODE_RAW && mode != MODE_SEGMENT {
        return Err(format!("vnet mode must be 0 (raw) or 1 (segment), got {mode}"));
    }
    Ok((hl as usize, mode == MODE_SEGMENT))
}

fn deliver(s: &Slots, slot: usize, off: usize, len: usize, stats: &mut [f64]) {
    s.set_meta(slot, off as i32, len as i32);
    stats[stat::RX_FRAMES] += 1.0;
    stats[stat::RX_BYTES] += len as f64;
}

/// Reads up to `count` frames from `fd` into the slots from `first` on, as the module doc says.
/// Returns the slots filled. `scratch` must hold `scratch_len(slot_size - headroom)` bytes in
/// segment mode (the caller checks), and is unused in raw mode.
#[allow(clippy::too_many_arguments)]
pub fn read_slots(fd: i32, s: &Slots, headroom: u32, first: u32, count: u32, stats: &mut [f64], scratch: &mut [u8], st: &mut [i32]) -> u32 {
    let Ok((hl, segment)) = check_state(st) else { return 0 };
    let headroom = headroom as usize;
    if headroom >= s.slot_size {
        return 0;
    }
    let cap = s.slot_size - headroom;
    if segment && scratch.len() < scratch_len(cap) {
        return 0;
    }
    let mut filled = 0u32;
    let mut budget = count.saturating_mul(2).max(1);
    while filled < count {
        if segment && st[state::CARRY_LEN] > 0 {
            filled += carry_on(s, headroom, first.wrapping_add(filled), count - filled, stats, scratch, st);
            continue;
        }
        if budget == 0 {
            break;
        }
        budget -= 1;
        let slot = (first.wrapping_add(filled) & s.mask) as usize;
        // SAFETY: headroom < slot_size, so the slot's room starts inside the slot.
        let room = unsafe { s.slot_ptr(slot).add(headroom) };
        let n = if segment {
            let base = scratch.as_mut_ptr();
            let iov = [
                libc::iovec { iov_base: base.cast(), iov_len: hl },
                libc::iovec { iov_base: room.cast(), iov_len: cap },
                // SAFETY: scratch holds scratch_len(cap) bytes (checked above).
                libc::iovec { iov_base: unsafe { base.add(SCRATCH_PKT + cap) }.cast(), iov_len: scratch.len() - SCRATCH_PKT - cap },
            ];
            // SAFETY: each iovec is writable memory of its length (the slot is the caller's).
            unsafe { libc::readv(fd, iov.as_ptr(), 3) }
        } else {
            // SAFETY: room .. room + cap lies in the slot.
            unsafe { libc::read(fd, room.cast(), cap) }
        };
        stats[stat::RX_SYSCALLS] += 1.0;
        if n < 0 {
            let e = io::errno();
            if e == libc::EINTR {
                budget += 1;
                continue;
            }
            if e != libc::EAGAIN {
                stats[stat::LAST_ERRNO] = f64::from(e);
                stats[stat::FATAL_ERRNO] = f64::from(e);
            }
            break;
        }
        let n = n as usize;
        if n == 0 {
            break;
        }
        if n < hl {
            stats[stat::RX_VNET_BAD] += 1.0;
            continue;
        }
        if !segment {
            if n > cap {
                stats[stat::RX_TOO_BIG] += 1.0;
                continue;
            }
            // SAFETY: the first hl bytes of the frame were just read into the slot.
            let gso = unsafe { room.add(1).read() } & !vnet::GSO_ECN;
            if gso != vnet::GSO_NONE {
                stats[stat::RX_GSO] += 1.0;
            }
            deliver(s, slot, headroom, n, stats);
            filled += 1;
            continue;
        }
        let h = VnetHdr::parse(&scratch[SCRATCH_HDR..SCRATCH_HDR + hl]);
        let len = n - hl;
        if h.gso() == vnet::GSO_NONE {
            if len > cap {
                stats[stat::RX_TOO_BIG] += 1.0;
                continue;
            }
            if h.flags & vnet::F_NEEDS_CSUM != 0 {
                // SAFETY: the packet's len bytes are in the slot, which is the caller's now.
                let pkt = unsafe { std::slice::from_raw_parts_mut(room, len) };
                if vnet::complete_csum(pkt, &h).is_err() {
                    stats[stat::RX_VNET_BAD] += 1.0;
                    continue;
                }
            }
            deliver(s, slot, headroom, len, stats);
            filled += 1;
            continue;
        }
        // A super-packet: gather it in scratch, then cut it up (the carry).
        stats[stat::RX_GSO] += 1.0;
        let in_slot = len.min(cap);
        // SAFETY: the slot holds in_slot bytes of the packet; scratch has room for cap bytes there.
        unsafe { std::ptr::copy_nonoverlapping(room, scratch.as_mut_ptr().add(SCRATCH_PKT), in_slot) };
        match vnet::plan(&scratch[SCRATCH_PKT..SCRATCH_PKT + len], &h) {
            Ok(Some(g)) if g.max_segment() <= cap => {
                st[state::CARRY_LEN] = len as i32;
                st[state::CARRY_NEXT] = 0;
            }
            Ok(_) => stats[stat::RX_TOO_BIG] += 1.0,
            Err(_) => stats[stat::RX_VNET_BAD] += 1.0,
        }
    }
    filled
}

/// Writes the pending super-packet's next segments into up to `count` slots from `first` on.
fn carry_on(s: &Slots, headroom: usize, first: u32, count: u32, stats: &mut [f64], scratch: &[u8], st: &mut [i32]) -> u32 {
    let hl = st[state::HDR_LEN] as usize;
    let len = st[state::CARRY_LEN] as usize;
    if len > scratch.len() - SCRATCH_PKT {
        // Only a caller that wrote the state itself gets here.
        st[state::CARRY_LEN] = 0;
        return 0;
    }
    let h = VnetHdr::parse(&scratch[SCRATCH_HDR..SCRATCH_HDR + hl]);
    let pkt = &scratch[SCRATCH_PKT..SCRATCH_PKT + len];
    let Ok(Some(g)) = vnet::plan(pkt, &h) else {
        // Checked when it was read: only a caller that changed the state gets here.
        st[state::CARRY_LEN] = 0;
        return 0;
    };
    let cap = s.slot_size - headroom;
    let mut next = st[state::CARRY_NEXT] as usize;
    let mut filled = 0u32;
    while filled < count && next < g.count() {
        let slot = (first.wrapping_add(filled) & s.mask) as usize;
        // SAFETY: the slot's room (cap bytes after headroom) is the caller's to fill, and
        // g.max_segment() <= cap was checked when the carry was set.
        let out = unsafe { std::slice::from_raw_parts_mut(s.slot_ptr(slot).add(headroom), cap) };
        let n = vnet::write_segment(pkt, &g, next, out);
        deliver(s, slot, headroom, n, stats);
        next += 1;
        filled += 1;
    }
    if next >= g.count() {
        st[state::CARRY_LEN] = 0;
        st[state::CARRY_NEXT] = 0;
    } else {
        st[state::CARRY_NEXT] = next as i32;
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::super::test_fds::{close, pair, send};
    use super::*;

    /// An IPv4/TCP super-packet of `payload` bytes (20 + 20 bytes of headers), partial checksum.
    fn super_packet(payload: usize, mss: u16) -> Vec<u8> {
        let len = 40 + payload;
        let mut p = vec![0u8; vnet::HDR_LEN + len];
        let h = VnetHdr { flags: vnet::F_NEEDS_CSUM, gso_type: vnet::GSO_TCPV4, hdr_len: 40, gso_size: mss, csum_start: 20, csum_offset: 16 };
        h.emit(&mut p, vnet::HDR_LEN);
        let ip = &mut p[vnet::HDR_LEN..];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        ip[8] = 64;
        ip[9] = 6;
        ip[12..20].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        ip[32] = 5 << 4;
        ip[33] = 0x18;
        for (i, b) in ip[40..].iter_mut().enumerate() {
            *b = i as u8;
        }
        p
    }

    #[test]
    fn segment_mode_cuts_super_packets_across_calls_and_keeps_plain_ones_in_place() {
        let fds = pair();
        const SLOT: usize = 256;
        const SLOTS: usize = 4;
        let mut data = vec![0xa5u8; SLOTS * SLOT];
        let mut meta = vec![-1i32; 2 * SLOTS];
        let s = Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), meta.len(), SLOT as u32).unwrap();
        let cap = SLOT - 16;
        let mut scratch = vec![0u8; scratch_len(cap)];
        let mut st = [vnet::HDR_LEN as i32, MODE_SEGMENT, 0, 0];
        let mut stats = vec![0f64; stat::NATIVE_LEN];
        // 1000 bytes at MSS 200: 5 segments of 240 bytes; then a plain 60-byte packet.
        send(fds.1, &super_packet(1000, 200));
        let mut plain = vec![0u8; vnet::HDR_LEN + 60];
        plain[vnet::HDR_LEN] = 0x45;
        send(fds.1, &plain);
        let mut got = Vec::new();
        let mut first = 0u32;
        for _ in 0..4 {
            let k = read_slots(fds.0, &s, 16, first, 3, &mut stats, &mut scratch, &mut st);
            for i in 0..k {
                let slot = ((first + i) as usize) % SLOTS;
                let (off, len) = (meta[2 * slot] as usize, meta[2 * slot + 1] as usize);
                got.push(data[slot * SLOT + off..slot * SLOT + off + len].to_vec());
            }
            first += k;
        }
        assert_eq!(got.len(), 6, "5 segments then the plain packet");
        for (i, seg) in got[..5].iter().enumerate() {
            assert_eq!(seg.len(), 240);
            assert_eq!(u32::from_be_bytes([seg[24], seg[25], seg[26], seg[27]]), (i * 200) as u32);
            assert_eq!(seg[40], (i * 200) as u8, "payload in order");
        }
        assert_eq!(got[5].len(), 60);
        assert_eq!(stats[stat::RX_GSO], 1.0);
        assert_eq!(stats[stat::RX_FRAMES], 6.0);
        assert_eq!(st[state::CARRY_LEN], 0);
        close(fds);
    }

    #[test]
    fn raw_mode_delivers_header_and_packet_as_read() {
        let fds = pair();
        let mut data = vec![0u8; 2 * 2048];
        let mut meta = vec![0i32; 4];
        let s = Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), meta.len(), 2048).unwrap();
        let mut st = [vnet::HDR_LEN_V1 as i32, MODE_RAW, 0, 0];
        let mut stats = vec![0f64; stat::NATIVE_LEN];
        let mut sp = super_packet(500, 100);
        sp.splice(10..10, [0, 0]); // as a 12-byte header
        send(fds.1, &sp);
        assert_eq!(read_slots(fds.0, &s, 0, 0, 2, &mut stats, &mut [], &mut st), 1);
        assert_eq!(&data[..sp.len()], &sp[..]);
        assert_eq!(meta[1] as usize, sp.len());
        assert_eq!(stats[stat::RX_GSO], 1.0);
        close(fds);
    }

    #[test]
    fn bad_state_and_bad_headers_are_refused() {
        assert!(check_state(&[10, 1, 0]).is_err());
        assert!(check_state(&[11, 1, 0, 0]).is_err());
        assert!(check_state(&[12, 2, 0, 0]).is_err());
        assert_eq!(check_state(&[12, 0, 0, 0]), Ok((12, false)));
        let fds = pair();
        let mut data = vec![0u8; 2 * 256];
        let mut meta = vec![0i32; 4];
        let s = Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), meta.len(), 256).unwrap();
        let mut scratch = vec![0u8; scratch_len(256)];
        let mut st = [vnet::HDR_LEN as i32, MODE_SEGMENT, 0, 0];
        let mut stats = vec![0f64; stat::NATIVE_LEN];
        let mut ufo = super_packet(600, 100);
        ufo[1] = vnet::GSO_UDP;
        send(fds.1, &ufo);
        send(fds.1, &[0u8; 4]); // shorter than the header
        assert_eq!(read_slots(fds.0, &s, 0, 0, 2, &mut stats, &mut scratch, &mut st), 0);
        assert_eq!(stats[stat::RX_VNET_BAD], 2.0);
        close(fds);
    }

    #[test]
    fn writes_put_a_blank_header_first() {
        let fds = pair();
        let mut stats = vec![0f64; stat::NATIVE_LEN];
        let frame = [0x45u8, 1, 2, 3];
        assert_eq!(io::write_one(fds.0, frame.as_ptr(), frame.len(), 12, &mut stats), 0);
        let mut b = [0xa5u8; 32];
        // SAFETY: valid buffer.
        let n = unsafe { libc::read(fds.1, b.as_mut_ptr().cast(), b.len()) };
        assert_eq!(n, 16);
        assert_eq!(&b[..12], &[0u8; 12]);
        assert_eq!(&b[12..16], &frame);
        assert_eq!(stats[stat::TX_BYTES], 4.0, "packet bytes, the header not counted");
        close(fds);
    }
}
