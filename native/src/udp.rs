//! Batched UDP: one socket, many datagrams per system call (recvmmsg/sendmmsg), straight into and
//! out of memory JavaScript allocated (ring slots, a frame pool, an arena in a SharedArrayBuffer).
//!
//! The caller registers, once, where datagrams live (`set_rx_buffers`, `set_tx_buffers`):
//!
//!   data   Uint8Array      the bytes (any ArrayBuffer or SharedArrayBuffer view)
//!   offs   Int32Array(n)   entry i's datagram starts at data[offs[i]]
//!   lens   Int32Array(n)   its length (written by `recv`, read by `send`)
//!   addrs  Int32Array(8n)  its peer, 8 words per entry (below)
//!
//! and then moves batches with calls that take only numbers (`recv(start, count, cap)`,
//! `send(start, count, timeoutMs)`), so a call costs the same whatever the batch: no typed-array
//! conversion, no JavaScript object per datagram.
//!
//! The peer address record, 8 int32 words per entry:
//!
//!   [0] family   4, 6, or 0 (send only: no address, the connected peer)
//!   [1] port     host order
//!   [2..6] addr  IPv4: [2] = the address as a big-endian u32 (127.0.0.1 = 0x7f000001), [3..6] = 0;
//!                IPv6: 4 big-endian u32 words
//!   [6] scope    IPv6 scope id (link-local), else 0
//!   [7] segment  recv: the GRO segment size when the entry holds several coalesced datagrams
//!                (each `segment` bytes, the last one shorter or equal), else 0; ignored by send
//!
//! IPv4 peers of an IPv6 socket (v4-mapped, ::ffff:a.b.c.d) are reported as family 4, and a
//! family-4 record sent from an IPv6 socket goes out v4-mapped: a dual-stack server sees one
//! form per peer.
//!
//! Offloads, where the kernel has them (Linux 4.18 and 5.0):
//! - UDP GSO (`UDP_SEGMENT`): `send` joins runs of consecutive entries with the same peer and the
//!   same length (the last of a run may be shorter) into one message of up to 64 segments, one
//!   iovec per entry, so the caller's datagrams are not copied together; the kernel splits them
//!   (or a GRO receiver on loopback takes the whole run as one). A run the route refuses (EINVAL,
//!   EIO: a segment larger than the path MTU, a device without checksum offload) is resent as
//!   separate datagrams and counted (`gsoFallbacks`).
//! - UDP GRO (`UDP_GRO`): the kernel may hand up several datagrams of one flow as one entry, with
//!   their segment size in word 7 of the record; receive areas must then be large (64 KiB).
//!
//! Errors caused by traffic (ICMP unreachable reported on a later call, a datagram too large, no
//! route) are counted per datagram, never thrown: only misuse (a closed socket, entries outside
//! the registered buffers) throws.

use std::mem::{size_of, zeroed};
use std::ptr::null_mut;

use napi::bindgen_prelude::*;
use napi_derive::napi;

mod batch;

use crate::dgram::{errno, is_misuse, record_to_sockaddr, setsockopt_int, sockaddr_to_record, Area, MsgScratch, SockAddr, SocketFd, W_FAMILY};
pub use crate::dgram::ADDR_WORDS;
pub use batch::{GSO_MAX_BYTES, GSO_MAX_SEGMENTS};
use batch::{plan_runs, segments_in, GsoLimits, SendRun, W_SEGMENT};

// linux/udp.h (not in the libc crate for glibc targets).
const UDP_SEGMENT: libc::c_int = 103;
const UDP_GRO: libc::c_int = 104;

/// Room for the ancillary data of one received message (one UDP_GRO int).
const RX_CMSG_BYTES: usize = 32;
/// Room for the ancillary data of one sent message (one UDP_SEGMENT u16).
const TX_CMSG_BYTES: usize = 24;

fn os_error(what: &str) -> Error {
    let e = std::io::Error::last_os_error();
    Error::new(Status::GenericFailure, format!("{what}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The socket
// ---------------------------------------------------------------------------------------------

/// Options for `UdpSocket.open`.
#[napi(object)]
pub struct UdpOpenOptions {
    /// 4 or 6.
    pub family: u32,
    /// The local address record (8 words; port 0 picks one).
    pub bind: Vec<i32>,
    /// Connect to this peer (8 words); entries sent with family 0 go there.
    pub connect: Option<Vec<i32>>,
    /// SO_RCVBUF in bytes (the kernel doubles it). Above net.core.rmem_max, SO_RCVBUFFORCE is
    /// tried (it needs CAP_NET_ADMIN).
    pub recv_buffer_size: Option<u32>,
    /// SO_SNDBUF in bytes, likewise.
    pub send_buffer_size: Option<u32>,
    /// SO_REUSEPORT: several sockets (one per worker) share the port, the kernel spreads flows.
    pub reuse_port: Option<bool>,
    /// IPV6_V6ONLY for an IPv6 socket (default false: dual stack).
    pub v6_only: Option<bool>,
    /// Use UDP GSO on send when the kernel has it (default true).
    pub gso: Option<bool>,
    /// Turn on UDP GRO on receive when the kernel has it (default false: receive areas must be
    /// large enough for coalesced datagrams, 64 KiB).
    pub gro: Option<bool>,
}

/// What the socket supports and uses.
#[napi(object)]
pub struct UdpOffloads {
    /// The kernel accepts UDP_SEGMENT on this socket.
    pub gso_supported: bool,
    /// `send` joins datagrams into GSO messages.
    pub gso: bool,
    /// The kernel accepts UDP_GRO on this socket.
    pub gro_supported: bool,
    /// UDP_GRO is on.
    pub gro: bool,
    /// The effective SO_RCVBUF and SO_SNDBUF (as the kernel reports them, doubled).
    pub recv_buffer_size: u32,
    pub send_buffer_size: u32,
}

/// Counters of one socket.
#[napi(object)]
#[derive(Default, Clone, Copy)]
pub struct UdpStats {
    /// recv calls that found at least one datagram, and those that found none.
    pub rx_calls: f64,
    pub rx_empty_calls: f64,
    /// Entries filled (a GRO entry counts once) and the datagrams they held.
    pub rx_messages: f64,
    pub rx_datagrams: f64,
    pub rx_bytes: f64,
    /// Datagrams (or GRO segments) lost because the receive area was too small.
    pub rx_truncated: f64,
    /// Errors the socket reported on receive (ICMP errors of earlier sends, on a connected socket).
    pub rx_errors: f64,
    /// sendmmsg calls, messages (a GSO run counts once) and datagrams sent.
    pub tx_calls: f64,
    pub tx_messages: f64,
    pub tx_datagrams: f64,
    pub tx_bytes: f64,
    /// Datagrams dropped because of an error (counted by the datagram, not thrown).
    pub tx_errors: f64,
    /// Datagrams with an address this socket cannot send to (an IPv6 peer on an IPv4 socket).
    pub tx_bad_address: f64,
    /// Times `send` stopped early because the send buffer stayed full for its timeout.
    pub tx_would_block: f64,
    /// GSO runs the kernel refused and that were resent as single datagrams.
    pub gso_fallbacks: f64,
    /// The errno of the last counted error (0: none).
    pub last_errno: f64,
}

/// A UDP socket moving datagrams in batches. Not thread-safe: use it on the thread that opened it.
#[napi]
pub struct UdpSocket {
    fd: SocketFd,
    family: u32,
    gso_supported: bool,
    gso: bool,
    gro_supported: bool,
    gro: bool,
    rx: Option<Area>,
    tx: Option<Area>,
    stats: UdpStats,
    /// Messages reused by every call (sized to the registered areas).
    scratch: MsgScratch,
    plan: Vec<SendRun>,
    runs: Vec<SendRun>,
}

fn getsockopt_int(fd: i32, level: i32, name: i32) -> Option<i32> {
    let mut v: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: passes a pointer to a live int and its size.
    let r = unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut i32).cast(), &mut len) };
    if r == 0 { Some(v) } else { None }
}

/// Sets SO_RCVBUF/SO_SNDBUF to `size`, forcing past the sysctl maximum when allowed.
fn set_buffer(fd: i32, name: i32, force: i32, size: u32) -> Result<()> {
    let want = size.min(i32::MAX as u32 / 2) as i32;
    if !setsockopt_int(fd, libc::SOL_SOCKET, name, want) {
        return Err(os_error("udp: setsockopt(SO_RCVBUF/SO_SNDBUF)"));
    }
    if getsockopt_int(fd, libc::SOL_SOCKET, name).unwrap_or(0) < want {
        // Capped by net.core.{r,w}mem_max: with CAP_NET_ADMIN the FORCE variant goes past it.
        setsockopt_int(fd, libc::SOL_SOCKET, force, want);
    }
    Ok(())
}

fn check_record(name: &str, rec: &[i32]) -> Result<()> {
    if rec.len() < ADDR_WORDS {
        return Err(Error::new(Status::InvalidArg, format!("udp: {name}: expected an address record of {ADDR_WORDS} words, got {}", rec.len())));
    }
    Ok(())
}

impl UdpSocket {
    fn fd(&self) -> Result<i32> {
        self.fd.live("udp")
    }

    fn ensure_scratch(&mut self, n: usize) {
        self.scratch.ensure(n, RX_CMSG_BYTES.max(TX_CMSG_BYTES));
    }

    fn count_error(&mut self, e: i32, datagrams: usize) {
        self.stats.tx_errors += datagrams as f64;
        self.stats.last_errno = f64::from(e);
    }

    /// Waits up to `timeout_ms` for room in the send buffer. True when there is.
    fn wait_writable(&self, timeout_ms: i32) -> bool {
        if timeout_ms == 0 {
            return false;
        }
        let mut p = libc::pollfd { fd: self.fd.raw(), events: libc::POLLOUT, revents: 0 };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        n > 0 && (p.revents & libc::POLLOUT) != 0
    }

    /// Builds message `m` for run `run` of the tx area (iovecs from `iov_at`), returns the
    /// next free iovec index, or None when the peer cannot be addressed from this socket.
    fn build_tx_message(&mut self, m: usize, run: SendRun, iov_at: usize) -> Option<usize> {
        let tx = self.tx.as_ref().expect("tx area");
        let data = tx.data.as_ptr() as *mut u8;
        let rec = &tx.addrs[run.first * ADDR_WORDS..run.first * ADDR_WORDS + ADDR_WORDS];
        let s = &mut self.scratch;
        let namelen = record_to_sockaddr(rec, self.family, &mut s.names[m])?;
        for k in 0..run.count {
            let e = run.first + k;
            // SAFETY: offsets were checked against the data length by `send`.
            s.iovs[iov_at + k] = libc::iovec { iov_base: unsafe { data.add(tx.offs[e] as usize) }.cast(), iov_len: tx.lens[e] as usize };
        }
        let msg = &mut s.msgs[m].msg_hdr;
        msg.msg_name = if namelen == 0 { null_mut() } else { (&mut s.names[m] as *mut SockAddr).cast() };
        msg.msg_namelen = namelen;
        msg.msg_iov = &mut s.iovs[iov_at];
        msg.msg_iovlen = run.count;
        msg.msg_flags = 0;
        if run.segment > 0 {
            let buf = &mut s.cmsgs[m * TX_CMSG_BYTES..(m + 1) * TX_CMSG_BYTES];
            buf.fill(0);
            msg.msg_control = buf.as_mut_ptr().cast();
            // SAFETY: CMSG_SPACE/CMSG_LEN are pure; the buffer holds CMSG_SPACE(2) bytes (<= 24).
            unsafe {
                msg.msg_controllen = libc::CMSG_SPACE(size_of::<u16>() as u32) as usize;
                let c = libc::CMSG_FIRSTHDR(msg);
                (*c).cmsg_level = libc::SOL_UDP;
                (*c).cmsg_type = UDP_SEGMENT;
                (*c).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), run.segment as u16);
            }
        } else {
            msg.msg_control = null_mut();
            msg.msg_controllen = 0;
        }
        Some(iov_at + run.count)
    }

    /// Sends runs[first..] built as messages first.. ; returns the index of the first run not
    /// done (sent or dropped), stopping early when the send buffer stays full.
    fn send_runs(&mut self, timeout_ms: i32) -> usize {
        let total = self.runs.len();
        let mut at = 0;
        while at < total {
            // SAFETY: messages at..total were built above and point at live buffers.
            let r = unsafe { libc::sendmmsg(self.fd.raw(), self.scratch.msgs.as_mut_ptr().add(at), (total - at) as u32, libc::MSG_DONTWAIT) };
            self.stats.tx_calls += 1.0;
            if r > 0 {
                for k in at..at + r as usize {
                    let run = self.runs[k];
                    let tx = self.tx.as_ref().expect("tx area");
                    let bytes: i64 = (run.first..run.first + run.count).map(|e| i64::from(tx.lens[e])).sum();
                    self.stats.tx_messages += 1.0;
                    self.stats.tx_datagrams += run.count as f64;
                    self.stats.tx_bytes += bytes as f64;
                }
                at += r as usize;
                continue;
            }
            let e = errno();
            match e {
                libc::EINTR => continue,
                libc::EAGAIN | libc::ENOBUFS => {
                    if self.wait_writable(timeout_ms) {
                        continue;
                    }
                    self.stats.tx_would_block += 1.0;
                    self.stats.last_errno = f64::from(e);
                    return at;
                }
                libc::EBADF | libc::ENOTSOCK | libc::EFAULT => {
                    // Misuse, not traffic: drop the rest, counted.
                    let n: usize = self.runs[at..].iter().map(|r| r.count).sum();
                    self.count_error(e, n);
                    return total;
                }
                _ => {
                    let run = self.runs[at];
                    if run.segment > 0 && (e == libc::EINVAL || e == libc::EIO || e == libc::EMSGSIZE) {
                        self.stats.gso_fallbacks += 1.0;
                        if e == libc::EIO {
                            // The device cannot segment: stop trying on this socket.
                            self.gso = false;
                        }
                        self.send_singly(run, timeout_ms);
                    } else {
                        self.count_error(e, run.count);
                    }
                    at += 1;
                }
            }
        }
        total
    }

    /// Sends a refused GSO run one datagram per message (plain sendmsg each; rare path).
    fn send_singly(&mut self, run: SendRun, timeout_ms: i32) {
        let tx = self.tx.as_ref().expect("tx area");
        let data = tx.data.as_ptr() as *mut u8;
        let rec = &tx.addrs[run.first * ADDR_WORDS..run.first * ADDR_WORDS + ADDR_WORDS];
        // SAFETY: zeroed sockaddr_in6 is valid.
        let mut name: SockAddr = unsafe { zeroed() };
        let namelen = record_to_sockaddr(rec, self.family, &mut name).unwrap_or(0);
        let mut k = 0;
        while k < run.count {
            let e = run.first + k;
            let mut iov = libc::iovec { iov_base: unsafe { data.add(tx.offs[e] as usize) }.cast(), iov_len: tx.lens[e] as usize };
            // SAFETY: zeroed msghdr is valid; it points at live locals.
            let mut msg: libc::msghdr = unsafe { zeroed() };
            msg.msg_name = if namelen == 0 { null_mut() } else { (&mut name as *mut SockAddr).cast() };
            msg.msg_namelen = namelen;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            let r = unsafe { libc::sendmsg(self.fd.raw(), &msg, libc::MSG_DONTWAIT) };
            if r >= 0 {
                self.stats.tx_messages += 1.0;
                self.stats.tx_datagrams += 1.0;
                self.stats.tx_bytes += r as f64;
                k += 1;
                continue;
            }
            let err = errno();
            if (err == libc::EAGAIN || err == libc::ENOBUFS) && self.wait_writable(timeout_ms) {
                continue;
            }
            if err != libc::EINTR {
                self.stats.tx_errors += 1.0;
                self.stats.last_errno = f64::from(err);
                k += 1;
            }
        }
    }
}

#[napi]
impl UdpSocket {
    /// Opens a non-blocking UDP socket, binds it, and optionally connects it.
    #[napi(factory)]
    pub fn open(opts: UdpOpenOptions) -> Result<Self> {
        let family = opts.family;
        if family != 4 && family != 6 {
            return Err(Error::new(Status::InvalidArg, format!("udp: family must be 4 or 6, got {family}")));
        }
        check_record("bind", &opts.bind)?;
        let af = if family == 4 { libc::AF_INET } else { libc::AF_INET6 };
        // SAFETY: socket takes no pointers.
        let fd = unsafe { libc::socket(af, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(os_error("udp: socket"));
        }
        let mut s = UdpSocket {
            fd: SocketFd::new(fd),
            family,
            gso_supported: false,
            gso: false,
            gro_supported: false,
            gro: false,
            rx: None,
            tx: None,
            stats: UdpStats::default(),
            scratch: MsgScratch::default(),
            plan: Vec::new(),
            runs: Vec::new(),
        };
        // From here, dropping `s` closes the descriptor on every error path.
        if family == 6 && !setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, i32::from(opts.v6_only.unwrap_or(false))) {
            return Err(os_error("udp: setsockopt(IPV6_V6ONLY)"));
        }
        if opts.reuse_port.unwrap_or(false) && !setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1) {
            return Err(os_error("udp: setsockopt(SO_REUSEPORT)"));
        }
        if let Some(n) = opts.recv_buffer_size {
            set_buffer(fd, libc::SO_RCVBUF, libc::SO_RCVBUFFORCE, n)?;
        }
        if let Some(n) = opts.send_buffer_size {
            set_buffer(fd, libc::SO_SNDBUF, libc::SO_SNDBUFFORCE, n)?;
        }
        // GSO: the kernel accepts a per-socket UDP_SEGMENT of 0 when it supports it.
        s.gso_supported = setsockopt_int(fd, libc::SOL_UDP, UDP_SEGMENT, 0);
        s.gso = s.gso_supported && opts.gso.unwrap_or(true);
        s.gro_supported = getsockopt_int(fd, libc::SOL_UDP, UDP_GRO).is_some();
        if s.gro_supported && opts.gro.unwrap_or(false) {
            s.gro = setsockopt_int(fd, libc::SOL_UDP, UDP_GRO, 1);
        }
        let mut sa: SockAddr = unsafe { zeroed() };
        let len = match record_to_sockaddr(&opts.bind, family, &mut sa) {
            Some(l) if l > 0 => l,
            _ => return Err(Error::new(Status::InvalidArg, format!("udp: cannot bind an IPv{family} socket to an address of family {}", opts.bind[W_FAMILY]))),
        };
        // SAFETY: sa is a valid sockaddr of `len` bytes.
        if unsafe { libc::bind(fd, (&sa as *const SockAddr).cast(), len) } != 0 {
            return Err(os_error("udp: bind"));
        }
        if let Some(peer) = opts.connect {
            s.connect(peer)?;
        }
        Ok(s)
    }

    /// Connects the socket to `peer` (8 words): entries sent with family 0 go there, and only its
    /// datagrams are received.
    #[napi]
    pub fn connect(&mut self, peer: Vec<i32>) -> Result<()> {
        let fd = self.fd()?;
        check_record("connect", &peer)?;
        let mut sa: SockAddr = unsafe { zeroed() };
        let len = match record_to_sockaddr(&peer, self.family, &mut sa) {
            Some(l) if l > 0 => l,
            _ => return Err(Error::new(Status::InvalidArg, format!("udp: cannot connect an IPv{} socket to an address of family {}", self.family, peer[W_FAMILY]))),
        };
        // SAFETY: sa is a valid sockaddr of `len` bytes.
        if unsafe { libc::connect(fd, (&sa as *const SockAddr).cast(), len) } != 0 {
            return Err(os_error("udp: connect"));
        }
        Ok(())
    }

    /// The descriptor, for `waitFds` (-1 once closed).
    #[napi(getter, js_name = "fd")]
    pub fn fd_number(&self) -> i32 {
        self.fd.raw()
    }

    /// The local address as a record (8 words).
    #[napi]
    pub fn local_address(&self) -> Result<Vec<i32>> {
        let fd = self.fd()?;
        let mut sa: SockAddr = unsafe { zeroed() };
        let mut len = size_of::<SockAddr>() as libc::socklen_t;
        // SAFETY: sa has room for `len` bytes.
        if unsafe { libc::getsockname(fd, (&mut sa as *mut SockAddr).cast(), &mut len) } != 0 {
            return Err(os_error("udp: getsockname"));
        }
        let mut rec = vec![0; ADDR_WORDS];
        sockaddr_to_record(&sa, len, &mut rec);
        Ok(rec)
    }

    /// What the kernel supports and what this socket uses.
    #[napi]
    pub fn offloads(&self) -> Result<UdpOffloads> {
        let fd = self.fd()?;
        Ok(UdpOffloads {
            gso_supported: self.gso_supported,
            gso: self.gso,
            gro_supported: self.gro_supported,
            gro: self.gro,
            recv_buffer_size: getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF).unwrap_or(0) as u32,
            send_buffer_size: getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF).unwrap_or(0) as u32,
        })
    }

    /// Turns GSO on send on or off (on only where supported). Returns whether it is on.
    #[napi]
    pub fn set_gso(&mut self, on: bool) -> Result<bool> {
        self.fd()?;
        self.gso = on && self.gso_supported;
        Ok(self.gso)
    }

    /// Turns UDP_GRO on or off (on only where supported). Returns whether it is on.
    #[napi]
    pub fn set_gro(&mut self, on: bool) -> Result<bool> {
        let fd = self.fd()?;
        if self.gro_supported && setsockopt_int(fd, libc::SOL_UDP, UDP_GRO, i32::from(on)) {
            self.gro = on;
        }
        Ok(self.gro)
    }

    /// Registers where received datagrams go: entry i lands at data[offs[i]], its length in
    /// lens[i], its peer in addrs[8i .. 8i+8]. The arrays stay referenced until replaced or closed.
    #[napi]
    pub fn set_rx_buffers(&mut self, data: Uint8Array, offs: Int32Array, lens: Int32Array, addrs: Int32Array) -> Result<()> {
        self.fd()?;
        let a = Area::new("udp", data, offs, lens, addrs)?;
        self.ensure_scratch(a.entries);
        self.rx = Some(a);
        Ok(())
    }

    /// Registers where datagrams to send are read from (same layout as `set_rx_buffers`).
    #[napi]
    pub fn set_tx_buffers(&mut self, data: Uint8Array, offs: Int32Array, lens: Int32Array, addrs: Int32Array) -> Result<()> {
        self.fd()?;
        let a = Area::new("udp", data, offs, lens, addrs)?;
        self.ensure_scratch(a.entries);
        self.tx = Some(a);
        Ok(())
    }

    /// Receives up to `count` entries into rx entries `start..`, each into `cap` bytes at its
    /// offset, with one recvmmsg. Returns how many entries were filled (0 when nothing was
    /// waiting). Per entry: lens[i] is the length (-1: a datagram larger than `cap`, lost and
    /// counted), addrs[8i..] the peer and, with GRO, the segment size in word 7.
    #[napi]
    pub fn recv(&mut self, start: u32, count: u32, cap: u32) -> Result<i32> {
        let fd = self.fd()?;
        let (start, count, cap) = (start as usize, count as usize, cap as usize);
        let Some(rx) = self.rx.as_mut() else {
            return Err(Error::new(Status::InvalidArg, "udp: recv before set_rx_buffers".to_string()));
        };
        rx.check_range(start, count)?;
        if count == 0 {
            return Ok(0);
        }
        // SAFETY: the kernel writes into this memory during recvmmsg; no Rust reference to it
        // is alive then.
        let data = unsafe { rx.data.as_mut() }.as_mut_ptr();
        let cmsg_bytes = if self.gro { RX_CMSG_BYTES } else { 0 };
        for k in 0..count {
            let off = rx.rx_offset(start + k, cap)?;
            // SAFETY: the range was checked just above.
            self.scratch.set_rx(k, unsafe { data.add(off) }, cap, cmsg_bytes);
        }
        // SAFETY: `count` messages are set up above and point at live memory.
        let n = match unsafe { self.scratch.recvmmsg(fd, count) } {
            Ok(n) => n,
            Err(libc::EAGAIN) => {
                self.stats.rx_empty_calls += 1.0;
                return Ok(0);
            }
            Err(e) if is_misuse(e) => {
                return Err(Error::new(Status::GenericFailure, format!("udp: recvmmsg: {}", std::io::Error::from_raw_os_error(e))));
            }
            Err(e) => {
                // A pending socket error (ICMP port unreachable on a connected socket...):
                // reading it clears it; count it, nothing was received.
                self.stats.rx_errors += 1.0;
                self.stats.last_errno = f64::from(e);
                return Ok(0);
            }
        };
        self.stats.rx_calls += 1.0;
        let rx = self.rx.as_mut().expect("rx area");
        // SAFETY: lens and addrs are the caller's arrays, not aliased by anything while this
        // synchronous call runs (no JavaScript runs meanwhile).
        let lens = unsafe { rx.lens.as_mut() };
        let addrs = unsafe { rx.addrs.as_mut() };
        for k in 0..n {
            let e = start + k;
            let m = &self.scratch.msgs[k];
            let rec = &mut addrs[e * ADDR_WORDS..e * ADDR_WORDS + ADDR_WORDS];
            sockaddr_to_record(&self.scratch.names[k], m.msg_hdr.msg_namelen, rec);
            let mut segment = 0usize;
            if self.gro && m.msg_hdr.msg_controllen > 0 {
                // SAFETY: the kernel wrote msg_controllen bytes of cmsgs into our buffer.
                unsafe {
                    let mut c = libc::CMSG_FIRSTHDR(&m.msg_hdr);
                    while !c.is_null() {
                        if (*c).cmsg_level == libc::SOL_UDP && (*c).cmsg_type == UDP_GRO {
                            segment = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>()).max(0) as usize;
                        }
                        c = libc::CMSG_NXTHDR(&m.msg_hdr, c);
                    }
                }
            }
            let mut len = m.msg_len as usize;
            if m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                if segment > 0 && len >= segment {
                    // Keep the whole segments that fit; the rest of the run is lost.
                    let whole = len / segment * segment;
                    self.stats.rx_truncated += 1.0;
                    len = whole;
                } else {
                    self.stats.rx_truncated += 1.0;
                    lens[e] = -1;
                    rec[W_SEGMENT] = 0;
                    continue;
                }
            }
            if segment >= len {
                segment = 0;
            }
            lens[e] = len as i32;
            rec[W_SEGMENT] = segment as i32;
            self.stats.rx_messages += 1.0;
            self.stats.rx_datagrams += segments_in(len, segment) as f64;
            self.stats.rx_bytes += len as f64;
        }
        Ok(n as i32)
    }

    /// Sends tx entries `start .. start + count` (each lens[i] bytes at data[offs[i]] to the peer
    /// in addrs[8i..], family 0 for the connected peer), with GSO runs where possible, in as few
    /// sendmmsg calls as the kernel takes. When the send buffer is full it waits up to
    /// `timeout_ms` (0: not at all) for room. Returns how many entries are done (sent, or dropped
    /// and counted because of an error); the rest (buffer still full) are the caller's to retry.
    #[napi]
    pub fn send(&mut self, start: u32, count: u32, timeout_ms: i32) -> Result<i32> {
        self.fd()?;
        let (start, count) = (start as usize, count as usize);
        let Some(tx) = self.tx.as_ref() else {
            return Err(Error::new(Status::InvalidArg, "udp: send before set_tx_buffers".to_string()));
        };
        tx.check_range(start, count)?;
        if count == 0 {
            return Ok(0);
        }
        let data_len = tx.data.len();
        for e in start..start + count {
            let (off, len) = (tx.offs[e], tx.lens[e]);
            if off < 0 || len < 0 || off as usize + len as usize > data_len {
                return Err(Error::new(Status::InvalidArg, format!("udp: tx entry {e} ({off} + {len} bytes) is outside the {data_len}-byte buffer")));
            }
        }
        let mut plan = std::mem::take(&mut self.plan);
        let limits = GsoLimits { enabled: self.gso, max_segments: GSO_MAX_SEGMENTS, max_bytes: GSO_MAX_BYTES };
        plan_runs(&tx.lens, &tx.addrs, start, count, limits, &mut plan);
        // One message per run; a run whose peer this socket cannot reach is dropped, counted.
        self.runs.clear();
        let mut iov_at = 0;
        for &run in &plan {
            match self.build_tx_message(self.runs.len(), run, iov_at) {
                Some(next) => {
                    iov_at = next;
                    self.runs.push(run);
                }
                None => {
                    self.stats.tx_bad_address += run.count as f64;
                    self.stats.last_errno = f64::from(libc::EAFNOSUPPORT);
                }
            }
        }
        self.plan = plan;
        let done = self.send_runs(timeout_ms);
        let stop = if done < self.runs.len() { self.runs[done].first } else { start + count };
        Ok((stop - start) as i32)
    }

    /// The counters.
    #[napi]
    pub fn stats(&self) -> UdpStats {
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
mod tests {
    use super::*;

    #[test]
    fn the_tx_cmsg_fits_its_slot() {
        assert!(unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as usize <= TX_CMSG_BYTES);
        assert!(unsafe { libc::CMSG_SPACE(size_of::<i32>() as u32) } as usize <= RX_CMSG_BYTES);
    }
}
