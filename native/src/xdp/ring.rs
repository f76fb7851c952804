//! The four AF_XDP rings, mmap'ed from the socket: single-producer single-consumer queues shared
//! with the kernel (Documentation/networking/af_xdp.rst, "Rings").
//!
//! ```text
//!   mapping:  | producer u32 | consumer u32 | flags u32 | ... | desc[0] | desc[1] | ... |
//!              ^ offsets from getsockopt(XDP_MMAP_OFFSETS)      ^ size entries (power of 2)
//!
//!   fill        user -> kernel   u64 frame addresses to receive into
//!   rx          kernel -> user   struct xdp_desc { u64 addr; u32 len; u32 options; }
//!   tx          user -> kernel   struct xdp_desc
//!   completion  kernel -> user   u64 addresses of frames the kernel has sent
//! ```
//!
//! Indices are free-running u32 counters (entry = counter & mask). The side that produces writes
//! entries, then publishes with a release store of `producer`; the side that consumes reads
//! `producer` with an acquire load, reads the entries, then releases them with a release store of
//! `consumer` (the barriers libxdp's xsk.h uses: smp_load_acquire / smp_store_release).

use std::sync::atomic::{AtomicU32, Ordering};

/// XDP_RING_NEED_WAKEUP (if_xdp.h): the kernel asks to be kicked.
pub const RING_NEED_WAKEUP: u32 = 1;

/// One ring: raw pointers into its mapping. Unmapped by the owner (`Mapping`), not here.
pub struct Ring {
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    flags: *const AtomicU32,
    desc: *mut u8,
    mask: u32,
    size: u32,
    /// Producer rings: our next counter to fill. Consumer rings: the last producer value seen.
    cached_prod: u32,
    /// Consumer rings: our next counter to read. Producer rings: the last consumer value seen.
    cached_cons: u32,
}

// SAFETY: the ring is only ever used by the thread that owns its socket; Send lets the socket
// object be dropped by napi's finalizer machinery.
unsafe impl Send for Ring {}

impl Ring {
    /// A ring over a mapping at `base` with the kernel's offsets and `size` entries.
    ///
    /// # Safety
    /// `base` must be a live mapping of the ring, valid until the ring is no longer used.
    pub unsafe fn new(base: *mut u8, producer: u64, consumer: u64, desc: u64, flags: u64, size: u32) -> Self {
        let producer = base.add(producer as usize).cast::<AtomicU32>();
        let consumer = base.add(consumer as usize).cast::<AtomicU32>();
        Ring {
            producer,
            consumer,
            flags: base.add(flags as usize).cast::<AtomicU32>(),
            desc: base.add(desc as usize),
            mask: size - 1,
            size,
            cached_prod: (*producer).load(Ordering::Acquire),
            cached_cons: (*consumer).load(Ordering::Acquire),
        }
    }

    /// An inert ring (no mapping), for a socket that is closed.
    pub fn empty() -> Self {
        Ring {
            producer: std::ptr::null(),
            consumer: std::ptr::null(),
            flags: std::ptr::null(),
            desc: std::ptr::null_mut(),
            mask: 0,
            size: 0,
            cached_prod: 0,
            cached_cons: 0,
        }
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    /// True when the kernel asked for a wakeup (XDP_USE_NEED_WAKEUP).
    pub fn needs_wakeup(&self) -> bool {
        // SAFETY: the mapping is live while the ring is used.
        unsafe { (*self.flags).load(Ordering::Relaxed) & RING_NEED_WAKEUP != 0 }
    }

    // ---- producer side (fill, tx) ----

    /// Free entries, up to `want` (refreshing the consumer index only when needed).
    pub fn prod_free(&mut self, want: u32) -> u32 {
        let free = self.size - self.cached_prod.wrapping_sub(self.cached_cons);
        if free >= want {
            return free;
        }
        // SAFETY: the mapping is live while the ring is used.
        self.cached_cons = unsafe { (*self.consumer).load(Ordering::Acquire) };
        self.size - self.cached_prod.wrapping_sub(self.cached_cons)
    }

    /// Writes a u64 entry (fill ring) at our producer counter + `i`.
    ///
    /// # Safety
    /// `i` must be below what `prod_free` returned.
    pub unsafe fn put_addr(&mut self, i: u32, addr: u64) {
        let at = (self.cached_prod.wrapping_add(i) & self.mask) as usize;
        self.desc.cast::<u64>().add(at).write(addr);
    }

    /// Writes an xdp_desc entry (tx ring) at our producer counter + `i`.
    ///
    /// # Safety
    /// `i` must be below what `prod_free` returned.
    pub unsafe fn put_desc(&mut self, i: u32, addr: u64, len: u32) {
        let at = (self.cached_prod.wrapping_add(i) & self.mask) as usize;
        let d = self.desc.cast::<libc::xdp_desc>().add(at);
        d.write(libc::xdp_desc { addr, len, options: 0 });
    }

    /// Publishes `n` entries written with `put_*`.
    pub fn submit(&mut self, n: u32) {
        self.cached_prod = self.cached_prod.wrapping_add(n);
        // SAFETY: the mapping is live while the ring is used.
        unsafe { (*self.producer).store(self.cached_prod, Ordering::Release) };
    }

    /// Entries published and not yet consumed by the kernel (tx: frames still to send).
    pub fn prod_outstanding(&mut self) -> u32 {
        // SAFETY: the mapping is live while the ring is used.
        self.cached_cons = unsafe { (*self.consumer).load(Ordering::Acquire) };
        self.cached_prod.wrapping_sub(self.cached_cons)
    }

    // ---- consumer side (rx, completion) ----

    /// Entries ready to read, up to `max`.
    pub fn cons_avail(&mut self, max: u32) -> u32 {
        let mut n = self.cached_prod.wrapping_sub(self.cached_cons);
        if n == 0 {
            // SAFETY: the mapping is live while the ring is used.
            self.cached_prod = unsafe { (*self.producer).load(Ordering::Acquire) };
            n = self.cached_prod.wrapping_sub(self.cached_cons);
        }
        n.min(max)
    }

    /// Reads the u64 entry (completion ring) at our consumer counter + `i`.
    ///
    /// # Safety
    /// `i` must be below what `cons_avail` returned.
    pub unsafe fn addr(&self, i: u32) -> u64 {
        let at = (self.cached_cons.wrapping_add(i) & self.mask) as usize;
        self.desc.cast::<u64>().add(at).read()
    }

    /// Reads the xdp_desc entry (rx ring) at our consumer counter + `i`.
    ///
    /// # Safety
    /// `i` must be below what `cons_avail` returned.
    pub unsafe fn desc(&self, i: u32) -> libc::xdp_desc {
        let at = (self.cached_cons.wrapping_add(i) & self.mask) as usize;
        self.desc.cast::<libc::xdp_desc>().add(at).read()
    }

    /// Gives `n` read entries back to the kernel.
    pub fn release(&mut self, n: u32) {
        self.cached_cons = self.cached_cons.wrapping_add(n);
        // SAFETY: the mapping is live while the ring is used.
        unsafe { (*self.consumer).store(self.cached_cons, Ordering::Release) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring over plain memory laid out as the kernel lays it out, to check the index arithmetic
    /// (with the counters started just below 2^32, so they wrap).
    fn fake(size: u32, entry: usize) -> (Vec<u64>, Ring) {
        let words = (64 + size as usize * entry) / 8 + 1;
        let mut mem = vec![0u64; words];
        let base = mem.as_mut_ptr().cast::<u8>();
        let start = u32::MAX - 2;
        unsafe {
            base.cast::<u32>().write(start); // producer at 0
            base.add(4).cast::<u32>().write(start); // consumer at 4
            let r = Ring::new(base, 0, 4, 64, 8, size);
            (mem, r)
        }
    }

    fn kernel_consume(mem: &mut [u64], n: u32) {
        let base = mem.as_mut_ptr().cast::<u32>();
        unsafe { base.add(1).write(base.add(1).read().wrapping_add(n)) };
    }

    fn kernel_produce(mem: &mut [u64], n: u32) {
        let base = mem.as_mut_ptr().cast::<u32>();
        unsafe { base.write(base.read().wrapping_add(n)) };
    }

    #[test]
    fn producer_side_counts_room_across_the_wrap() {
        let (mut mem, mut r) = fake(4, 8);
        assert_eq!(r.prod_free(4), 4);
        for i in 0..3 {
            unsafe { r.put_addr(i, u64::from(i) * 2048) };
        }
        r.submit(3);
        assert_eq!(r.prod_free(1), 1);
        assert_eq!(r.prod_free(2), 1, "the kernel consumed nothing yet");
        kernel_consume(&mut mem, 3);
        assert_eq!(r.prod_free(4), 4, "refreshed once the cached value was short");
        assert_eq!(r.prod_outstanding(), 0);
        // The third entry written sits at slot (start + 2) & 3.
        let slot = ((u32::MAX - 2).wrapping_add(2) & 3) as usize;
        assert_eq!(mem[8 + slot], 4096);
    }

    #[test]
    fn consumer_side_sees_only_published_entries() {
        let (mut mem, mut r) = fake(4, 16);
        assert_eq!(r.cons_avail(8), 0);
        kernel_produce(&mut mem, 3);
        assert_eq!(r.cons_avail(2), 2);
        assert_eq!(r.cons_avail(8), 3);
        r.release(3);
        assert_eq!(r.cons_avail(8), 0);
        let consumer = unsafe { mem.as_ptr().cast::<u32>().add(1).read() };
        assert_eq!(consumer, (u32::MAX - 2).wrapping_add(3));
    }
}
