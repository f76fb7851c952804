//! Waiting on kernel descriptors, and waking a waiter from JavaScript.
//!
//! A thread that moves frames between the kernel (a TUN, an AF_XDP socket, a UDP socket) and
//! rings sleeps in `wait_fds` (poll(2) on its descriptors plus an eventfd). Native code cannot
//! wake `Atomics.wait` (V8 emulates futexes), and `Atomics.notify` cannot wake a thread blocked
//! in poll(2): so a JavaScript producer that finds such a thread parked (its doorbell's SLEEPING
//! flag) writes to the thread's eventfd with `eventfd_kick`. `wait_fds_async` does the same wait
//! on a libuv pool thread and resolves a promise, for threads that must not block.

use napi::bindgen_prelude::*;
use napi_derive::napi;

fn last_error(what: &str) -> Error {
    let e = std::io::Error::last_os_error();
    Error::new(Status::GenericFailure, format!("{what}: {e}"))
}

/// Creates a non-blocking, close-on-exec eventfd and returns its descriptor.
#[napi]
pub fn eventfd_create() -> Result<i32> {
    // SAFETY: eventfd takes no pointers.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(last_error("eventfd"));
    }
    Ok(fd)
}

/// Wakes whoever waits on the eventfd `fd` (adds 1 to its counter). Never blocks.
#[napi]
pub fn eventfd_kick(fd: i32) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a valid u64; an error (EAGAIN when the counter is saturated,
    // EBADF after close) leaves nothing to do: the waiter is already due to wake, or gone.
    unsafe {
        libc::write(fd, (&one as *const u64).cast(), 8);
    }
}

/// Resets the eventfd `fd` (reads its counter away). Returns how many kicks it had seen.
#[napi]
pub fn eventfd_drain(fd: i32) -> f64 {
    let mut v: u64 = 0;
    // SAFETY: reads 8 bytes into a valid u64; EAGAIN (nothing pending) leaves v at 0.
    let n = unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) };
    if n == 8 { v as f64 } else { 0.0 }
}

/// Closes a descriptor this addon created. Idempotent for the caller's purposes (errors ignored).
#[napi]
pub fn fd_close(fd: i32) {
    if fd >= 0 {
        // SAFETY: closing an integer descriptor has no memory effects.
        unsafe {
            libc::close(fd);
        }
    }
}

fn poll_fds(fds: &[i32], kick_fd: i32, timeout_ms: i32, ready: &mut [i32]) -> Result<i32> {
    let mut pfds: Vec<libc::pollfd> = fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    if kick_fd >= 0 {
        pfds.push(libc::pollfd { fd: kick_fd, events: libc::POLLIN, revents: 0 });
    }
    // SAFETY: pfds is a valid, correctly sized array of pollfd.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(Error::new(Status::GenericFailure, format!("poll: {e}")));
    }
    for (i, p) in pfds.iter().take(fds.len()).enumerate() {
        if i < ready.len() {
            ready[i] = i32::from(p.revents);
        }
    }
    if kick_fd >= 0 && pfds[fds.len()].revents != 0 {
        eventfd_drain(kick_fd);
    }
    Ok(n)
}

/// Blocks until one of `fds` is readable, `kick_fd` (an eventfd, or -1) is kicked, or
/// `timeout_ms` passes (-1: no timeout). Writes each descriptor's poll revents into `ready`
/// (same order as `fds`) and drains the eventfd. Returns how many descriptors were ready
/// (the eventfd included). For worker threads that do nothing else while they wait.
#[napi]
pub fn wait_fds(fds: Int32Array, kick_fd: i32, timeout_ms: i32, mut ready: Int32Array) -> Result<i32> {
    // SAFETY: `ready` is the caller's array; no JavaScript runs during this synchronous call, so
    // nothing else reads or writes it while we hold the slice.
    let ready = unsafe { ready.as_mut() };
    poll_fds(&fds, kick_fd, timeout_ms, ready)
}

pub struct WaitTask {
    fds: Vec<i32>,
    kick_fd: i32,
    timeout_ms: i32,
}

impl Task for WaitTask {
    type Output = Vec<i32>;
    type JsValue = Vec<i32>;

    fn compute(&mut self) -> Result<Self::Output> {
        let mut ready = vec![0; self.fds.len()];
        poll_fds(&self.fds, self.kick_fd, self.timeout_ms, &mut ready)?;
        Ok(ready)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
}

/// As `wait_fds`, on a libuv pool thread: resolves with the revents of each descriptor. For
/// threads that must keep their event loop running while they wait (the main thread).
#[napi]
pub fn wait_fds_async(fds: Vec<i32>, kick_fd: i32, timeout_ms: i32) -> AsyncTask<WaitTask> {
    AsyncTask::new(WaitTask { fds, kick_fd, timeout_ms })
}
