//! AF_XDP sockets with their UMEM in memory JavaScript allocated (a SharedArrayBuffer), and the
//! XDP program that steers frames to them, loaded by the addon itself.
//!
//! One socket per (interface, queue); one program and one XSKMAP per interface, shared by the
//! sockets of this process on that interface's queues (kept in a process-wide registry, so worker
//! threads each bind their own queue and the program is detached when the last one closes).
//!
//! ```text
//!   UMEM (the SharedArrayBuffer, page-aligned view, frame_size chunks)
//!   | rx frames 0 .. rx_frames-1  (lent to the kernel) | tx frames rx_frames .. (JavaScript's) |
//!
//!   rx:  kernel --rx ring--> rx(): descriptors into rxDesc [off, len]* --> JavaScript handler
//!        the frames of a batch go back to the fill ring at the start of the next rx()
//!   tx:  JavaScript copies a frame into a free tx frame, writes [off, len] into txDesc,
//!        tx(n): tx ring, sendto() when the kernel asks (XDP_USE_NEED_WAKEUP), then completed
//!        frames into done [count, off*] for JavaScript to reuse
//! ```
//!
//! Everything per frame happens in batches inside one call each way, so JavaScript reads two
//! int32s per received frame and writes two per sent frame: no ring arithmetic, no 64-bit values.
//!
//! Attaching (each tried in this order unless one is asked for): a BPF link in native (driver)
//! mode, netlink IFLA_XDP in native mode, then the same two in generic (skb) mode. A BPF link
//! detaches by itself when the process dies; a netlink attachment would stay, so `close` (and the
//! finalizer) detach it, and only if it is still our program (XDP_FLAGS_REPLACE). Zero-copy is
//! tried first where the driver mode allows it and falls back to copy mode.

mod attach;
mod bpf;
mod netlink;
mod ring;
mod socket;

use std::mem::{size_of, zeroed};
use std::ptr::null_mut;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use attach::{acquire, plan_attach, release, How, Mode};
use socket::{Sizes, UmemSpec, Xsk};

/// XDP_STATISTICS (if_xdp.h).
const XDP_STATISTICS: libc::c_int = 7;

fn close_fd(fd: i32) {
    if fd >= 0 {
        // SAFETY: closes a descriptor this module owns, once.
        unsafe { libc::close(fd) };
    }
}

pub(crate) fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

pub(crate) fn strerror(e: i32) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}

pub(crate) fn fail(msg: String) -> Error {
    Error::new(Status::GenericFailure, msg)
}

fn invalid(msg: String) -> Error {
    Error::new(Status::InvalidArg, msg)
}

// ---------------------------------------------------------------------------------------------
// The JavaScript class
// ---------------------------------------------------------------------------------------------

/// Options for `XskSocket.open` (the TypeScript wrapper, src/afxdp, fills in the defaults).
#[napi(object)]
pub struct XskOpenOptions {
    /// The interface name.
    pub ifname: String,
    /// The queue to bind.
    pub queue: u32,
    /// UMEM chunk size: 2048 or 4096.
    pub frame_size: u32,
    /// Bytes the kernel leaves free before each received frame (default 0).
    pub frame_headroom: Option<u32>,
    /// Frames 0..rx_frames are lent to the kernel for receiving; the rest are for sending.
    pub rx_frames: u32,
    /// Ring sizes (powers of two).
    pub fill_size: u32,
    pub comp_size: u32,
    pub rx_size: u32,
    pub tx_size: u32,
    /// 'auto' (native, then generic), 'native' or 'generic'.
    pub mode: Option<String>,
    /// 'auto' (BPF link, then netlink), 'link' or 'netlink'.
    pub attach: Option<String>,
    /// 'auto' (zero-copy where the driver has it, else copy), 'require' or 'off'.
    pub zero_copy: Option<String>,
    /// XDP_USE_NEED_WAKEUP (default true).
    pub need_wakeup: Option<bool>,
}

/// How a socket ended up bound and attached.
#[napi(object)]
pub struct XskInfo {
    pub ifname: String,
    pub ifindex: u32,
    pub queue: u32,
    /// 'native' or 'generic' XDP.
    pub mode: String,
    /// 'link' (BPF link) or 'netlink'.
    pub attach: String,
    pub zero_copy: bool,
    pub need_wakeup: bool,
    /// The id of the XDP program on the interface now (0: none), from rtnetlink.
    pub prog_id: u32,
}

/// Counters: this socket's own and the kernel's (XDP_STATISTICS).
#[napi(object)]
#[derive(Default, Clone, Copy)]
pub struct XskStats {
    pub rx_batches: f64,
    pub rx_frames: f64,
    pub rx_bytes: f64,
    pub tx_frames: f64,
    pub tx_bytes: f64,
    /// Frames the kernel reported sent (completion ring).
    pub tx_completed: f64,
    /// sendto() kicks, and those that failed with something other than EAGAIN.
    pub tx_kicks: f64,
    pub tx_kick_errors: f64,
    /// recvfrom() wakeups of the fill ring (zero-copy drivers ask for them).
    pub fill_wakeups: f64,
    /// Frames waiting for room in the fill ring.
    pub fill_pending: f64,
    /// Kernel: frames dropped for lack of a fill frame or room in the rx ring, and bad descriptors.
    pub rx_dropped: f64,
    pub rx_invalid_descs: f64,
    pub tx_invalid_descs: f64,
    pub rx_ring_full: f64,
    pub rx_fill_ring_empty_descs: f64,
    pub tx_ring_empty_descs: f64,
}

/// An AF_XDP socket on one queue of one interface. Use it on the thread that opened it.
#[napi]
pub struct XskSocket {
    xsk: Option<Xsk>,
    ifname: String,
    ifindex: u32,
    queue: u32,
    mode: Mode,
    how: How,
    need_wakeup: bool,
    /// Holds the SharedArrayBuffer alive for as long as the kernel may write into it.
    umem: Option<Uint8Array>,
    umem_len: u64,
    frame_size: u32,
    rx_desc: Option<Int32Array>,
    tx_desc: Option<Int32Array>,
    done: Option<Int32Array>,
    /// Frames of the last rx batch, back to the fill ring at the next rx().
    held: Vec<u64>,
    /// Frames waiting for room in the fill ring.
    pending_fill: Vec<u64>,
    stats: XskStats,
}

fn check_pow2(name: &str, v: u32, min: u32, max: u32) -> Result<()> {
    if !v.is_power_of_two() || v < min || v > max {
        return Err(invalid(format!("xdp: {name} must be a power of two in [{min}, {max}], got {v}")));
    }
    Ok(())
}

fn page_size() -> usize {
    // SAFETY: sysconf takes no pointers.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as usize } else { 4096 }
}

fn ifindex_of(ifname: &str) -> Result<u32> {
    let c = std::ffi::CString::new(ifname).map_err(|_| invalid(format!("xdp: bad interface name {ifname:?}")))?;
    // SAFETY: c is a valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        return Err(fail(format!("xdp: no interface named {ifname:?} in this network namespace")));
    }
    Ok(i)
}

impl XskSocket {
    fn xsk(&mut self) -> Result<&mut Xsk> {
        self.xsk.as_mut().ok_or_else(|| fail("xdp: the socket is closed".to_string()))
    }

    /// Puts pending frames into the fill ring as room allows.
    fn refill(&mut self) {
        let Some(x) = self.xsk.as_mut() else { return };
        let want = self.pending_fill.len() as u32;
        if want == 0 {
            return;
        }
        let k = x.fill.prod_free(want).min(want);
        for i in 0..k {
            // SAFETY: i < what prod_free returned.
            unsafe { x.fill.put_addr(i, self.pending_fill[i as usize]) };
        }
        if k > 0 {
            x.fill.submit(k);
            self.pending_fill.drain(..k as usize);
        }
    }

    /// Moves completed tx frames into `done` (after what it already holds). Returns how many.
    fn reap_into_done(&mut self) -> u32 {
        let (Some(x), Some(done)) = (self.xsk.as_mut(), self.done.as_mut()) else { return 0 };
        // SAFETY: the caller's array; no JavaScript runs during this call.
        let done = unsafe { done.as_mut() };
        let have = done[0].max(0) as usize;
        let room = (done.len() - 1).saturating_sub(have) as u32;
        let n = x.comp.cons_avail(room);
        for i in 0..n {
            // SAFETY: i < what cons_avail returned.
            done[1 + have + i as usize] = unsafe { x.comp.addr(i) } as i32;
        }
        if n > 0 {
            x.comp.release(n);
            done[0] = (have as u32 + n) as i32;
            self.stats.tx_completed += f64::from(n);
        }
        n
    }

    /// Asks the kernel to send what is in the tx ring (copy mode sends 32 per call).
    fn kick_tx(&mut self) {
        let need_wakeup = self.need_wakeup;
        let limit = match self.xsk.as_mut() {
            Some(x) => x.tx.size() / 32 + 4,
            None => return,
        };
        for _ in 0..limit {
            let x = self.xsk.as_mut().expect("open");
            if x.tx.prod_outstanding() == 0 || (need_wakeup && !x.tx.needs_wakeup()) {
                return;
            }
            self.stats.tx_kicks += 1.0;
            // SAFETY: a zero-length send on our socket, no pointers dereferenced.
            let r = unsafe { libc::sendto(x.fd, std::ptr::null(), 0, libc::MSG_DONTWAIT, std::ptr::null(), 0) };
            if r < 0 {
                match errno() {
                    libc::EINTR => {}
                    libc::EAGAIN => {
                        // More than one batch queued, or the completion ring is full: make room.
                        self.reap_into_done();
                    }
                    _ => {
                        self.stats.tx_kick_errors += 1.0;
                        return;
                    }
                }
            }
        }
    }
}

#[napi]
impl XskSocket {
    /// Opens an AF_XDP socket on `opts.queue` of `opts.ifname`, with `umem` (a page-aligned
    /// view over a SharedArrayBuffer, a multiple of the frame size) as its UMEM, and the arrays
    /// batches go through: `rx_desc` and `tx_desc` ([offset, length] pairs), `done` ([count,
    /// offset...], completed tx frames). Attaches the redirect program if this process has not
    /// on this interface yet.
    #[napi(factory)]
    pub fn open(opts: XskOpenOptions, umem: Uint8Array, rx_desc: Int32Array, tx_desc: Int32Array, done: Int32Array) -> Result<Self> {
        if opts.frame_size != 2048 && opts.frame_size != 4096 {
            return Err(invalid(format!("xdp: frameSize must be 2048 or 4096, got {}", opts.frame_size)));
        }
        check_pow2("fillSize", opts.fill_size, 64, 1 << 16)?;
        check_pow2("compSize", opts.comp_size, 64, 1 << 16)?;
        check_pow2("rxSize", opts.rx_size, 64, 1 << 16)?;
        check_pow2("txSize", opts.tx_size, 64, 1 << 16)?;
        let headroom = opts.frame_headroom.unwrap_or(0);
        if headroom > opts.frame_size / 2 {
            return Err(invalid(format!("xdp: frameHeadroom must be at most {}, got {headroom}", opts.frame_size / 2)));
        }
        let ptr = umem.as_ptr() as *mut u8;
        let len = umem.len();
        if !(ptr as usize).is_multiple_of(page_size()) {
            return Err(invalid(format!("xdp: the UMEM view must start on a page boundary (it is {} bytes past one: see xdpPageOffset)", (ptr as usize) % page_size())));
        }
        if len == 0 || !len.is_multiple_of(opts.frame_size as usize) {
            return Err(invalid(format!("xdp: the UMEM must be a non-zero multiple of the frame size ({}), got {len} bytes", opts.frame_size)));
        }
        let frames = (len / opts.frame_size as usize) as u32;
        if opts.rx_frames == 0 || opts.rx_frames > frames {
            return Err(invalid(format!("xdp: rxFrames must be in [1, {frames}], got {}", opts.rx_frames)));
        }
        if rx_desc.len() < 2 || tx_desc.len() < 2 || done.len() < 2 {
            return Err(invalid("xdp: rxDesc and txDesc need at least one [offset, length] pair and done at least two slots".to_string()));
        }
        let plan = plan_attach(opts.mode.as_deref().unwrap_or("auto"), opts.attach.as_deref().unwrap_or("auto")).map_err(invalid)?;
        let zc_pref = opts.zero_copy.as_deref().unwrap_or("auto").to_string();
        if !matches!(zc_pref.as_str(), "auto" | "require" | "off") {
            return Err(invalid(format!("xdp: zeroCopy must be 'auto', 'require' or 'off', got '{zc_pref}'")));
        }
        let need_wakeup = opts.need_wakeup.unwrap_or(true);
        let ifindex = ifindex_of(&opts.ifname)?;
        let sizes = Sizes { fill: opts.fill_size, comp: opts.comp_size, rx: opts.rx_size, tx: opts.tx_size };
        let spec = UmemSpec { ptr, len: len as u64, frame_size: opts.frame_size, headroom };

        let (map_fd, mode, how) = acquire(ifindex, opts.queue, &plan, &opts.ifname)?;
        // From here on, every failure releases the program reference.
        let bound = (|| -> Result<Xsk> {
            // Zero-copy needs driver mode and a driver that has it; on failure the socket is made
            // again from scratch in copy mode (a failed bind leaves nothing to reuse safely).
            let try_zc = zc_pref != "off" && mode == Mode::Native;
            if zc_pref == "require" && mode != Mode::Native {
                return Err(fail("xdp: zero-copy needs native (driver) mode, and the program is attached in generic mode".to_string()));
            }
            let mut zc_err = None;
            if try_zc {
                match Xsk::create(ifindex, opts.queue, &spec, sizes, true, need_wakeup) {
                    Ok(x) => return Ok(x),
                    Err((step, e)) => {
                        if zc_pref == "require" {
                            return Err(fail(format!("xdp: zero-copy on {} queue {}: {step}: {}", opts.ifname, opts.queue, strerror(e))));
                        }
                        zc_err = Some((step, e));
                    }
                }
            }
            Xsk::create(ifindex, opts.queue, &spec, sizes, false, need_wakeup).map_err(|(step, e)| {
                let hint = match (step, e) {
                    ("bind", libc::EBUSY) => " (another AF_XDP socket is bound to this queue)",
                    ("bind", libc::EINVAL) => " (no such queue on this interface?)",
                    ("XDP_UMEM_REG", libc::ENOMEM) | ("XDP_UMEM_REG", libc::EPERM) => " (the UMEM must be pinned: needs CAP_IPC_LOCK or a larger RLIMIT_MEMLOCK)",
                    _ => "",
                };
                let zc = zc_err.map(|(s, z)| format!(" (zero-copy was tried first: {s}: {})", strerror(z))).unwrap_or_default();
                fail(format!("xdp: AF_XDP socket on {} queue {}: {step}: {}{hint}{zc}", opts.ifname, opts.queue, strerror(e)))
            })
        })();
        let xsk = match bound {
            Ok(x) => x,
            Err(e) => {
                release(ifindex, opts.queue);
                return Err(e);
            }
        };
        let mut s = XskSocket {
            xsk: Some(xsk),
            ifname: opts.ifname.clone(),
            ifindex,
            queue: opts.queue,
            mode,
            how,
            need_wakeup,
            umem: Some(umem),
            umem_len: len as u64,
            frame_size: opts.frame_size,
            rx_desc: Some(rx_desc),
            tx_desc: Some(tx_desc),
            done: Some(done),
            held: Vec::with_capacity(opts.rx_size as usize),
            pending_fill: (0..opts.rx_frames).map(|i| u64::from(i) * u64::from(opts.frame_size)).collect(),
            stats: XskStats::default(),
        };
        s.refill();
        let fd = s.xsk.as_ref().map(|x| x.fd).unwrap_or(-1);
        if let Err(e) = bpf::map_update(map_fd, opts.queue, fd as u32) {
            s.close();
            return Err(fail(format!("xdp: cannot put the socket into the XSKMAP at {}: {}", opts.queue, strerror(e))));
        }
        Ok(s)
    }

    /// The socket's descriptor, for `waitFds` (readable when frames arrived); -1 once closed.
    #[napi(getter)]
    pub fn fd(&self) -> i32 {
        self.xsk.as_ref().map(|x| x.fd).unwrap_or(-1)
    }

    /// Returns the previous batch's frames to the kernel, then takes up to `max` received frames:
    /// rxDesc[2i] is frame i's byte offset in the UMEM view and rxDesc[2i+1] its length, valid
    /// until the next `rx` (or `close`). Returns how many (0: none waiting).
    #[napi]
    pub fn rx(&mut self, max: u32) -> Result<i32> {
        self.xsk()?;
        let held = std::mem::take(&mut self.held);
        self.pending_fill.extend_from_slice(&held);
        self.held = held;
        self.held.clear();
        self.refill();
        let Some(descs) = self.rx_desc.as_mut() else { return Ok(0) };
        // SAFETY: the caller's array; no JavaScript runs during this call.
        let descs = unsafe { descs.as_mut() };
        let x = self.xsk.as_mut().expect("open");
        let n = x.rx.cons_avail(max.min((descs.len() / 2) as u32));
        let mask = !(u64::from(self.frame_size) - 1);
        let mut bytes = 0u64;
        for i in 0..n {
            // SAFETY: i < what cons_avail returned.
            let d = unsafe { x.rx.desc(i) };
            descs[2 * i as usize] = d.addr as i32;
            descs[2 * i as usize + 1] = d.len as i32;
            bytes += u64::from(d.len);
            self.held.push(d.addr & mask);
        }
        if n > 0 {
            x.rx.release(n);
            self.stats.rx_batches += 1.0;
            self.stats.rx_frames += f64::from(n);
            self.stats.rx_bytes += bytes as f64;
        }
        if self.need_wakeup && x.fill.needs_wakeup() {
            // Zero-copy drivers stop reading the fill ring until woken.
            self.stats.fill_wakeups += 1.0;
            // SAFETY: a zero-length receive on our socket, no pointers dereferenced.
            unsafe { libc::recvfrom(x.fd, null_mut(), 0, libc::MSG_DONTWAIT, null_mut(), null_mut()) };
        }
        Ok(n as i32)
    }

    /// Queues the first `n` [offset, length] pairs of txDesc on the tx ring (as many as it has
    /// room for), kicks the kernel when it asks, and appends completed frames to `done`
    /// (done[0] = how many it holds: reset it to 0 once you have taken them). Returns how many
    /// pairs were queued; the rest are yours to retry.
    #[napi]
    pub fn tx(&mut self, n: u32) -> Result<i32> {
        self.xsk()?;
        let frame = u64::from(self.frame_size);
        let umem_len = self.umem_len;
        let Some(descs) = self.tx_desc.as_ref() else { return Ok(0) };
        let n = n.min((descs.len() / 2) as u32);
        for i in 0..n as usize {
            let (off, len) = (descs[2 * i] as i64, descs[2 * i + 1] as i64);
            if off < 0 || len <= 0 || (off as u64 % frame) + len as u64 > frame || off as u64 + len as u64 > umem_len {
                return Err(invalid(format!("xdp: txDesc pair {i} ({off}, {len}) is not inside one UMEM frame")));
            }
        }
        let x = self.xsk.as_mut().expect("open");
        let k = x.tx.prod_free(n).min(n);
        let mut bytes = 0u64;
        for i in 0..k {
            let (off, len) = (descs[2 * i as usize] as u64, descs[2 * i as usize + 1] as u32);
            // SAFETY: i < what prod_free returned.
            unsafe { x.tx.put_desc(i, off, len) };
            bytes += u64::from(len);
        }
        if k > 0 {
            x.tx.submit(k);
            self.stats.tx_frames += f64::from(k);
            self.stats.tx_bytes += bytes as f64;
        }
        self.kick_tx();
        self.reap_into_done();
        Ok(k as i32)
    }

    /// Appends completed tx frames to `done` (see `tx`) and kicks the kernel if frames are still
    /// queued. Returns how many it appended.
    #[napi]
    pub fn reap(&mut self) -> Result<i32> {
        self.xsk()?;
        self.kick_tx();
        Ok(self.reap_into_done() as i32)
    }

    /// Frames queued on the tx ring that the kernel has not taken yet.
    #[napi]
    pub fn tx_outstanding(&mut self) -> Result<u32> {
        Ok(self.xsk()?.tx.prod_outstanding())
    }

    /// How the socket is bound and the program attached.
    #[napi]
    pub fn info(&self) -> XskInfo {
        XskInfo {
            ifname: self.ifname.clone(),
            ifindex: self.ifindex,
            queue: self.queue,
            mode: self.mode.name().to_string(),
            attach: self.how.name().to_string(),
            zero_copy: self.xsk.as_ref().map(|x| x.zero_copy).unwrap_or(false),
            need_wakeup: self.need_wakeup,
            prog_id: netlink::query_xdp(self.ifindex as i32).map(|l| l.prog_id).unwrap_or(0),
        }
    }

    /// The counters, with the kernel's XDP_STATISTICS.
    #[napi]
    pub fn stats(&self) -> XskStats {
        let mut s = self.stats;
        s.fill_pending = self.pending_fill.len() as f64;
        if let Some(x) = self.xsk.as_ref() {
            // SAFETY: zeroed statistics are valid; getsockopt fills them.
            let mut k: libc::xdp_statistics = unsafe { zeroed() };
            let mut len = size_of::<libc::xdp_statistics>() as libc::socklen_t;
            // SAFETY: k has room for len bytes.
            if unsafe { libc::getsockopt(x.fd, libc::SOL_XDP, XDP_STATISTICS, (&mut k as *mut libc::xdp_statistics).cast(), &mut len) } == 0 {
                s.rx_dropped = k.rx_dropped as f64;
                s.rx_invalid_descs = k.rx_invalid_descs as f64;
                s.tx_invalid_descs = k.tx_invalid_descs as f64;
                s.rx_ring_full = k.rx_ring_full as f64;
                s.rx_fill_ring_empty_descs = k.rx_fill_ring_empty_descs as f64;
                s.tx_ring_empty_descs = k.tx_ring_empty_descs as f64;
            }
        }
        s
    }

    /// Closes the socket, detaches the program if no other socket of this process uses it,
    /// and lets go of the UMEM. Idempotent.
    #[napi]
    pub fn close(&mut self) {
        if let Some(x) = self.xsk.take() {
            drop(x); // unmaps the rings and closes the socket (the kernel removes it from the map)
            release(self.ifindex, self.queue);
        }
        self.rx_desc = None;
        self.tx_desc = None;
        self.done = None;
        self.umem = None;
    }
}

impl Drop for XskSocket {
    fn drop(&mut self) {
        if let Some(x) = self.xsk.take() {
            drop(x);
            release(self.ifindex, self.queue);
        }
    }
}

/// Bytes to skip from the start of `buf` to reach a page boundary (the UMEM must start on one).
#[napi]
pub fn xdp_page_offset(buf: Uint8Array) -> u32 {
    let p = page_size();
    let a = buf.as_ptr() as usize;
    ((p - a % p) % p) as u32
}

/// An interface as AF_XDP sees it.
#[napi(object)]
pub struct XdpInterface {
    pub ifindex: u32,
    /// The MAC address, 6 bytes.
    pub mac: Vec<u32>,
    /// Which XDP program it has: attached 0 (none), 1 (native), 2 (generic), 3 (offloaded),
    /// 4 (several), and the program's id.
    pub xdp_attached: u32,
    pub xdp_prog_id: u32,
}

/// Looks up an interface: index, MAC address, and its XDP program.
#[napi]
pub fn xdp_interface(ifname: String) -> Result<XdpInterface> {
    let ifindex = ifindex_of(&ifname)?;
    // SAFETY: zeroed ifreq is valid; the name fits (if_nametoindex accepted it).
    let mut req: libc::ifreq = unsafe { zeroed() };
    for (i, b) in ifname.bytes().take(libc::IFNAMSIZ - 1).enumerate() {
        req.ifr_name[i] = b as libc::c_char;
    }
    // SAFETY: a datagram socket just for the ioctl, closed below.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        return Err(fail(format!("xdp: socket: {}", strerror(errno()))));
    }
    // SAFETY: req is a valid ifreq.
    let r = unsafe { libc::ioctl(s, libc::SIOCGIFHWADDR, &mut req) };
    let e = errno();
    close_fd(s);
    if r != 0 {
        return Err(fail(format!("xdp: SIOCGIFHWADDR on {ifname}: {}", strerror(e))));
    }
    // SAFETY: SIOCGIFHWADDR filled ifru_hwaddr.
    let hw = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mac = hw.sa_data[..6].iter().map(|&b| u32::from(b as u8)).collect();
    let x = netlink::query_xdp(ifindex as i32).map_err(|e| fail(format!("xdp: RTM_GETLINK on {ifname}: {}", strerror(e))))?;
    Ok(XdpInterface { ifindex, mac, xdp_attached: u32::from(x.attached), xdp_prog_id: x.prog_id })
}

