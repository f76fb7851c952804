//! Test helpers shared by the TUN/TAP I/O tests: a socketpair of datagrams stands in for a
//! TUN descriptor (one read, one frame).

/// A socketpair of datagrams stands in for a TUN descriptor: one read, one frame.
pub fn pair() -> (i32, i32) {
    let mut fds = [0i32; 2];
    // SAFETY: valid out array.
    let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_NONBLOCK, 0, fds.as_mut_ptr()) };
    assert_eq!(r, 0);
    (fds[0], fds[1])
}

pub fn send(fd: i32, b: &[u8]) {
    // SAFETY: valid buffer.
    assert_eq!(unsafe { libc::write(fd, b.as_ptr().cast(), b.len()) }, b.len() as isize);
}

pub fn recv(fd: i32) -> Option<Vec<u8>> {
    let mut b = vec![0u8; 4096];
    // SAFETY: valid buffer.
    let n = unsafe { libc::read(fd, b.as_mut_ptr().cast(), b.len()) };
    if n < 0 {
        return None;
    }
    b.truncate(n as usize);
    Some(b)
}

pub fn close(fds: (i32, i32)) {
    // SAFETY: closing our own descriptors.
    unsafe {
        libc::close(fds.0);
        libc::close(fds.1);
    }
}
