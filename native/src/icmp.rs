//! Unprivileged ICMP echo sockets ("ping sockets", Linux 3.0 for IPv4, 3.11 for IPv6), the
//! `icmp` feature: `socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)` and `AF_INET6 / IPPROTO_ICMPV6`.
//!
//! What the kernel does for such a socket (net/ipv4/ping.c):
//! - it only sends Echo Requests (type 8 / 128, code 0; anything else is EINVAL), writes the
//!   socket's identifier (its "port", picked at bind) over the message's, and computes the
//!   ICMPv4 checksum and the ICMPv6 one (pseudo-header included) itself;
//! - it hands the socket only the Echo Replies whose identifier is the socket's, as the ICMP
//!   message (header and data; the sockaddr's port is 0);
//! - ICMP errors about our requests are not queued without IP_RECVERR (not set here), so a
//!   receive never fails because of the network.
//!
//! Who may open one: a process whose group (any of its groups) is inside the namespace's
//! `net.ipv4.ping_group_range` (which also governs IPv6). The kernel default, "1 0", admits
//! nobody, not even root (CAP_NET_RAW does not help: that is for raw sockets); many distributions
//! set "0 2147483647". Refused, `icmp_socket_open` returns -EACCES, which the TypeScript wrapper
//! turns into an error that names the sysctl.
//!
//! Buffers, as in udp.rs (and with its helpers, dgram.rs): the receive area (data, offs, lens,
//! 8-word peer records), the send buffer and its destination record are registered once;
//! `recv(start, count, cap)` and `send(off, len)` take numbers only. Requests go one per
//! sendto(2): echo is not bulk traffic, and a batch would only wait for company; replies come in
//! batches (recvmmsg). The 8-word record is udp.rs's with word 1 (port) 0 and word 7 the reply's
//! TTL or hop limit (-1 when the kernel gave none):
//!
//!   [0] family 4 or 6   [1] 0   [2..6] address (IPv4 in [2], IPv6 as 4 big-endian u32 words)
//!   [6] IPv6 scope id   [7] TTL / hop limit of the reply
//!
//! Errors caused by traffic (no route, the send buffer full) are returned as -errno and
//! counted, never thrown: only misuse (a closed socket, a range outside the registered buffers)
//! throws.

use std::mem::{size_of, zeroed};

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::dgram::{errno, is_misuse, record_to_sockaddr, setsockopt_int, sockaddr_to_record, Area, MsgScratch, SockAddr, SocketFd, W_ADDR, W_EXTRA, W_FAMILY, W_SCOPE};
pub use crate::dgram::ADDR_WORDS;

/// Word 7 of a reply's record: its TTL or hop limit.
const W_TTL: usize = W_EXTRA;
/// Room for the ancillary data of one reply (one IP_TTL or IPV6_HOPLIMIT int).
const RX_CMSG_BYTES: usize = 32;
/// RFC 792, RFC 4443 §4: the Echo header (type, code, checksum, identifier, sequence).
pub const ECHO_HEADER_LEN: usize = 8;

fn misuse(msg: String) -> Error {
    Error::new(Status::InvalidArg, msg)
}

// ---------------------------------------------------------------------------------------------
// The napi-free half (unit-tested)
// ---------------------------------------------------------------------------------------------

/// Opens and binds a non-blocking, close-on-exec echo socket of `family` (4 or 6) in this
/// thread's network namespace; asks for the TTL / hop limit of replies. Returns the descriptor
/// or -errno (-EACCES: the process's groups are outside net.ipv4.ping_group_range).
pub fn open_fd(family: u32) -> i32 {
    let (af, proto) = match family {
        4 => (libc::AF_INET, libc::IPPROTO_ICMP),
        6 => (libc::AF_INET6, libc::IPPROTO_ICMPV6),
        _ => return -libc::EAFNOSUPPORT,
    };
    // SAFETY: socket takes no pointers.
    let fd = unsafe { libc::socket(af, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return -errno();
    }
    // Bind to the wildcard, port 0: the kernel picks the identifier now, so `local_id` is known
    // before the first send (it would otherwise bind on the first send).
    // SAFETY: sockaddr_in6 is plain old data; all-zero is the wildcard with port 0.
    let mut sa: SockAddr = unsafe { zeroed() };
    let len = if family == 4 {
        // SAFETY: sockaddr_in is smaller than sockaddr_in6 and both are plain old data.
        let sin = unsafe { &mut *(&mut sa as *mut SockAddr).cast::<libc::sockaddr_in>() };
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        size_of::<libc::sockaddr_in>()
    } else {
        sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        size_of::<SockAddr>()
    };
    // SAFETY: sa is a valid sockaddr of `len` bytes.
    if unsafe { libc::bind(fd, (&sa as *const SockAddr).cast(), len as libc::socklen_t) } != 0 {
        let e = errno();
        // SAFETY: closing the descriptor made above.
        unsafe { libc::close(fd) };
        return -e;
    }
    // Best effort: without them word 7 of a reply's record is -1.
    if family == 4 {
        setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_RECVTTL, 1);
    } else {
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1);
    }
    fd
}

/// The echo identifier the kernel gave the socket (its bound "port"), or -errno.
pub fn local_id(fd: i32) -> i32 {
    // SAFETY: sockaddr_in6 is plain old data.
    let mut sa: SockAddr = unsafe { zeroed() };
    let mut len = size_of::<SockAddr>() as libc::socklen_t;
    // SAFETY: sa has room for `len` bytes.
    if unsafe { libc::getsockname(fd, (&mut sa as *mut SockAddr).cast(), &mut len) } != 0 {
        return -errno();
    }
    // sin_port and sin6_port sit at the same offset.
    i32::from(u16::from_be(sa.sin6_port))
}

/// Sends `msg` (an ICMP Echo Request: type, code 0, checksum and identifier ignored, sequence,
/// data) to the IPv4 (`a[0]`, a big-endian u32 as int32) or IPv6 (`a[0..4]`, four big-endian
/// words, `scope` for link-local) destination. Returns the bytes sent or -errno (-EAGAIN: the
/// send buffer is full).
pub fn send_to(fd: i32, family: u32, msg: &[u8], a: [i32; 4], scope: u32) -> i32 {
    let rec = [family as i32, 0, a[0], a[1], a[2], a[3], scope as i32, 0];
    // SAFETY: plain old data.
    let mut sa: SockAddr = unsafe { zeroed() };
    let Some(len) = record_to_sockaddr(&rec, family, &mut sa) else {
        return -libc::EAFNOSUPPORT;
    };
    loop {
        // SAFETY: msg is a live slice; sa a valid sockaddr of `len` bytes.
        let n = unsafe { libc::sendto(fd, msg.as_ptr().cast(), msg.len(), libc::MSG_DONTWAIT, (&sa as *const SockAddr).cast(), len) };
        if n >= 0 {
            return n as i32;
        }
        let e = errno();
        if e != libc::EINTR {
            return -e;
        }
    }
}

/// The TTL (IP_TTL) or hop limit (IPV6_HOPLIMIT) in a received message's ancillary data, or -1.
fn reply_ttl(h: &libc::msghdr) -> i32 {
    if h.msg_controllen == 0 {
        return -1;
    }
    // SAFETY: the kernel wrote msg_controllen bytes of cmsgs into our buffer.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            let (l, t) = ((*c).cmsg_level, (*c).cmsg_type);
            if (l == libc::IPPROTO_IP && t == libc::IP_TTL) || (l == libc::IPPROTO_IPV6 && t == libc::IPV6_HOPLIMIT) {
                return std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>());
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
    }
    -1
}

/// What one `recv_batch` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RxResult {
    /// Entries filled (a truncated reply fills one with length -1).
    pub entries: usize,
    pub bytes: usize,
    pub truncated: usize,
}

/// Receives up to `offs.len()` replies with one recvmmsg: reply k lands at data[offs[k]], at
/// most `cap` bytes, its length in lens[k] (-1: larger than `cap`, lost), its source in
/// recs[8k..8k+8]. Offsets must have been checked against `data` by the caller. Returns what it
/// did, or Err(errno) for misuse (EBADF...); nothing waiting is Ok with 0 entries.
///
/// # Safety
/// `data` must point at a buffer in which every `offs[k] + cap` is in bounds, alive and not
/// otherwise accessed for the duration of the call.
pub unsafe fn recv_batch(fd: i32, data: *mut u8, offs: &[i32], cap: usize, lens: &mut [i32], recs: &mut [i32], s: &mut MsgScratch) -> std::result::Result<RxResult, i32> {
    let count = offs.len();
    s.ensure(count, RX_CMSG_BYTES);
    for (k, &off) in offs.iter().enumerate() {
        // SAFETY: in bounds by the caller's contract.
        s.set_rx(k, unsafe { data.add(off as usize) }, cap, RX_CMSG_BYTES);
    }
    // SAFETY: `count` messages are set up above and point at live memory.
    let n = match unsafe { s.recvmmsg(fd, count) } {
        Ok(n) => n,
        Err(e) if is_misuse(e) => return Err(e),
        // EAGAIN: nothing waiting. Anything else is a pending socket error (none without
        // IP_RECVERR): nothing read.
        Err(_) => return Ok(RxResult::default()),
    };
    let mut r = RxResult { entries: n, ..RxResult::default() };
    for k in 0..n {
        let m = &s.msgs[k];
        let rec = &mut recs[k * ADDR_WORDS..k * ADDR_WORDS + ADDR_WORDS];
        // The kernel gives the source with port 0 (net/ipv4/ping.c), so word 1 is 0.
        sockaddr_to_record(&s.names[k], m.msg_hdr.msg_namelen, rec);
        rec[W_TTL] = reply_ttl(&m.msg_hdr);
        if m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
            lens[k] = -1;
            r.truncated += 1;
        } else {
            lens[k] = m.msg_len as i32;
            r.bytes += m.msg_len as usize;
        }
    }
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// The socket, for JavaScript
// ---------------------------------------------------------------------------------------------

/// Opens an echo socket of `family` (4 or 6), in this process's network namespace or in the one
/// at `netns` (a namespace file such as `/run/netns/NAME`). Returns the descriptor, or -errno:
/// -EACCES when the process's groups are outside net.ipv4.ping_group_range, -EAFNOSUPPORT for a
/// family other than 4 and 6 (or a kernel without IPv6), -ENOENT / -EPERM when the namespace
/// cannot be entered. Hand the descriptor to `IcmpSocket.adopt`.
#[napi]
pub fn icmp_socket_open(family: u32, netns: Option<String>) -> i32 {
    match netns {
        None => open_fd(family),
        Some(path) => match crate::netns::run_in(&path, || Ok(open_fd(family))) {
            Ok(fd) => fd,
            Err(e) => match e.kind() {
                std::io::ErrorKind::NotFound => -libc::ENOENT,
                std::io::ErrorKind::PermissionDenied => -libc::EPERM,
                _ => -libc::EINVAL,
            },
        },
    }
}

/// Counters of one echo socket.
#[napi(object)]
#[derive(Default, Clone, Copy)]
pub struct IcmpStats {
    /// Echo Requests sent, and their bytes (the ICMP message).
    pub tx_requests: f64,
    pub tx_bytes: f64,
    /// Requests the kernel refused (no route, the send buffer full...), with the last errno.
    pub tx_errors: f64,
    /// recv calls that found at least one reply, and those that found none.
    pub rx_calls: f64,
    pub rx_empty_calls: f64,
    /// Replies received, their bytes, and those lost because an entry was too small.
    pub rx_replies: f64,
    pub rx_bytes: f64,
    pub rx_truncated: f64,
    /// The errno of the last counted error (0: none).
    pub last_errno: f64,
}

/// An ICMP echo socket. Not thread-safe: use it on the thread that opened it.
#[napi]
pub struct IcmpSocket {
    fd: SocketFd,
    family: u32,
    /// Where replies land.
    rx: Option<Area>,
    /// The send buffer and the destination record.
    tx: Option<(Uint8Array, Int32Array)>,
    stats: IcmpStats,
    scratch: MsgScratch,
    offs: Vec<i32>,
}

#[napi]
impl IcmpSocket {
    /// Takes ownership of a descriptor from `icmpSocketOpen` (closed by `close` or when collected).
    #[napi(factory)]
    pub fn adopt(fd: i32, family: u32) -> Result<Self> {
        if fd < 0 || (family != 4 && family != 6) {
            return Err(misuse(format!("icmp: adopt: expected a descriptor and family 4 or 6, got {fd} and {family}")));
        }
        Ok(IcmpSocket { fd: SocketFd::new(fd), family, rx: None, tx: None, stats: IcmpStats::default(), scratch: MsgScratch::default(), offs: Vec::new() })
    }

    fn live(&self) -> Result<i32> {
        self.fd.live("icmp")
    }

    /// The descriptor, for `waitFds` (-1 once closed).
    #[napi(getter, js_name = "fd")]
    pub fn fd_number(&self) -> i32 {
        self.fd.raw()
    }

    /// The echo identifier the kernel writes into every request of this socket (and filters
    /// replies by), or -errno.
    #[napi]
    pub fn local_id(&self) -> Result<i32> {
        Ok(local_id(self.live()?))
    }

    /// Registers where replies go: entry i at data[offs[i]], its length in lens[i], its source
    /// and TTL in addrs[8i .. 8i+8]. The arrays stay referenced until replaced or closed.
    #[napi]
    pub fn set_rx_buffers(&mut self, data: Uint8Array, offs: Int32Array, lens: Int32Array, addrs: Int32Array) -> Result<()> {
        self.live()?;
        let a = Area::new("icmp", data, offs, lens, addrs)?;
        self.scratch.ensure(a.entries, RX_CMSG_BYTES);
        self.offs.reserve(a.entries);
        self.rx = Some(a);
        Ok(())
    }

    /// Registers the buffer requests are sent from and the 8-word record `to` that `send` reads
    /// the destination from (family, 0, address words, scope: the rx record's layout).
    #[napi]
    pub fn set_tx_buffer(&mut self, data: Uint8Array, to: Int32Array) -> Result<()> {
        self.live()?;
        if to.len() < ADDR_WORDS {
            return Err(misuse(format!("icmp: expected a destination record of {ADDR_WORDS} words, got {}", to.len())));
        }
        self.tx = Some((data, to));
        Ok(())
    }

    /// Sends the Echo Request of `len` bytes at `off` in the tx buffer (type 8 or 128, code 0;
    /// the kernel writes the identifier and the checksum) to the address in the destination
    /// record. Returns the bytes sent or -errno, counted (-EAGAIN: the send buffer is full;
    /// -EINVAL: not an Echo Request; -EAFNOSUPPORT: the record's family is not the socket's).
    #[napi]
    pub fn send(&mut self, off: u32, len: u32) -> Result<i32> {
        let fd = self.live()?;
        let Some((data, to)) = self.tx.as_ref() else {
            return Err(misuse("icmp: send before set_tx_buffer".to_string()));
        };
        let (off, len) = (off as usize, len as usize);
        if off + len > data.len() || len < ECHO_HEADER_LEN {
            return Err(misuse(format!("icmp: a request of {len} bytes at {off} is outside the {}-byte tx buffer or shorter than {ECHO_HEADER_LEN}", data.len())));
        }
        let n = if to[W_FAMILY] as u32 != self.family {
            -libc::EAFNOSUPPORT
        } else {
            send_to(fd, self.family, &data[off..off + len], [to[W_ADDR], to[W_ADDR + 1], to[W_ADDR + 2], to[W_ADDR + 3]], to[W_SCOPE] as u32)
        };
        if n >= 0 {
            self.stats.tx_requests += 1.0;
            self.stats.tx_bytes += f64::from(n);
        } else {
            self.stats.tx_errors += 1.0;
            self.stats.last_errno = f64::from(-n);
        }
        Ok(n)
    }

    /// Receives up to `count` replies into rx entries `start..`, each into `cap` bytes at its
    /// offset, with one recvmmsg. Returns how many entries were filled (0: nothing waiting).
    /// Per entry: lens[i] the length of the ICMP message (-1: larger than `cap`, lost and
    /// counted), addrs[8i..] its source, word 7 its TTL or hop limit.
    #[napi]
    pub fn recv(&mut self, start: u32, count: u32, cap: u32) -> Result<i32> {
        let fd = self.live()?;
        let (start, count, cap) = (start as usize, count as usize, cap as usize);
        let Some(rx) = self.rx.as_mut() else {
            return Err(misuse("icmp: recv before set_rx_buffers".to_string()));
        };
        rx.check_range(start, count)?;
        if count == 0 {
            return Ok(0);
        }
        self.offs.clear();
        for k in start..start + count {
            self.offs.push(rx.rx_offset(k, cap)? as i32);
        }
        // SAFETY: the kernel writes into this memory during recvmmsg; no Rust reference to it is
        // alive then. lens and addrs are the caller's arrays, not aliased by anything while this
        // synchronous call runs (no JavaScript runs meanwhile).
        let data = unsafe { rx.data.as_mut() }.as_mut_ptr();
        let lens = unsafe { rx.lens.as_mut() };
        let addrs = unsafe { rx.addrs.as_mut() };
        // SAFETY: every offset + cap was checked against the data length above.
        let r = unsafe { recv_batch(fd, data, &self.offs, cap, &mut lens[start..], &mut addrs[start * ADDR_WORDS..], &mut self.scratch) };
        match r {
            Ok(r) if r.entries == 0 => {
                self.stats.rx_empty_calls += 1.0;
                Ok(0)
            }
            Ok(r) => {
                self.stats.rx_calls += 1.0;
                self.stats.rx_replies += (r.entries - r.truncated) as f64;
                self.stats.rx_bytes += r.bytes as f64;
                self.stats.rx_truncated += r.truncated as f64;
                Ok(r.entries as i32)
            }
            Err(e) => Err(Error::new(Status::GenericFailure, format!("icmp: recvmmsg: {}", std::io::Error::from_raw_os_error(e)))),
        }
    }

    /// The counters.
    #[napi]
    pub fn stats(&self) -> IcmpStats {
        self.stats
    }

    /// Closes the socket and releases the registered buffers. Idempotent.
    #[napi]
    pub fn close(&mut self) {
        self.fd.close();
        self.rx = None;
        self.tx = None;
    }
}

#[cfg(test)]
mod tests;
