//! `struct ifreq` for the TUN/TAP ioctls (linux/if_tun.h, linux/if.h), built without napi so
//! that it can be unit-tested.

/// `_IOW('T', 202, int)`: attach the descriptor to a TUN/TAP device, creating it if needed.
pub const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// linux/if_tun.h `ifr_flags`.
pub const IFF_TUN: u16 = 0x0001;
pub const IFF_TAP: u16 = 0x0002;
/// No 4-byte packet-information prefix on reads and writes: frames are raw.
pub const IFF_NO_PI: u16 = 0x1000;
/// One descriptor per queue; the kernel spreads flows over the queues.
pub const IFF_MULTI_QUEUE: u16 = 0x0100;
/// With TUNSETIFF: fail with EBUSY when the device exists already (create, never attach).
pub const IFF_TUN_EXCL: u16 = 0x8000;

/// IFNAMSIZ: names are at most 15 bytes plus the terminating NUL.
pub const IFNAMSIZ: usize = 16;

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags at the start of the union.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IfReq {
    pub name: [u8; IFNAMSIZ],
    pub flags: u16,
    pad: [u8; 22],
}

impl IfReq {
    /// The device name the kernel wrote back (it fills in `tun%d`-style templates).
    pub fn name(&self) -> String {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
        String::from_utf8_lossy(&self.name[..end]).into_owned()
    }
}

/// Checks an interface name as the kernel's `dev_valid_name` does (an empty name lets the
/// kernel choose one). `%d` templates (`tun%d`) are allowed.
pub fn check_ifname(name: &str) -> Result<(), String> {
    if name.len() >= IFNAMSIZ {
        return Err(format!("interface name {name:?} is {} bytes long, at most {} allowed", name.len(), IFNAMSIZ - 1));
    }
    if name == "." || name == ".." {
        return Err(format!("interface name {name:?} is not allowed"));
    }
    if let Some(c) = name.chars().find(|&c| c == '/' || c == ':' || c == '\0' || c.is_whitespace()) {
        return Err(format!("interface name {name:?} contains {c:?}, which is not allowed"));
    }
    Ok(())
}

/// The ifreq for TUNSETIFF: `name` (may be empty) and the mode flags (`vnet_hdr`: IFF_VNET_HDR,
/// every read and write starts with a virtio-net header). IFF_NO_PI is always set:
/// frames are read and written with no prefix.
pub fn tunsetiff_req(name: &str, tap: bool, multi_queue: bool, exclusive: bool, vnet_hdr: bool) -> Result<IfReq, String> {
    check_ifname(name)?;
    let mut req = IfReq { name: [0; IFNAMSIZ], flags: 0, pad: [0; 22] };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    req.flags = (if tap { IFF_TAP } else { IFF_TUN }) | IFF_NO_PI;
    if multi_queue {
        req.flags |= IFF_MULTI_QUEUE;
    }
    if exclusive {
        req.flags |= IFF_TUN_EXCL;
    }
    if vnet_hdr {
        req.flags |= super::vnet::IFF_VNET_HDR;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(r: &IfReq) -> [u8; 40] {
        // SAFETY: IfReq is repr(C), 40 bytes, no padding between fields (16 + 2 + 22).
        unsafe { std::mem::transmute::<IfReq, [u8; 40]>(*r) }
    }

    #[test]
    fn layout_matches_struct_ifreq() {
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
        assert_eq!(std::mem::offset_of!(IfReq, flags), 16);
    }

    #[test]
    fn tun_request() {
        let r = tunsetiff_req("tun7", false, false, false, false).unwrap();
        let b = bytes(&r);
        assert_eq!(&b[..5], b"tun7\0");
        assert!(b[5..16].iter().all(|&x| x == 0));
        // IFF_TUN | IFF_NO_PI = 0x1001, little-endian.
        assert_eq!(&b[16..18], &[0x01, 0x10]);
        assert!(b[18..].iter().all(|&x| x == 0));
        assert_eq!(r.name(), "tun7");
    }

    #[test]
    fn tap_multiqueue_exclusive_request() {
        let r = tunsetiff_req("tap0", true, true, true, false).unwrap();
        assert_eq!(r.flags, IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_TUN_EXCL);
        assert_eq!(r.flags, 0x9102);
    }

    #[test]
    fn vnet_header_request() {
        let r = tunsetiff_req("tun1", false, false, false, true).unwrap();
        assert_eq!(r.flags, IFF_TUN | IFF_NO_PI | 0x4000);
    }

    #[test]
    fn empty_name_lets_the_kernel_choose() {
        let r = tunsetiff_req("", false, false, false, false).unwrap();
        assert!(r.name.iter().all(|&x| x == 0));
        assert_eq!(r.name(), "");
    }

    #[test]
    fn fifteen_bytes_fit_sixteen_do_not() {
        assert!(tunsetiff_req("abcdefghijklmno", false, false, false, false).is_ok());
        let e = tunsetiff_req("abcdefghijklmnop", false, false, false, false).err().unwrap();
        assert!(e.contains("16 bytes"), "{e}");
    }

    #[test]
    fn invalid_names() {
        for n in [".", "..", "a/b", "a:b", "a b", "a\tb", "a\0b"] {
            assert!(check_ifname(n).is_err(), "{n:?} accepted");
        }
        assert!(check_ifname("tun%d").is_ok());
    }

    #[test]
    fn name_without_terminator() {
        let mut r = tunsetiff_req("", false, false, false, false).unwrap();
        r.name = *b"abcdefghijklmnop";
        assert_eq!(r.name(), "abcdefghijklmnop");
    }
}
