//! An AF_XDP socket with its UMEM registered and its four rings mapped (if_xdp.h, and the
//! kernel's Documentation/networking/af_xdp.rst for the order of the steps).

use std::mem::{size_of, zeroed};
use std::ptr::null_mut;

use super::ring::Ring;
use super::{close_fd, errno};

// if_xdp.h (not all in the libc crate).
const XDP_MMAP_OFFSETS: libc::c_int = 1;
const XDP_RX_RING: libc::c_int = 2;
const XDP_TX_RING: libc::c_int = 3;
const XDP_UMEM_REG: libc::c_int = 4;
const XDP_UMEM_FILL_RING: libc::c_int = 5;
const XDP_UMEM_COMPLETION_RING: libc::c_int = 6;
const XDP_COPY: u16 = 1 << 1;
const XDP_ZEROCOPY: u16 = 1 << 2;
const XDP_USE_NEED_WAKEUP: u16 = 1 << 3;
const XDP_PGOFF_RX_RING: libc::off_t = 0;
const XDP_PGOFF_TX_RING: libc::off_t = 0x8000_0000;
const XDP_UMEM_PGOFF_FILL_RING: libc::off_t = 0x1_0000_0000;
const XDP_UMEM_PGOFF_COMPLETION_RING: libc::off_t = 0x1_8000_0000;

pub struct Mapping {
    pub ptr: *mut libc::c_void,
    pub len: usize,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps a mapping this module made, once.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// Ring sizes (entries, powers of two).
#[derive(Clone, Copy)]
pub struct Sizes {
    pub fill: u32,
    pub comp: u32,
    pub rx: u32,
    pub tx: u32,
}

/// An AF_XDP socket with its UMEM registered and its rings mapped; closed on drop.
pub struct Xsk {
    pub fd: i32,
    pub fill: Ring,
    pub comp: Ring,
    pub rx: Ring,
    pub tx: Ring,
    pub maps: Vec<Mapping>,
    pub zero_copy: bool,
}

impl Drop for Xsk {
    fn drop(&mut self) {
        self.fill = Ring::empty();
        self.comp = Ring::empty();
        self.rx = Ring::empty();
        self.tx = Ring::empty();
        self.maps.clear();
        close_fd(self.fd);
    }
}

fn setsockopt_val<T>(fd: i32, name: libc::c_int, v: &T) -> std::result::Result<(), i32> {
    // SAFETY: passes a live value and its size.
    let r = unsafe { libc::setsockopt(fd, libc::SOL_XDP, name, (v as *const T).cast(), size_of::<T>() as libc::socklen_t) };
    if r == 0 { Ok(()) } else { Err(errno()) }
}

fn map_ring(fd: i32, desc_off: u64, entries: u32, entry: usize, pgoff: libc::off_t) -> std::result::Result<Mapping, i32> {
    let len = desc_off as usize + entries as usize * entry;
    // SAFETY: maps a ring of the socket; the result is checked.
    let ptr = unsafe { libc::mmap(null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED | libc::MAP_POPULATE, fd, pgoff) };
    if ptr == libc::MAP_FAILED {
        return Err(errno());
    }
    Ok(Mapping { ptr, len })
}

pub struct UmemSpec {
    pub ptr: *mut u8,
    pub len: u64,
    pub frame_size: u32,
    pub headroom: u32,
}

impl Xsk {
    /// Socket, UMEM registration, rings, bind. `Err((step, errno))` names the step that failed.
    pub fn create(ifindex: u32, queue: u32, umem: &UmemSpec, sizes: Sizes, zero_copy: bool, need_wakeup: bool) -> std::result::Result<Xsk, (&'static str, i32)> {
        // SAFETY: socket takes no pointers.
        let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(("socket(AF_XDP)", errno()));
        }
        let mut x = Xsk { fd, fill: Ring::empty(), comp: Ring::empty(), rx: Ring::empty(), tx: Ring::empty(), maps: Vec::new(), zero_copy };
        let reg = libc::xdp_umem_reg { addr: umem.ptr as u64, len: umem.len, chunk_size: umem.frame_size, headroom: umem.headroom, flags: 0, tx_metadata_len: 0 };
        setsockopt_val(fd, XDP_UMEM_REG, &reg).map_err(|e| ("XDP_UMEM_REG", e))?;
        setsockopt_val(fd, XDP_UMEM_FILL_RING, &sizes.fill).map_err(|e| ("XDP_UMEM_FILL_RING", e))?;
        setsockopt_val(fd, XDP_UMEM_COMPLETION_RING, &sizes.comp).map_err(|e| ("XDP_UMEM_COMPLETION_RING", e))?;
        setsockopt_val(fd, XDP_RX_RING, &sizes.rx).map_err(|e| ("XDP_RX_RING", e))?;
        setsockopt_val(fd, XDP_TX_RING, &sizes.tx).map_err(|e| ("XDP_TX_RING", e))?;
        // SAFETY: zeroed offsets are valid; getsockopt fills them.
        let mut off: libc::xdp_mmap_offsets = unsafe { zeroed() };
        let mut optlen = size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
        // SAFETY: off has room for optlen bytes.
        if unsafe { libc::getsockopt(fd, libc::SOL_XDP, XDP_MMAP_OFFSETS, (&mut off as *mut libc::xdp_mmap_offsets).cast(), &mut optlen) } != 0 {
            return Err(("XDP_MMAP_OFFSETS", errno()));
        }
        if optlen as usize != size_of::<libc::xdp_mmap_offsets>() {
            // Kernels before 5.4 have no flags field (no need_wakeup): not supported here.
            return Err(("XDP_MMAP_OFFSETS (kernel older than 5.4)", libc::ENOTSUP));
        }
        let desc = size_of::<libc::xdp_desc>();
        let m = map_ring(fd, off.fr.desc, sizes.fill, 8, XDP_UMEM_PGOFF_FILL_RING).map_err(|e| ("mmap(fill ring)", e))?;
        // SAFETY: the mapping is kept in x.maps for as long as the ring is used.
        x.fill = unsafe { Ring::new(m.ptr.cast(), off.fr.producer, off.fr.consumer, off.fr.desc, off.fr.flags, sizes.fill) };
        x.maps.push(m);
        let m = map_ring(fd, off.cr.desc, sizes.comp, 8, XDP_UMEM_PGOFF_COMPLETION_RING).map_err(|e| ("mmap(completion ring)", e))?;
        x.comp = unsafe { Ring::new(m.ptr.cast(), off.cr.producer, off.cr.consumer, off.cr.desc, off.cr.flags, sizes.comp) };
        x.maps.push(m);
        let m = map_ring(fd, off.rx.desc, sizes.rx, desc, XDP_PGOFF_RX_RING).map_err(|e| ("mmap(rx ring)", e))?;
        x.rx = unsafe { Ring::new(m.ptr.cast(), off.rx.producer, off.rx.consumer, off.rx.desc, off.rx.flags, sizes.rx) };
        x.maps.push(m);
        let m = map_ring(fd, off.tx.desc, sizes.tx, desc, XDP_PGOFF_TX_RING).map_err(|e| ("mmap(tx ring)", e))?;
        x.tx = unsafe { Ring::new(m.ptr.cast(), off.tx.producer, off.tx.consumer, off.tx.desc, off.tx.flags, sizes.tx) };
        x.maps.push(m);
        let sa = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: (if zero_copy { XDP_ZEROCOPY } else { XDP_COPY }) | (if need_wakeup { XDP_USE_NEED_WAKEUP } else { 0 }),
            sxdp_ifindex: ifindex,
            sxdp_queue_id: queue,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: sa is a valid sockaddr_xdp.
        if unsafe { libc::bind(fd, (&sa as *const libc::sockaddr_xdp).cast(), size_of::<libc::sockaddr_xdp>() as libc::socklen_t) } != 0 {
            return Err(("bind", errno()));
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uapi_structs_have_their_kernel_sizes() {
        assert_eq!(size_of::<libc::xdp_desc>(), 16);
        assert_eq!(size_of::<libc::xdp_umem_reg>(), 32);
        assert_eq!(size_of::<libc::xdp_mmap_offsets>(), 128);
        assert_eq!(size_of::<libc::xdp_statistics>(), 48);
        assert_eq!(size_of::<libc::sockaddr_xdp>(), 16);
    }
}
