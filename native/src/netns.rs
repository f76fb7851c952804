//! Doing something inside another network namespace without moving the process (shared by
//! tuntap, for devices and netlink sockets there, and icmp, for echo sockets there).
//!
//! setns(2) with CLONE_NEWNET changes the namespace of the calling thread only, so the work runs
//! on a short-lived thread of its own: it enters the namespace, runs the closure and ends. What
//! the closure creates keeps the namespace it was made in: a netlink socket talks to that
//! namespace's interfaces, and a TUN/TAP device made by TUNSETIFF there lives there, while the
//! descriptors work from any thread of the process.

use std::io;

fn open_ns(path: &str) -> io::Result<i32> {
    let c = std::ffi::CString::new(path).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "namespace path contains a NUL byte"))?;
    // SAFETY: a valid NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("open {path}: {e}")));
    }
    Ok(fd)
}

/// Opens a network namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`); the caller closes it.
pub fn open(path: &str) -> io::Result<i32> {
    open_ns(path)
}

/// Runs `f` on a new thread that has joined the network namespace at `path`.
pub fn run_in<T: Send>(path: &str, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    let ns = open_ns(path)?;
    let r = std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: `ns` is an open namespace descriptor; setns affects this thread only.
            if unsafe { libc::setns(ns, libc::CLONE_NEWNET) } != 0 {
                let e = io::Error::last_os_error();
                return Err(io::Error::new(e.kind(), format!("setns {path}: {e}")));
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
    });
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(ns) };
    r
}
