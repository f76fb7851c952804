//! TUN and TAP devices (Linux), the `tuntap` feature: creating or attaching a device through
//! `/dev/net/tun` (TUNSETIFF with IFF_NO_PI, optionally IFF_MULTI_QUEUE: one descriptor per
//! queue), configuring it over rtnetlink (link up and down, MTU, MAC, addresses, routes, moving
//! it into another network namespace), and moving frames between its descriptors and slots in
//! JavaScript memory in batches (io.rs).
//!
//! Descriptors are plain integers owned by JavaScript: every one this module returns is
//! non-blocking and close-on-exec, and is closed with `fdClose` (wait.rs). Waiting for one to
//! become readable is wait.rs's job (`waitFds`, `waitFdsAsync`).
//!
//! Optionally a TUN carries the virtio-net header (IFF_VNET_HDR, TUNSETVNETHDRSZ, TUNSETOFFLOAD
//! with checksum and TSO/USO offloads): the kernel then hands over GSO super-packets (up to
//! 64 KiB) with partial checksums and takes them back. vnet.rs parses the header, completes
//! checksums and segments super-packets; vnet_io.rs reads them into slots, raw or segmented.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::netns;

mod ifreq;
mod io;
mod netlink;
mod vnet;
mod vnet_io;
#[cfg(test)]
mod test_fds;

fn io_error(e: std::io::Error) -> Error {
    Error::new(Status::GenericFailure, e.to_string())
}

fn arg_error(msg: String) -> Error {
    Error::new(Status::InvalidArg, msg)
}

fn os_error(what: String) -> std::io::Error {
    let e = std::io::Error::last_os_error();
    std::io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn close_all(fds: &[i32]) {
    for &fd in fds {
        // SAFETY: closing descriptors this module opened.
        unsafe { libc::close(fd) };
    }
}

/// How to open a TUN or TAP device.
#[napi(object)]
pub struct TuntapOpenOptions {
    /// The interface name (at most 15 bytes); empty: the kernel picks `tunN` / `tapN`.
    pub name: String,
    /// A TAP (Ethernet frames) rather than a TUN (IP packets).
    pub tap: bool,
    /// Descriptors to open, one per queue (more than one needs `multiQueue`).
    pub queues: u32,
    /// IFF_MULTI_QUEUE: the kernel spreads flows over the queues.
    pub multi_queue: bool,
    /// true: create the device, failing if it exists; false: attach to an existing device,
    /// failing if there is none; absent: either.
    pub create: Option<bool>,
    /// A network namespace file (`/run/netns/NAME`): the device is made or looked for there.
    pub netns: Option<String>,
    /// IFF_VNET_HDR with a header of this many bytes (10: virtio_net_hdr, 12: _v1); absent or
    /// 0: none.
    pub vnet_hdr_len: Option<u32>,
    /// With the header: the TUN_F_* offloads to ask for (TUNSETOFFLOAD). USO4/USO6 are dropped
    /// from the request if the kernel does not know them; `offloads` in the answer says what
    /// was granted.
    pub offloads: Option<u32>,
}

/// An opened device: its name (the kernel's choice if none was asked for) and its descriptors.
#[napi(object)]
pub struct TuntapOpened {
    pub name: String,
    pub fds: Vec<i32>,
    /// The TUN_F_* offloads the kernel took (0 without a vnet header).
    pub offloads: u32,
}

/// The vnet header's ioctls on one queue: its size, then the offloads (retried without USO on
/// a kernel older than 6.2, which refuses the bits it does not know with EINVAL). Returns the
/// offloads set.
fn set_vnet(fd: i32, hdr_len: i32, offloads: u32) -> std::io::Result<u32> {
    // SAFETY: TUNSETVNETHDRSZ reads an int through the pointer.
    if unsafe { libc::ioctl(fd, vnet::TUNSETVNETHDRSZ, &hdr_len as *const i32) } < 0 {
        return Err(os_error(format!("TUNSETVNETHDRSZ {hdr_len}")));
    }
    let mut want = offloads;
    loop {
        // SAFETY: TUNSETOFFLOAD takes its argument by value.
        if unsafe { libc::ioctl(fd, vnet::TUNSETOFFLOAD, libc::c_ulong::from(want)) } == 0 {
            return Ok(want);
        }
        let uso = vnet::TUN_F_USO4 | vnet::TUN_F_USO6;
        if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) && want & uso != 0 {
            want &= !uso;
            continue;
        }
        return Err(os_error(format!("TUNSETOFFLOAD {want:#x}")));
    }
}

type Opened = (String, Vec<i32>, u32);

fn open_queues(name: &str, tap: bool, queues: u32, multi_queue: bool, create: Option<bool>, vnet: Option<(i32, u32)>) -> std::io::Result<Opened> {
    if create == Some(false) {
        let c = std::ffi::CString::new(name).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: a valid NUL-terminated name.
        if unsafe { libc::if_nametoindex(c.as_ptr()) } == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("attach {name}: no such device")));
        }
    }
    let mut actual = name.to_string();
    let mut fds = Vec::with_capacity(queues as usize);
    let mut granted = 0;
    for q in 0..queues {
        // SAFETY: a valid path; the flags make a non-blocking, close-on-exec descriptor.
        let fd = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if fd < 0 {
            let e = os_error("open /dev/net/tun".to_string());
            close_all(&fds);
            return Err(e);
        }
        let mut req = match ifreq::tunsetiff_req(&actual, tap, multi_queue, create == Some(true) && q == 0, vnet.is_some()) {
            Ok(r) => r,
            Err(msg) => {
                close_all(&fds);
                close_all(&[fd]);
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg));
            }
        };
        // SAFETY: TUNSETIFF reads and writes a struct ifreq, which `req` is.
        if unsafe { libc::ioctl(fd, ifreq::TUNSETIFF, &mut req as *mut ifreq::IfReq) } < 0 {
            let kind = if tap { "TAP" } else { "TUN" };
            let shown = if actual.is_empty() { "(any name)".to_string() } else { actual.clone() };
            let e = os_error(format!("TUNSETIFF {kind} {shown} queue {q}"));
            close_all(&fds);
            close_all(&[fd]);
            return Err(e);
        }
        if q == 0 {
            actual = req.name();
        }
        fds.push(fd);
        if let Some((hdr_len, want)) = vnet {
            match set_vnet(fd, hdr_len, want) {
                Ok(got) => granted = got,
                Err(e) => {
                    close_all(&fds);
                    return Err(e);
                }
            }
        }
    }
    Ok((actual, fds, granted))
}

/// Creates or attaches a TUN or TAP device and returns its descriptors (non-blocking,
/// close-on-exec; close each with `fdClose`; the device goes when the last one closes, unless
/// it is persistent).
#[napi]
pub fn tuntap_open(opts: TuntapOpenOptions) -> Result<TuntapOpened> {
    ifreq::check_ifname(&opts.name).map_err(arg_error)?;
    if opts.queues == 0 || opts.queues > 256 {
        return Err(arg_error(format!("queues must be in [1, 256], got {}", opts.queues)));
    }
    if opts.queues > 1 && !opts.multi_queue {
        return Err(arg_error(format!("{} queues need multiQueue", opts.queues)));
    }
    if opts.create == Some(false) && opts.name.is_empty() {
        return Err(arg_error("attaching needs the name of an existing device".to_string()));
    }
    let vnet = match opts.vnet_hdr_len.unwrap_or(0) {
        0 if opts.offloads.unwrap_or(0) != 0 => return Err(arg_error("offloads need a vnet header".to_string())),
        0 => None,
        l @ (10 | 12) if !opts.tap => Some((l as i32, vnet::check_offloads(opts.offloads.unwrap_or(0)).map_err(arg_error)?)),
        10 | 12 => return Err(arg_error("the vnet header is supported on TUN devices only".to_string())),
        l => return Err(arg_error(format!("vnet header length must be 10 or 12, got {l}"))),
    };
    let run = || open_queues(&opts.name, opts.tap, opts.queues, opts.multi_queue, opts.create, vnet);
    let (name, fds, offloads) = match &opts.netns {
        Some(path) => netns::run_in(path, run),
        None => run(),
    }
    .map_err(io_error)?;
    Ok(TuntapOpened { name, fds, offloads })
}

// Typed arrays come in as napi-rs's `…ArraySlice` views: unlike `Uint8Array` and friends, they
// create no napi reference per call (which costs more than the rest of a small batch).

fn stats_checked<'a>(stats: &'a mut Float64ArraySlice) -> Result<&'a mut [f64]> {
    // SAFETY: the counters array is the calling thread's own (JavaScript does not run during
    // this synchronous call, and no other thread writes it).
    let stats = unsafe { stats.as_mut() };
    if stats.len() < io::stat::NATIVE_LEN {
        return Err(arg_error(format!("stats must hold at least {} counters, got {}", io::stat::NATIVE_LEN, stats.len())));
    }
    Ok(stats)
}

/// Reads up to `count` frames from `fd` into the slots `first, first + 1, …` (modulo the slot
/// count) of a slot array: `data` holds `meta.length / 2` slots of `slotSize` bytes; each frame
/// is written at `headroom` in its slot, and its slot's `meta` pair set to (headroom, length).
/// Returns the slots filled; stops early when `fd` has nothing more. Counts frames, bytes and
/// per-frame errors into `stats` (a Float64Array, indices in src/tuntap/native.ts); an error that
/// ends the device's I/O is recorded there too (FATAL_ERRNO), never thrown.
/// @throws on a slot geometry that does not fit the arrays.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn tuntap_read_slots(fd: i32, mut data: Uint8ArraySlice, mut meta: Int32ArraySlice, slot_size: u32, headroom: u32, first: u32, count: u32, mut stats: Float64ArraySlice) -> Result<u32> {
    let stats = stats_checked(&mut stats)?;
    // SAFETY: only raw pointers are taken from these views (see io.rs on shared memory).
    let (data, meta) = unsafe { (data.as_mut(), meta.as_mut()) };
    if headroom >= slot_size {
        return Err(arg_error(format!("headroom {headroom} leaves no room in a slot of {slot_size} bytes")));
    }
    let s = io::Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), meta.len(), slot_size).map_err(arg_error)?;
    Ok(io::read_slots(fd, &s, headroom, first, count, stats))
}

/// Writes the frames of `count` slots from `first` on (as their `meta` pairs describe) to `fd`,
/// one write(2) each. Returns the slots it is done with (all, unless a fatal error stopped it).
/// Frames the kernel refuses are dropped and counted in `stats`.
/// @throws on a slot geometry that does not fit the arrays.
#[napi]
pub fn tuntap_write_slots(fd: i32, data: Uint8ArraySlice, meta: Int32ArraySlice, slot_size: u32, first: u32, count: u32, mut stats: Float64ArraySlice) -> Result<u32> {
    let stats = stats_checked(&mut stats)?;
    // Slots takes mutable pointers for reads' sake; writes only ever read through them.
    let s = io::Slots::new(data.as_ptr() as *mut u8, data.len(), meta.as_ptr() as *mut i32, meta.len(), slot_size).map_err(arg_error)?;
    Ok(io::write_slots(fd, &s, first, count, 0, stats))
}

/// Writes one frame to `fd`. Returns 0, or the errno of a frame the kernel refused (counted
/// in `stats` like the batched write's).
#[napi]
pub fn tuntap_write(fd: i32, frame: Uint8ArraySlice, mut stats: Float64ArraySlice) -> Result<i32> {
    let stats = stats_checked(&mut stats)?;
    Ok(io::write_one(fd, frame.as_ptr(), frame.len(), 0, stats))
}

/// `tuntapReadSlots` for a TUN opened with a vnet header: `state` (an Int32Array, indices in
/// src/tuntap/native.ts) gives the header's length and the mode: raw (frames are the header and
/// the packet as the kernel wrote them, super-packets included) or segment (plain packets:
/// partial checksums completed, super-packets cut into MSS-sized segments). In segment mode,
/// `scratch` must hold `slotSize - headroom + 65552` bytes, and a super-packet that did not fit
/// the batch waits there (state CARRY_LEN nonzero): call again, even if `fd` is not readable.
/// GSO super-packets read and packets dropped for a bad header are counted in `stats`.
/// @throws on a slot geometry that does not fit the arrays, or a bad state or scratch.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn tuntap_read_slots_vnet(
    fd: i32,
    mut data: Uint8ArraySlice,
    mut meta: Int32ArraySlice,
    slot_size: u32,
    headroom: u32,
    first: u32,
    count: u32,
    mut stats: Float64ArraySlice,
    mut scratch: Uint8ArraySlice,
    mut state: Int32ArraySlice,
) -> Result<u32> {
    let stats = stats_checked(&mut stats)?;
    // SAFETY: only raw pointers are taken from data and meta (see io.rs on shared memory);
    // scratch and state are the calling thread's own, and no JavaScript runs during the call.
    let (data, meta, scratch, state) = unsafe { (data.as_mut(), meta.as_mut(), scratch.as_mut(), state.as_mut()) };
    if headroom >= slot_size {
        return Err(arg_error(format!("headroom {headroom} leaves no room in a slot of {slot_size} bytes")));
    }
    let (_, segment) = vnet_io::check_state(state).map_err(arg_error)?;
    let need = vnet_io::scratch_len((slot_size - headroom) as usize);
    if segment && scratch.len() < need {
        return Err(arg_error(format!("segmenting needs a scratch of at least {need} bytes, got {}", scratch.len())));
    }
    let s = io::Slots::new(data.as_mut_ptr(), data.len(), meta.as_mut_ptr(), meta.len(), slot_size).map_err(arg_error)?;
    Ok(vnet_io::read_slots(fd, &s, headroom, first, count, stats, scratch, state))
}

fn check_prefix(hdr_len: u32) -> Result<usize> {
    match hdr_len {
        0 | 10 | 12 => Ok(hdr_len as usize),
        l => Err(arg_error(format!("vnet header length must be 0, 10 or 12, got {l}"))),
    }
}

/// `tuntapWriteSlots` for a TUN opened with a vnet header, writing plain packets: each goes out
/// after a blank (all-zero) header of `hdrLen` bytes (writev(2), no copy).
/// @throws on a slot geometry that does not fit the arrays, or a bad header length.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn tuntap_write_slots_vnet(fd: i32, data: Uint8ArraySlice, meta: Int32ArraySlice, slot_size: u32, first: u32, count: u32, mut stats: Float64ArraySlice, hdr_len: u32) -> Result<u32> {
    let stats = stats_checked(&mut stats)?;
    let prefix = check_prefix(hdr_len)?;
    let s = io::Slots::new(data.as_ptr() as *mut u8, data.len(), meta.as_ptr() as *mut i32, meta.len(), slot_size).map_err(arg_error)?;
    Ok(io::write_slots(fd, &s, first, count, prefix, stats))
}

/// `tuntapWrite` of a plain packet to a TUN opened with a vnet header (a blank header first).
#[napi]
pub fn tuntap_write_vnet(fd: i32, frame: Uint8ArraySlice, mut stats: Float64ArraySlice, hdr_len: u32) -> Result<i32> {
    let stats = stats_checked(&mut stats)?;
    let prefix = check_prefix(hdr_len)?;
    Ok(io::write_one(fd, frame.as_ptr(), frame.len(), prefix, stats))
}

/// Opens an rtnetlink socket in this process's network namespace, or in the one at `netns` (a
/// namespace file such as `/run/netns/NAME`). Close it with `fdClose`.
#[napi]
pub fn netlink_open(netns: Option<String>) -> Result<i32> {
    let open = || {
        let s = netlink::Socket::open()?;
        Ok(s.fd())
    };
    match netns {
        Some(path) => netns::run_in(&path, open),
        None => open(),
    }
    .map_err(io_error)
}

/// An interface as RTM_GETLINK describes it.
#[napi(object)]
pub struct NetlinkLink {
    pub index: i32,
    pub name: String,
    pub mtu: u32,
    /// The IFF_* flags (IFF_UP = 1, IFF_RUNNING = 0x40, IFF_LOWER_UP = 0x10000).
    pub flags: u32,
    /// The hardware address (6 bytes on a TAP, none on a TUN).
    pub mac: Vec<u8>,
}

/// Looks an interface up by name in the socket's namespace.
#[napi]
pub fn netlink_link_get(nl: i32, name: String) -> Result<NetlinkLink> {
    ifreq::check_ifname(&name).map_err(arg_error)?;
    let mut s = netlink::Socket::from_fd(nl);
    let seq = s.next_seq();
    let msg = netlink::link_get_msg(seq, &name);
    let l = s.request(&msg, seq, &format!("RTM_GETLINK {name}")).map_err(io_error)?;
    let l = l.ok_or_else(|| Error::new(Status::GenericFailure, format!("RTM_GETLINK {name}: no answer")))?;
    Ok(NetlinkLink { index: l.index, name: l.name, mtu: l.mtu, flags: l.flags, mac: l.mac })
}

/// What `netlinkLinkSet` changes (each absent property is left as it is).
#[napi(object)]
pub struct NetlinkLinkSet {
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    /// 6 bytes.
    pub mac: Option<Vec<u8>>,
    pub txqueuelen: Option<u32>,
    /// Moves the interface into the namespace at this path (`/run/netns/NAME`).
    pub netns_path: Option<String>,
    /// Moves it into the namespace of this descriptor.
    pub netns_fd: Option<i32>,
    /// Moves it into the namespace of this process.
    pub netns_pid: Option<u32>,
}

/// `ip link set`: changes interface `index` in the socket's namespace.
#[napi]
pub fn netlink_link_set(nl: i32, index: i32, set: NetlinkLinkSet) -> Result<()> {
    let mac = match set.mac {
        Some(m) => Some(<[u8; 6]>::try_from(m.as_slice()).map_err(|_| arg_error(format!("a MAC address is 6 bytes, got {}", m.len())))?),
        None => None,
    };
    let targets = usize::from(set.netns_path.is_some()) + usize::from(set.netns_fd.is_some()) + usize::from(set.netns_pid.is_some());
    if targets > 1 {
        return Err(arg_error("give one of netnsPath, netnsFd and netnsPid".to_string()));
    }
    let mut ns_fd = -1;
    let netns = if let Some(path) = &set.netns_path {
        ns_fd = netns::open(path).map_err(io_error)?;
        Some(netlink::Netns::Fd(ns_fd))
    } else if let Some(fd) = set.netns_fd {
        Some(netlink::Netns::Fd(fd))
    } else {
        set.netns_pid.map(netlink::Netns::Pid)
    };
    let change = netlink::LinkChange { up: set.up, mtu: set.mtu, mac, txqueuelen: set.txqueuelen, netns };
    let mut s = netlink::Socket::from_fd(nl);
    let seq = s.next_seq();
    let r = s.request(&netlink::link_set_msg(seq, index, &change), seq, &format!("RTM_NEWLINK index {index}"));
    if ns_fd >= 0 {
        // SAFETY: closing the namespace descriptor opened above.
        unsafe { libc::close(ns_fd) };
    }
    r.map(|_| ()).map_err(io_error)
}

/// `ip addr add|del ADDR/PREFIX dev INDEX` (`addr`: 4 or 16 bytes). IPv6 addresses added with
/// `nodad` are usable at once (no duplicate address detection).
#[napi]
pub fn netlink_addr(nl: i32, add: bool, index: i32, addr: Vec<u8>, prefix_len: u32, nodad: bool) -> Result<()> {
    let prefix = u8::try_from(prefix_len).map_err(|_| arg_error(format!("prefix length {prefix_len} out of range")))?;
    let mut s = netlink::Socket::from_fd(nl);
    let seq = s.next_seq();
    let msg = netlink::addr_msg(seq, add, index, &addr, prefix, nodad).map_err(arg_error)?;
    let what = if add { "RTM_NEWADDR" } else { "RTM_DELADDR" };
    s.request(&msg, seq, &format!("{what} index {index}")).map(|_| ()).map_err(io_error)
}

/// A route for `netlinkRoute`.
#[napi(object)]
pub struct NetlinkRoute {
    /// The destination network, 4 or 16 bytes.
    pub dst: Vec<u8>,
    pub prefix_len: u32,
    /// Through this router (same family); absent: on-link.
    pub gateway: Option<Vec<u8>>,
    pub metric: Option<u32>,
}

/// `ip route add|del DST/PREFIX [via GATEWAY] dev INDEX [metric M]` in the main table.
#[napi]
pub fn netlink_route(nl: i32, add: bool, index: i32, route: NetlinkRoute) -> Result<()> {
    let prefix_len = u8::try_from(route.prefix_len).map_err(|_| arg_error(format!("prefix length {} out of range", route.prefix_len)))?;
    let r = netlink::Route { index, dst: &route.dst, prefix_len, gateway: route.gateway.as_deref(), metric: route.metric };
    let mut s = netlink::Socket::from_fd(nl);
    let seq = s.next_seq();
    let msg = netlink::route_msg(seq, add, &r).map_err(arg_error)?;
    let what = if add { "RTM_NEWROUTE" } else { "RTM_DELROUTE" };
    s.request(&msg, seq, &format!("{what} index {index}")).map(|_| ()).map_err(io_error)
}
