//! What the two rtnetlink users of the addon (tuntap/netlink.rs: links, addresses, routes;
//! xdp/netlink.rs: attaching XDP programs) share: the message framing of linux/netlink.h, the
//! attribute walk, the NLMSG_ERROR acknowledgement with its extended-ack text, and opening a
//! NETLINK_ROUTE socket that asks for that text.

use std::io;
use std::mem::size_of;

pub const NLMSG_HDRLEN: usize = 16;
pub const NLA_HDRLEN: usize = 4;
pub const NLM_F_REQUEST: u16 = 0x01;
pub const NLM_F_ACK: u16 = 0x04;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
/// In an NLMSG_ERROR: extended-ack attributes follow the echoed header.
pub const NLM_F_ACK_TLVS: u16 = 0x200;
/// In an NLMSG_ERROR: the echoed request was cut down to its header.
pub const NLM_F_CAPPED: u16 = 0x100;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLA_F_NESTED: u16 = 0x8000;
pub const NLA_TYPE_MASK: u16 = 0x3fff;
pub const NLMSGERR_ATTR_MSG: u16 = 1;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;

// linux/rtnetlink.h
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_SETLINK: u16 = 19;

pub fn align4(n: usize) -> usize {
    (n + 3) & !3
}

pub fn ne_u16(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

pub fn ne_u32(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Appends one attribute (`struct nlattr { u16 len; u16 type; }`, the payload, padding to 4).
pub fn put_attr(buf: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    let len = NLA_HDRLEN + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(align4(buf.len()), 0);
}

/// Walks the attributes in `b`, calling `f(type, payload)` (type without its flag bits); stops
/// at a malformed one, never reading past `b`.
pub fn walk_attrs(b: &[u8], mut f: impl FnMut(u16, &[u8])) {
    let mut off = 0;
    while off + NLA_HDRLEN <= b.len() {
        let len = ne_u16(b, off) as usize;
        if len < NLA_HDRLEN || off + len > b.len() {
            return;
        }
        f(ne_u16(b, off + 2) & NLA_TYPE_MASK, &b[off + NLA_HDRLEN..off + len]);
        off += align4(len);
    }
}

/// The body of an NLMSG_ERROR (`struct nlmsgerr`: the error, the echoed request's header and,
/// unless capped, its payload; then the extended-ack attributes) with its message's flags: the
/// error as sent (0, or a negative errno) and the kernel's text when it gave one. None when the
/// body is too short to hold the error.
pub fn ack_error(body: &[u8], flags: u16) -> Option<(i32, Option<String>)> {
    if body.len() < 4 + NLMSG_HDRLEN {
        return None;
    }
    let err = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
    let mut text = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        let echoed = if flags & NLM_F_CAPPED != 0 { NLMSG_HDRLEN } else { ne_u32(body, 4) as usize };
        let start = 4 + align4(echoed);
        if start <= body.len() {
            walk_attrs(&body[start..], |t, p| {
                if t == NLMSGERR_ATTR_MSG {
                    let end = p.iter().position(|&c| c == 0).unwrap_or(p.len());
                    text = Some(String::from_utf8_lossy(&p[..end]).into_owned());
                }
            });
        }
    }
    Some((err, text))
}

/// Opens a NETLINK_ROUTE socket in the calling thread's network namespace, asking for extended
/// acks (older kernels lack them: only the error text is lost) and with a receive timeout, so
/// that a kernel that never answers cannot hang the caller.
pub fn open_route_socket() -> io::Result<i32> {
    // SAFETY: socket takes no pointers.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let one: libc::c_int = 1;
    for opt in [NETLINK_EXT_ACK, NETLINK_CAP_ACK] {
        // SAFETY: passes a live c_int of the option's size.
        unsafe { libc::setsockopt(fd, libc::SOL_NETLINK, opt, (&one as *const libc::c_int).cast(), size_of::<libc::c_int>() as libc::socklen_t) };
    }
    let tv = libc::timeval { tv_sec: 5, tv_usec: 0 };
    // SAFETY: passes a live timeval.
    unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, (&tv as *const libc::timeval).cast(), size_of::<libc::timeval>() as libc::socklen_t) };
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_walked_within_bounds() {
        let mut seen = 0;
        walk_attrs(&[8, 0, 1, 0, 1, 2, 3, 4, 200, 0, 2, 0], |_, _| seen += 1);
        assert_eq!(seen, 1, "the second attribute claims 200 bytes: the walk stops");
        let mut b = Vec::new();
        put_attr(&mut b, 3 | NLA_F_NESTED, b"abc");
        assert_eq!(b.len(), 8);
        walk_attrs(&b, |t, p| assert_eq!((t, p), (3, &b"abc"[..])));
    }

    #[test]
    fn error_bodies_give_the_errno_and_the_text() {
        let mut body = Vec::new();
        body.extend_from_slice(&(-libc::EBUSY).to_ne_bytes());
        body.extend_from_slice(&[0u8; NLMSG_HDRLEN]);
        put_attr(&mut body, NLMSGERR_ATTR_MSG, b"busy\0");
        assert_eq!(ack_error(&body, NLM_F_CAPPED | NLM_F_ACK_TLVS), Some((-libc::EBUSY, Some("busy".to_string()))));
        assert_eq!(ack_error(&body, 0), Some((-libc::EBUSY, None)));
        assert_eq!(ack_error(&body[..10], 0), None);
    }
}
