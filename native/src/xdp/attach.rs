//! The redirect program, attached once per interface and shared by this process's sockets on
//! that interface's queues (a process-wide registry: worker threads each bind their own queue,
//! and the last socket to close detaches the program).

use std::sync::Mutex;

use napi::bindgen_prelude::*;

use super::{bpf, netlink};
use super::{close_fd, fail, strerror};

/// Slots in a new interface's XSKMAP (queue indices below this can be bound).
const XSKMAP_ENTRIES: u32 = 64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Native,
    Generic,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Native => "native",
            Mode::Generic => "generic",
        }
    }
    pub fn flags(self) -> u32 {
        match self {
            Mode::Native => netlink::XDP_FLAGS_DRV_MODE,
            Mode::Generic => netlink::XDP_FLAGS_SKB_MODE,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum How {
    Link,
    Netlink,
}

impl How {
    pub fn name(self) -> &'static str {
        match self {
            How::Link => "link",
            How::Netlink => "netlink",
        }
    }
}

struct Attachment {
    ifindex: u32,
    map_fd: i32,
    prog_fd: i32,
    /// The BPF link's fd, or -1 when attached through netlink.
    link_fd: i32,
    mode: Mode,
    how: How,
    queues: Vec<u32>,
}

static ATTACHMENTS: Mutex<Vec<Attachment>> = Mutex::new(Vec::new());

fn detach(a: &Attachment) {
    match a.how {
        How::Link => close_fd(a.link_fd),
        How::Netlink => {
            // Only if our program is still the one attached; a vanished interface is fine too.
            let _ = netlink::set_xdp(a.ifindex as i32, -1, a.mode.flags() | netlink::XDP_FLAGS_REPLACE, Some(a.prog_fd));
        }
    }
    close_fd(a.prog_fd);
    close_fd(a.map_fd);
}

/// Attach attempts in order of preference, given what was asked.
pub fn plan_attach(mode: &str, how: &str) -> std::result::Result<Vec<(Mode, How)>, String> {
    let modes: &[Mode] = match mode {
        "auto" => &[Mode::Native, Mode::Generic],
        "native" => &[Mode::Native],
        "generic" => &[Mode::Generic],
        m => return Err(format!("xdp: mode must be 'auto', 'native' or 'generic', got '{m}'")),
    };
    let hows: &[How] = match how {
        "auto" => &[How::Link, How::Netlink],
        "link" => &[How::Link],
        "netlink" => &[How::Netlink],
        h => return Err(format!("xdp: attach must be 'auto', 'link' or 'netlink', got '{h}'")),
    };
    Ok(modes.iter().flat_map(|&m| hows.iter().map(move |&h| (m, h))).collect())
}

/// Loads the program and attaches it to `ifindex`, trying `plan` in order.
fn attach_new(ifindex: u32, plan: &[(Mode, How)], ifname: &str) -> Result<Attachment> {
    let map_fd = bpf::create_xskmap(XSKMAP_ENTRIES).map_err(|e| fail(format!("xdp: cannot create the XSKMAP: {} (needs CAP_BPF and CAP_NET_ADMIN)", strerror(e))))?;
    let prog_fd = match bpf::load_xdp_program(&bpf::redirect_program(map_fd)) {
        Ok(fd) => fd,
        Err((e, log)) => {
            close_fd(map_fd);
            return Err(fail(format!("xdp: the kernel refused the redirect program: {}{}", strerror(e), if log.is_empty() { String::new() } else { format!("; verifier: {log}") })));
        }
    };
    let mut tried = Vec::new();
    for &(mode, how) in plan {
        let r = match how {
            How::Link => bpf::link_create_xdp(prog_fd, ifindex, mode.flags()).map_err(|e| (e, None)),
            How::Netlink => netlink::set_xdp(ifindex as i32, prog_fd, mode.flags() | netlink::XDP_FLAGS_UPDATE_IF_NOEXIST, None).map(|()| -1),
        };
        match r {
            Ok(link_fd) => return Ok(Attachment { ifindex, map_fd, prog_fd, link_fd, mode, how, queues: Vec::new() }),
            Err((e, msg)) => {
                tried.push(format!("{} {}: {}{}", how.name(), mode.name(), strerror(e), msg.map(|m| format!(" ({m})")).unwrap_or_default()));
                if e == libc::EBUSY || e == libc::EEXIST || e == libc::EPERM || e == libc::ENODEV {
                    break; // another program is there, or no right to attach, or no interface: no mode will do
                }
            }
        }
    }
    close_fd(prog_fd);
    close_fd(map_fd);
    let busy = tried.iter().any(|t| t.contains("busy") || t.contains("exists"));
    Err(fail(format!(
        "xdp: cannot attach the XDP program to {ifname}: {}{}",
        tried.join("; "),
        if busy { format!(". The interface already has an XDP program (one per interface: `ip link set dev {ifname} xdp off` removes a netlink-attached one)") } else { String::new() }
    )))
}

/// Takes a reference on the interface's program for `queue` (attaching it if needed).
pub fn acquire(ifindex: u32, queue: u32, plan: &[(Mode, How)], ifname: &str) -> Result<(i32, Mode, How)> {
    let mut all = ATTACHMENTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(a) = all.iter_mut().find(|a| a.ifindex == ifindex) {
        if !plan.iter().any(|&(m, h)| m == a.mode && h == a.how) {
            return Err(fail(format!("xdp: {ifname} already carries this process's program in {} mode through a {}, which the options exclude", a.mode.name(), a.how.name())));
        }
        if a.queues.contains(&queue) {
            return Err(fail(format!("xdp: queue {queue} of {ifname} already has an AF_XDP socket in this process")));
        }
        a.queues.push(queue);
        return Ok((a.map_fd, a.mode, a.how));
    }
    let mut a = attach_new(ifindex, plan, ifname)?;
    a.queues.push(queue);
    let r = (a.map_fd, a.mode, a.how);
    all.push(a);
    Ok(r)
}

/// Drops the reference of `queue`; the last one detaches the program.
pub fn release(ifindex: u32, queue: u32) {
    let mut all = ATTACHMENTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = all.iter().position(|a| a.ifindex == ifindex) {
        let a = &mut all[i];
        a.queues.retain(|&q| q != queue);
        let _ = bpf::map_delete(a.map_fd, queue);
        if a.queues.is_empty() {
            let a = all.swap_remove(i);
            detach(&a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_plans_prefer_native_and_links() {
        assert_eq!(
            plan_attach("auto", "auto").unwrap(),
            vec![(Mode::Native, How::Link), (Mode::Native, How::Netlink), (Mode::Generic, How::Link), (Mode::Generic, How::Netlink)]
        );
        assert_eq!(plan_attach("generic", "netlink").unwrap(), vec![(Mode::Generic, How::Netlink)]);
        assert!(plan_attach("hw", "auto").is_err());
        assert!(plan_attach("auto", "tc").is_err());
    }

    #[test]
    fn modes_map_to_their_xdp_flags() {
        assert_eq!(Mode::Native.flags(), 4);
        assert_eq!(Mode::Generic.flags(), 2);
    }
}
