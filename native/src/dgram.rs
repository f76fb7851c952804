//! What the two datagram socket features, `udp` and `icmp`, share (napi-free, unit-tested):
//!
//! - the 8-word address record both hand to JavaScript, and its conversion to and from sockaddrs
//!   (the layout is below);
//! - `Area`: a registered receive or send area (data, offs, lens, addrs) and its bounds checks,
//!   whose errors name the feature ("udp: ...", "icmp: ...");
//! - `MsgScratch`: the mmsghdrs, iovecs, sockaddrs and control buffers a recvmmsg or sendmmsg is
//!   built in, reused by every call, with the receive side's entry set-up and the call itself;
//! - `SocketFd`: a descriptor closed by `close()` or, for an object collected unclosed, on drop.
//!
//! The address record, 8 int32 words:
//!
//!   [0] family 4, 6 (0: no address)   [1] port, host order (0 on an echo socket)
//!   [2..6] address (IPv4 in [2] as a big-endian u32; IPv6 as 4 big-endian u32 words)
//!   [6] IPv6 scope id                 [7] the socket's own (udp: GRO segment; icmp: TTL)

use std::mem::{size_of, zeroed};
use std::ptr::null_mut;

use napi::bindgen_prelude::*;

/// Words per address record.
pub const ADDR_WORDS: usize = 8;
pub const W_FAMILY: usize = 0;
pub const W_PORT: usize = 1;
pub const W_ADDR: usize = 2;
pub const W_SCOPE: usize = 6;
/// Word 7: each feature's own (udp: the GRO segment size; icmp: the reply's TTL or hop limit).
pub const W_EXTRA: usize = 7;

pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

pub fn setsockopt_int(fd: i32, level: i32, name: i32, v: i32) -> bool {
    // SAFETY: passes a pointer to a live int and its size.
    unsafe { libc::setsockopt(fd, level, name, (&v as *const i32).cast(), size_of::<i32>() as libc::socklen_t) == 0 }
}

/// Errors of recvmmsg that are the caller's misuse rather than traffic.
pub fn is_misuse(e: i32) -> bool {
    matches!(e, libc::EBADF | libc::ENOTSOCK | libc::EFAULT | libc::EINVAL)
}

// ---------------------------------------------------------------------------------------------
// The address record <-> sockaddr
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

/// Fills `rec[0..7]` from a sockaddr the kernel wrote (word 7, the socket's own, is left alone).
/// v4-mapped IPv6 addresses become family 4. Unknown families give family 0.
pub fn sockaddr_to_record(sa: &SockAddr, len: libc::socklen_t, rec: &mut [i32]) {
    rec[W_FAMILY..W_EXTRA].fill(0);
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

// ---------------------------------------------------------------------------------------------
// The descriptor
// ---------------------------------------------------------------------------------------------

/// A socket's descriptor (-1 once closed), closed by `close` or on drop.
pub struct SocketFd(i32);

impl SocketFd {
    /// Takes ownership of `fd`.
    pub fn new(fd: i32) -> Self {
        SocketFd(fd)
    }

    /// The descriptor, or -1 once closed.
    pub fn raw(&self) -> i32 {
        self.0
    }

    /// The descriptor, or the error "`what`: the socket is closed".
    pub fn live(&self, what: &str) -> Result<i32> {
        if self.0 < 0 {
            return Err(Error::new(Status::GenericFailure, format!("{what}: the socket is closed")));
        }
        Ok(self.0)
    }

    /// Closes the descriptor. Idempotent.
    pub fn close(&mut self) {
        if self.0 >= 0 {
            // SAFETY: closes our own descriptor once.
            unsafe { libc::close(self.0) };
            self.0 = -1;
        }
    }
}

impl Drop for SocketFd {
    fn drop(&mut self) {
        // The JavaScript object was collected unclosed.
        self.close();
    }
}

// ---------------------------------------------------------------------------------------------
// A registered area
// ---------------------------------------------------------------------------------------------

/// Where one direction's datagrams live: entry i at data[offs[i]], its length in lens[i], its
/// address record in addrs[8i .. 8i+8]. Registered once; the arrays are kept alive here.
pub struct Area {
    pub data: Uint8Array,
    pub offs: Int32Array,
    pub lens: Int32Array,
    pub addrs: Int32Array,
    pub entries: usize,
    /// The feature its errors name ("udp", "icmp").
    what: &'static str,
}

impl Area {
    pub fn new(what: &'static str, data: Uint8Array, offs: Int32Array, lens: Int32Array, addrs: Int32Array) -> Result<Self> {
        let entries = offs.len();
        if lens.len() < entries || addrs.len() < entries * ADDR_WORDS {
            return Err(Error::new(
                Status::InvalidArg,
                format!("{what}: expected lens to have {entries} entries and addrs {} words, got {} and {}", entries * ADDR_WORDS, lens.len(), addrs.len()),
            ));
        }
        Ok(Area { data, offs, lens, addrs, entries, what })
    }

    pub fn check_range(&self, start: usize, count: usize) -> Result<()> {
        if start + count > self.entries {
            return Err(Error::new(Status::InvalidArg, format!("{}: entries {start}..{} are outside the {} registered", self.what, start + count, self.entries)));
        }
        Ok(())
    }

    /// The offset of receive entry `k`, checked to leave room for `cap` bytes in the data.
    pub fn rx_offset(&self, k: usize, cap: usize) -> Result<usize> {
        let off = self.offs[k];
        let data_len = self.data.len();
        if off < 0 || off as usize + cap > data_len {
            return Err(Error::new(Status::InvalidArg, format!("{}: rx entry {k} ({off} + {cap} bytes) is outside the {data_len}-byte buffer", self.what)));
        }
        Ok(off as usize)
    }
}

// ---------------------------------------------------------------------------------------------
// Messages for recvmmsg and sendmmsg
// ---------------------------------------------------------------------------------------------

/// The messages of one recvmmsg or sendmmsg (reused by every call; grown, never shrunk).
/// `cmsgs` holds `ensure`'s `cmsg_bytes` per message.
#[derive(Default)]
pub struct MsgScratch {
    pub msgs: Vec<libc::mmsghdr>,
    pub iovs: Vec<libc::iovec>,
    pub names: Vec<SockAddr>,
    pub cmsgs: Vec<u8>,
}

impl MsgScratch {
    /// Makes room for `n` messages with `cmsg_bytes` of ancillary data each.
    pub fn ensure(&mut self, n: usize, cmsg_bytes: usize) {
        if self.msgs.len() < n {
            // SAFETY: mmsghdr and sockaddr_in6 are plain old data; all-zero is valid.
            self.msgs.resize_with(n, || unsafe { zeroed() });
            self.iovs.resize_with(n, || libc::iovec { iov_base: null_mut(), iov_len: 0 });
            self.names.resize_with(n, || unsafe { zeroed() });
        }
        if self.cmsgs.len() < n * cmsg_bytes {
            self.cmsgs.resize(n * cmsg_bytes, 0);
        }
    }

    /// Sets up message `k` to receive at most `cap` bytes at `buf`, its source address into
    /// `names[k]`, and `cmsg_bytes` of ancillary data (0: none) into its control buffer.
    /// `ensure(k + 1, cmsg_bytes)` must have been called.
    pub fn set_rx(&mut self, k: usize, buf: *mut u8, cap: usize, cmsg_bytes: usize) {
        self.iovs[k] = libc::iovec { iov_base: buf.cast(), iov_len: cap };
        let m = &mut self.msgs[k];
        m.msg_len = 0;
        let h = &mut m.msg_hdr;
        h.msg_name = (&mut self.names[k] as *mut SockAddr).cast();
        h.msg_namelen = size_of::<SockAddr>() as libc::socklen_t;
        h.msg_iov = &mut self.iovs[k];
        h.msg_iovlen = 1;
        h.msg_flags = 0;
        if cmsg_bytes > 0 {
            h.msg_control = self.cmsgs[k * cmsg_bytes..].as_mut_ptr().cast();
            h.msg_controllen = cmsg_bytes;
        } else {
            h.msg_control = null_mut();
            h.msg_controllen = 0;
        }
    }

    /// One recvmmsg (MSG_DONTWAIT) into messages 0..count, retried on EINTR. Returns how many
    /// arrived, or the errno (EAGAIN: nothing was waiting).
    ///
    /// # Safety
    /// Messages 0..count must have been set up with `set_rx` since the last `ensure`, with
    /// buffers that are alive and not otherwise accessed for the duration of the call.
    pub unsafe fn recvmmsg(&mut self, fd: i32, count: usize) -> std::result::Result<usize, i32> {
        loop {
            // SAFETY: `count` messages point at live memory by the caller's contract.
            let n = unsafe { libc::recvmmsg(fd, self.msgs.as_mut_ptr(), count as u32, libc::MSG_DONTWAIT, null_mut()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = errno();
            if e != libc::EINTR {
                return Err(e);
            }
        }
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
        back[W_EXTRA] = 9;
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
}
