//! Batched reads and writes between a TUN/TAP descriptor and slots in JavaScript memory.
//!
//! The memory is a slot array as `rings/spsc-ring.ts` lays it out (and as the standalone
//! devices lay out their own buffers the same way):
//!
//!   data:  slots x slot_size bytes        slot i at i * slot_size: [ headroom | frame | unused ]
//!   meta:  Int32 x 2 per slot             [2i] frame offset in the slot, [2i + 1] frame length
//!
//! A read fills slots `first, first + 1, …` (modulo the slot count, a power of two) with one
//! frame each, written at `headroom` in the slot, and sets their meta; it stops at `count`
//! frames or when the descriptor has nothing more (EAGAIN). A write sends the frames of slots
//! `first ..` as their meta describes. Which slots are free or filled is the caller's business
//! (the JavaScript side owns the ring counters and publishes): this module moves bytes only.
//!
//! Per-frame errors are counted in the caller's `stats` (a Float64Array, indices below), never
//! thrown: a frame longer than a slot is dropped; a write the kernel refuses (EINVAL: not an IP
//! packet on a TUN, EIO: the link is down, EAGAIN, EMSGSIZE) is dropped. An error that ends the
//! device's I/O (EBADFD: the device was deleted, EBADF, EFAULT) stops the batch and is recorded
//! in `FATAL_ERRNO` for the caller to act on.
//!
//! Concurrency: the slot memory is usually a SharedArrayBuffer that another thread reads and
//! writes too (the ring's other end), so it is only ever touched through raw pointers, in the
//! slots the caller hands over, never through Rust references to the whole area.

use std::io;

/// Indices into the stats array (mirrored by src/tuntap/native.ts).
pub mod stat {
    pub const RX_FRAMES: usize = 0;
    pub const RX_BYTES: usize = 1;
    /// Frames longer than a slot after its headroom: read (the kernel cut them) and dropped.
    pub const RX_TOO_BIG: usize = 2;
    pub const TX_FRAMES: usize = 3;
    pub const TX_BYTES: usize = 4;
    /// EINVAL: the kernel refused the frame (a TUN takes IPv4 and IPv6 packets only).
    pub const TX_INVALID: usize = 5;
    /// EIO: the link is down.
    pub const TX_DOWN: usize = 6;
    /// EAGAIN on a write.
    pub const TX_WOULD_BLOCK: usize = 7;
    /// EMSGSIZE, or a slot whose meta describes a frame outside the slot.
    pub const TX_TOO_BIG: usize = 8;
    /// Any other errno on a write, the frame dropped.
    pub const TX_ERRORS: usize = 9;
    /// The errno of the last failed read or write.
    pub const LAST_ERRNO: usize = 10;
    /// Nonzero once an error ended the device's I/O (the errno).
    pub const FATAL_ERRNO: usize = 11;
    /// read(2) calls made, those that found nothing included.
    pub const RX_SYSCALLS: usize = 12;
    /// write(2) calls made.
    pub const TX_SYSCALLS: usize = 13;
    /// vnet header: GSO super-packets read (segmented or delivered whole).
    pub const RX_GSO: usize = 14;
    /// vnet header: packets read and dropped because their header could not be acted on (a GSO
    /// type pktkit does not segment, checksum offsets outside the packet, no header at all).
    pub const RX_VNET_BAD: usize = 15;
    /// Length the stats array must have at least.
    pub const NATIVE_LEN: usize = 16;
}

/// A slot array in caller memory.
pub struct Slots {
    data: *mut u8,
    meta: *mut i32,
    pub(super) mask: u32,
    pub(super) slot_size: usize,
}

impl Slots {
    /// Checks the geometry: `meta_len / 2` slots, a power of two, each `slot_size` bytes, all
    /// inside `data_len`.
    pub fn new(data: *mut u8, data_len: usize, meta: *mut i32, meta_len: usize, slot_size: u32) -> Result<Slots, String> {
        let slots = meta_len / 2;
        if slots == 0 || !slots.is_power_of_two() || slots > (1 << 24) {
            return Err(format!("meta must hold 2 ints per slot for a power-of-two number of slots, got {meta_len} ints"));
        }
        let slot_size = slot_size as usize;
        if slot_size == 0 || slots.checked_mul(slot_size).is_none_or(|n| n > data_len) {
            return Err(format!("{slots} slots of {slot_size} bytes do not fit in a data area of {data_len} bytes"));
        }
        Ok(Slots { data, meta, mask: (slots - 1) as u32, slot_size })
    }

    pub(super) fn slot_ptr(&self, slot: usize) -> *mut u8 {
        // SAFETY (for callers): slot <= mask, and the area holds (mask + 1) * slot_size bytes.
        unsafe { self.data.add(slot * self.slot_size) }
    }

    pub(super) fn set_meta(&self, slot: usize, off: i32, len: i32) {
        // SAFETY: meta holds 2 * (mask + 1) ints and slot <= mask.
        unsafe {
            self.meta.add(2 * slot).write_volatile(off);
            self.meta.add(2 * slot + 1).write_volatile(len);
        }
    }

    pub(super) fn meta(&self, slot: usize) -> (i32, i32) {
        // SAFETY: as in set_meta.
        unsafe { (self.meta.add(2 * slot).read_volatile(), self.meta.add(2 * slot + 1).read_volatile()) }
    }
}

pub(super) fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// Errors after which the descriptor is of no more use.
pub(super) fn is_fatal(e: i32) -> bool {
    matches!(e, libc::EBADF | libc::EBADFD | libc::EFAULT | libc::ENODEV | libc::ENXIO | libc::EPIPE)
}

/// Reads up to `count` frames from `fd` into the slots from `first` on. Returns how many slots
/// it filled (each with its meta). Stops early at EAGAIN or at a fatal error (recorded).
pub fn read_slots(fd: i32, s: &Slots, headroom: u32, first: u32, count: u32, stats: &mut [f64]) -> u32 {
    let headroom = headroom as usize;
    if headroom >= s.slot_size {
        return 0;
    }
    let cap = s.slot_size - headroom;
    let mut filled = 0u32;
    // Frames too big for a slot are read and dropped without using the slot, so bound the reads
    // too, in case a sender floods them.
    let mut budget = count.saturating_mul(2).max(1);
    while filled < count && budget > 0 {
        budget -= 1;
        let slot = (first.wrapping_add(filled) & s.mask) as usize;
        let p = s.slot_ptr(slot);
        // SAFETY: p + headroom .. p + slot_size lies in the slot, which the caller handed over.
        let n = unsafe { libc::read(fd, p.add(headroom).cast(), cap) };
        stats[stat::RX_SYSCALLS] += 1.0;
        if n < 0 {
            let e = errno();
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
        if n == 0 {
            break;
        }
        let n = n as usize;
        // Without IFF_NO_PI's prefix the kernel copies what fits and returns the frame's full
        // length (drivers/net/tun.c tun_put_user): a longer result is a cut frame.
        if n > cap {
            stats[stat::RX_TOO_BIG] += 1.0;
            continue;
        }
        s.set_meta(slot, headroom as i32, n as i32);
        stats[stat::RX_FRAMES] += 1.0;
        stats[stat::RX_BYTES] += n as f64;
        filled += 1;
    }
    filled
}

/// Zero bytes written before a frame on a descriptor that expects a virtio-net header: an
/// all-zero header says "a plain packet, checksum complete, no segmentation".
static ZERO_HDR: [u8; 16] = [0; 16];

/// Writes one frame, after `prefix` zero bytes (a blank virtio-net header; 0: none, at most 16);
/// counts it in `stats`. Returns 0 or the errno of a dropped frame.
pub fn write_one(fd: i32, p: *const u8, len: usize, prefix: usize, stats: &mut [f64]) -> i32 {
    let iov = [
        libc::iovec { iov_base: ZERO_HDR.as_ptr() as *mut libc::c_void, iov_len: prefix.min(ZERO_HDR.len()) },
        libc::iovec { iov_base: p as *mut libc::c_void, iov_len: len },
    ];
    loop {
        let n = if prefix == 0 {
            // SAFETY: the caller guarantees p .. p + len is readable.
            unsafe { libc::write(fd, p.cast(), len) }
        } else {
            // SAFETY: both iovecs point at readable memory of their length.
            unsafe { libc::writev(fd, iov.as_ptr(), 2) }
        };
        stats[stat::TX_SYSCALLS] += 1.0;
        if n >= 0 {
            stats[stat::TX_FRAMES] += 1.0;
            stats[stat::TX_BYTES] += len as f64;
            return 0;
        }
        let e = errno();
        if e == libc::EINTR {
            continue;
        }
        stats[stat::LAST_ERRNO] = f64::from(e);
        let i = match e {
            libc::EINVAL => stat::TX_INVALID,
            libc::EIO => stat::TX_DOWN,
            libc::EAGAIN => stat::TX_WOULD_BLOCK,
            libc::EMSGSIZE => stat::TX_TOO_BIG,
            _ => stat::TX_ERRORS,
        };
        stats[i] += 1.0;
        if is_fatal(e) {
            stats[stat::FATAL_ERRNO] = f64::from(e);
        }
        return e;
    }
}

/// Writes the frames of `count` slots from `first` on, as their meta describes, each after
/// `prefix` zero bytes (see write_one). Returns how many slots it is done with: all of them,
/// unless a fatal error stopped it (recorded).
pub fn write_slots(fd: i32, s: &Slots, first: u32, count: u32, prefix: usize, stats: &mut [f64]) -> u32 {
    let mut done = 0u32;
    while done < count {
        let slot = (first.wrapping_add(done) & s.mask) as usize;
        let (off, len) = s.meta(slot);
        done += 1;
        if off < 0 || len < 0 || off as usize + len as usize > s.slot_size {
            stats[stat::TX_TOO_BIG] += 1.0;
            continue;
        }
        // SAFETY: off + len lies within the slot (checked above).
        let p = unsafe { s.slot_ptr(slot).add(off as usize) };
        let e = write_one(fd, p, len as usize, prefix, stats);
        if e != 0 && is_fatal(e) {
            break;
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::super::test_fds::{close, pair, recv, send};
    use super::*;

    #[test]
    fn geometry_is_checked() {
        let mut data = vec![0u8; 4 * 64];
        let mut meta = vec![0i32; 8];
        assert!(Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), 8, 64).is_ok());
        assert!(Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), 6, 64).is_err(), "3 slots");
        assert!(Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), 8, 65).is_err(), "too small");
        assert!(Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), 0, 64).is_err());
    }

    #[test]
    fn reads_fill_slots_and_wrap() {
        let fds = pair();
        let mut data = vec![0xa5u8; 4 * 64];
        let mut meta = vec![-1i32; 8];
        let s = Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), 8, 64).unwrap();
        let mut stats = vec![0f64; stat::NATIVE_LEN];
        for i in 0..3u8 {
            send(fds.1, &vec![i; 10 + i as usize]);
        }
        // Start at slot 3: the frames land in slots 3, 0, 1.
        assert_eq!(read_slots(fds.0, &s, 8, 3, 8, &mut stats), 3);
        assert_eq!(&meta[6..8], &[8, 10]);
        assert_eq!(&meta[0..4], &[8, 11, 8, 12]);
        assert_eq!(meta[4], -1, "slot 2 untouched");
        assert_eq!(&data[3 * 64 + 8..3 * 64 + 18], &[0u8; 10]);
        assert_eq!(data[3 * 64 + 7], 0xa5, "headroom untouched");
        assert_eq!(data[3 * 64 + 18], 0xa5, "nothing past the frame");
        assert_eq!(&data[8..19], &[1u8; 11]);
        assert_eq!(stats[stat::RX_FRAMES], 3.0);
        assert_eq!(stats[stat::RX_BYTES], 33.0);
        assert_eq!(stats[stat::FATAL_ERRNO], 0.0, "EAGAIN ends the batch quietly");
        close(fds);
    }

    #[test]
    fn reads_stop_at_count() {
        let fds = pair();
        let mut data = vec![0u8; 2 * 64];
        let mut meta = vec![0i32; 4];
        let s = Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), 4, 64).unwrap();
        let mut stats = vec![0f64; stat::NATIVE_LEN];
        for _ in 0..3 {
            send(fds.1, &[7; 20]);
        }
        assert_eq!(read_slots(fds.0, &s, 0, 0, 2, &mut stats), 2);
        assert_eq!(read_slots(fds.0, &s, 0, 2, 2, &mut stats), 1);
        assert_eq!(stats[stat::RX_FRAMES], 3.0);
        close(fds);
    }

    #[test]
    fn writes_send_each_slot_and_count_errors() {
        let fds = pair();
        let mut data = vec![0u8; 4 * 64];
        let mut meta = vec![0i32; 8];
        data[64 + 4..64 + 9].copy_from_slice(b"hello");
        meta[2] = 4;
        meta[3] = 5;
        meta[4] = 60;
        meta[5] = 10; // 60 + 10 > 64: bad meta
        data[3 * 64..3 * 64 + 2].copy_from_slice(b"hi");
        meta[6] = 0;
        meta[7] = 2;
        let s = Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), 8, 64).unwrap();
        let mut stats = vec![0f64; stat::NATIVE_LEN];
        assert_eq!(write_slots(fds.0, &s, 1, 3, 0, &mut stats), 3);
        assert_eq!(recv(fds.1).unwrap(), b"hello");
        assert_eq!(recv(fds.1).unwrap(), b"hi");
        assert_eq!(recv(fds.1), None);
        assert_eq!(stats[stat::TX_FRAMES], 2.0);
        assert_eq!(stats[stat::TX_BYTES], 7.0);
        assert_eq!(stats[stat::TX_TOO_BIG], 1.0);
        close(fds);
    }

    #[test]
    fn a_closed_descriptor_is_fatal() {
        let mut data = vec![0u8; 64];
        let mut meta = vec![0, 10];
        let s = Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), 2, 64).unwrap();
        let mut stats = vec![0f64; stat::NATIVE_LEN];
        assert_eq!(write_slots(-1, &s, 0, 1, 0, &mut stats), 1);
        assert_eq!(stats[stat::FATAL_ERRNO], f64::from(libc::EBADF));
        let mut stats = vec![0f64; stat::NATIVE_LEN];
        assert_eq!(read_slots(-1, &s, 0, 0, 1, &mut stats), 0);
        assert_eq!(stats[stat::FATAL_ERRNO], f64::from(libc::EBADF));
    }
}
