//! rtnetlink for XDP: attach and detach a program with RTM_SETLINK / IFLA_XDP, and ask which
//! program an interface has (RTM_GETLINK). Layouts from include/uapi/linux/netlink.h,
//! rtnetlink.h and if_link.h; the kernel's error text (extended ack) is kept for messages.
//!
//! ```text
//!   nlmsghdr (16) | ifinfomsg (16) | nlattr IFLA_XDP|NESTED | nlattr IFLA_XDP_FD (s32)
//!                                                          | nlattr IFLA_XDP_FLAGS (u32)
//!                                                          | nlattr IFLA_XDP_EXPECTED_FD (s32)?
//! ```

use std::mem::size_of;

use crate::netlink::{
    ack_error, align4, ne_u16 as u16_at, ne_u32 as u32_at, open_route_socket, put_attr, walk_attrs as attrs, NLA_F_NESTED, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_HDRLEN, NLM_F_ACK, NLM_F_REQUEST, RTM_GETLINK, RTM_NEWLINK, RTM_SETLINK,
};

const IFINFOMSG_LEN: usize = 16;
const IFLA_XDP: u16 = 43;
const IFLA_XDP_FD: u16 = 1;
const IFLA_XDP_ATTACHED: u16 = 2;
const IFLA_XDP_FLAGS: u16 = 3;
const IFLA_XDP_PROG_ID: u16 = 4;
const IFLA_XDP_EXPECTED_FD: u16 = 8;

/// XDP_FLAGS_* (if_link.h).
pub const XDP_FLAGS_UPDATE_IF_NOEXIST: u32 = 1 << 0;
pub const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
pub const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
pub const XDP_FLAGS_REPLACE: u32 = 1 << 4;

fn header(buf: &mut Vec<u8>, ty: u16, flags: u16, seq: u32, ifindex: i32) {
    buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set at the end
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
    // struct ifinfomsg: family AF_UNSPEC, pad, type, index, flags, change
    buf.extend_from_slice(&[0u8, 0, 0, 0]);
    buf.extend_from_slice(&ifindex.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
}

fn finish(buf: &mut [u8]) {
    let len = buf.len() as u32;
    buf[0..4].copy_from_slice(&len.to_ne_bytes());
}

/// RTM_SETLINK for `ifindex` setting its XDP program to `fd` (-1: none) with `flags`; with
/// `expected_fd` (and XDP_FLAGS_REPLACE in `flags`) only if that program is the one attached.
pub fn build_set_xdp(seq: u32, ifindex: i32, fd: i32, flags: u32, expected_fd: Option<i32>) -> Vec<u8> {
    let mut b = Vec::with_capacity(64);
    header(&mut b, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifindex);
    let mut nested = Vec::with_capacity(24);
    put_attr(&mut nested, IFLA_XDP_FD, &fd.to_ne_bytes());
    put_attr(&mut nested, IFLA_XDP_FLAGS, &flags.to_ne_bytes());
    if let Some(e) = expected_fd {
        put_attr(&mut nested, IFLA_XDP_EXPECTED_FD, &e.to_ne_bytes());
    }
    put_attr(&mut b, IFLA_XDP | NLA_F_NESTED, &nested);
    finish(&mut b);
    b
}

/// RTM_GETLINK for `ifindex`.
pub fn build_get_link(seq: u32, ifindex: i32) -> Vec<u8> {
    let mut b = Vec::with_capacity(32);
    header(&mut b, RTM_GETLINK, NLM_F_REQUEST, seq, ifindex);
    finish(&mut b);
    b
}

/// The result of a request: Ok, or the errno and the kernel's extended-ack text.
pub type NlResult = Result<(), (i32, Option<String>)>;

/// Reads the NLMSG_ERROR acknowledging `seq` in `buf`. None when `buf` holds no such message.
pub fn parse_ack(buf: &[u8], seq: u32) -> Option<NlResult> {
    let mut at = 0;
    while at + NLMSG_HDRLEN <= buf.len() {
        let len = u32_at(buf, at) as usize;
        if len < NLMSG_HDRLEN || at + len > buf.len() {
            return None;
        }
        let ty = u16_at(buf, at + 4);
        let flags = u16_at(buf, at + 6);
        let mseq = u32_at(buf, at + 8);
        if ty == NLMSG_ERROR && mseq == seq {
            if let Some((err, msg)) = ack_error(&buf[at + NLMSG_HDRLEN..at + len], flags) {
                return Some(if err == 0 { Ok(()) } else { Err((-err, msg)) });
            }
        }
        at += align4(len);
    }
    None
}

/// What `parse_link_xdp` found: IFLA_XDP_ATTACHED and IFLA_XDP_PROG_ID.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LinkXdp {
    pub attached: u8,
    pub prog_id: u32,
}

/// Reads the XDP state from an RTM_NEWLINK reply. None when `buf` holds no such message.
pub fn parse_link_xdp(buf: &[u8], seq: u32) -> Option<Result<LinkXdp, i32>> {
    let mut at = 0;
    while at + NLMSG_HDRLEN <= buf.len() {
        let len = u32_at(buf, at) as usize;
        if len < NLMSG_HDRLEN || at + len > buf.len() {
            return None;
        }
        let ty = u16_at(buf, at + 4);
        let mseq = u32_at(buf, at + 8);
        if mseq == seq {
            if ty == NLMSG_ERROR && len >= NLMSG_HDRLEN + 4 {
                let err = u32_at(buf, at + NLMSG_HDRLEN) as i32;
                return Some(if err == 0 { Ok(LinkXdp::default()) } else { Err(-err) });
            }
            if ty == RTM_NEWLINK && len >= NLMSG_HDRLEN + IFINFOMSG_LEN {
                let mut out = LinkXdp::default();
                attrs(&buf[at + NLMSG_HDRLEN + IFINFOMSG_LEN..at + len], |t, p| {
                    if t == IFLA_XDP {
                        attrs(p, |t2, p2| match t2 {
                            IFLA_XDP_ATTACHED if !p2.is_empty() => out.attached = p2[0],
                            IFLA_XDP_PROG_ID if p2.len() >= 4 => out.prog_id = u32_at(p2, 0),
                            _ => {}
                        });
                    }
                });
                return Some(Ok(out));
            }
            if ty == NLMSG_DONE {
                return Some(Ok(LinkXdp::default()));
            }
        }
        at += align4(len);
    }
    None
}

/// A NETLINK_ROUTE socket, closed on drop.
struct Socket(i32);

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: closes our own descriptor once.
        unsafe { libc::close(self.0) };
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

fn open() -> Result<Socket, i32> {
    open_route_socket().map(Socket).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

fn transact<T>(req: &[u8], seq: u32, parse: impl Fn(&[u8], u32) -> Option<T>) -> Result<T, i32> {
    let s = open()?;
    // SAFETY: zeroed sockaddr_nl is valid (pid 0: the kernel).
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: req and sa are live for the call.
    let r = unsafe { libc::sendto(s.0, req.as_ptr().cast(), req.len(), 0, (&sa as *const libc::sockaddr_nl).cast(), size_of::<libc::sockaddr_nl>() as libc::socklen_t) };
    if r < 0 {
        return Err(errno());
    }
    let mut buf = vec![0u8; 32 * 1024];
    for _ in 0..16 {
        // SAFETY: buf is live and writable.
        let n = unsafe { libc::recv(s.0, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        if let Some(v) = parse(&buf[..n as usize], seq) {
            return Ok(v);
        }
    }
    Err(libc::EPROTO)
}

fn next_seq() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(1);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// Sets (or with `fd` = -1, removes) the XDP program of `ifindex`.
pub fn set_xdp(ifindex: i32, fd: i32, flags: u32, expected_fd: Option<i32>) -> NlResult {
    let seq = next_seq();
    match transact(&build_set_xdp(seq, ifindex, fd, flags, expected_fd), seq, parse_ack) {
        Ok(r) => r,
        Err(e) => Err((e, None)),
    }
}

/// Which XDP program `ifindex` has (attached = 0: none).
pub fn query_xdp(ifindex: i32) -> Result<LinkXdp, i32> {
    let seq = next_seq();
    transact(&build_get_link(seq, ifindex), seq, parse_link_xdp)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{NLMSGERR_ATTR_MSG, NLM_F_ACK_TLVS, NLM_F_CAPPED};

    #[test]
    fn set_xdp_message_layout() {
        let m = build_set_xdp(7, 3, 9, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, None);
        assert_eq!(m.len(), 16 + 16 + 4 + 8 + 8);
        assert_eq!(u32_at(&m, 0) as usize, m.len());
        assert_eq!(u16_at(&m, 4), RTM_SETLINK);
        assert_eq!(u16_at(&m, 6), NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(u32_at(&m, 8), 7);
        assert_eq!(u32_at(&m, 16 + 4) as i32, 3, "ifinfomsg.ifi_index");
        // The nested IFLA_XDP attribute and its two members.
        assert_eq!(u16_at(&m, 32), 4 + 8 + 8);
        assert_eq!(u16_at(&m, 34), IFLA_XDP | NLA_F_NESTED);
        assert_eq!((u16_at(&m, 36), u16_at(&m, 38), u32_at(&m, 40)), (8, IFLA_XDP_FD, 9));
        assert_eq!((u16_at(&m, 44), u16_at(&m, 46), u32_at(&m, 48)), (8, IFLA_XDP_FLAGS, 5));
    }

    #[test]
    fn detach_with_expected_fd_adds_the_replace_guard() {
        let m = build_set_xdp(1, 3, -1, XDP_FLAGS_SKB_MODE | XDP_FLAGS_REPLACE, Some(11));
        assert_eq!(m.len(), 16 + 16 + 4 + 8 + 8 + 8);
        assert_eq!(u32_at(&m, 40) as i32, -1);
        assert_eq!(u32_at(&m, 48), XDP_FLAGS_SKB_MODE | XDP_FLAGS_REPLACE);
        assert_eq!((u16_at(&m, 52), u16_at(&m, 54), u32_at(&m, 56)), (8, IFLA_XDP_EXPECTED_FD, 11));
    }

    fn nlmsg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        b.extend_from_slice(&ty.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(payload);
        b.resize(align4(b.len()), 0);
        b
    }

    #[test]
    fn acks_carry_the_errno_and_the_extended_ack_text() {
        assert_eq!(parse_ack(&nlmsg(NLMSG_ERROR, 0, 5, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 5), Some(Ok(())));
        // error -EBUSY, capped original header, then NLMSGERR_ATTR_MSG.
        let mut p = Vec::new();
        p.extend_from_slice(&(-libc::EBUSY).to_ne_bytes());
        p.extend_from_slice(&[0u8; 16]);
        put_attr(&mut p, NLMSGERR_ATTR_MSG, b"XDP program already attached\0");
        let m = nlmsg(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 6, &p);
        assert_eq!(parse_ack(&m, 6), Some(Err((libc::EBUSY, Some("XDP program already attached".to_string())))));
        assert_eq!(parse_ack(&m, 99), None, "another request's answer");
    }

    #[test]
    fn link_replies_give_the_attached_mode_and_program_id() {
        let mut p = vec![0u8; 16]; // ifinfomsg
        put_attr(&mut p, 3, b"xb\0"); // IFLA_IFNAME, skipped
        let mut x = Vec::new();
        put_attr(&mut x, IFLA_XDP_ATTACHED, &[1]);
        put_attr(&mut x, IFLA_XDP_PROG_ID, &77u32.to_ne_bytes());
        put_attr(&mut p, IFLA_XDP | NLA_F_NESTED, &x);
        let m = nlmsg(RTM_NEWLINK, 0, 4, &p);
        assert_eq!(parse_link_xdp(&m, 4), Some(Ok(LinkXdp { attached: 1, prog_id: 77 })));
        let mut none = vec![0u8; 16];
        put_attr(&mut none, IFLA_XDP | NLA_F_NESTED, &{
            let mut y = Vec::new();
            put_attr(&mut y, IFLA_XDP_ATTACHED, &[0]); // XDP_ATTACHED_NONE
            y
        });
        assert_eq!(parse_link_xdp(&nlmsg(RTM_NEWLINK, 0, 2, &none), 2), Some(Ok(LinkXdp { attached: 0, prog_id: 0 })));
    }

    #[test]
    fn truncated_input_is_not_read_past_its_end() {
        let m = build_set_xdp(1, 1, 1, 0, None);
        for cut in 0..m.len() {
            let _ = parse_ack(&m[..cut], 1);
            let _ = parse_link_xdp(&m[..cut], 1);
        }
    }
}
