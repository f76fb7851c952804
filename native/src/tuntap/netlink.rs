//! A small rtnetlink client (RFC 3549; linux/netlink.h, linux/rtnetlink.h, linux/if_link.h,
//! linux/if_addr.h): just the requests pktkit makes on the interfaces it owns: link state, MTU,
//! MAC and namespace (RTM_NEWLINK on an existing index, as `ip link set` does), addresses
//! (RTM_NEWADDR / RTM_DELADDR) and routes (RTM_NEWROUTE / RTM_DELROUTE), and one query
//! (RTM_GETLINK by name). Written on `libc` alone rather than a netlink crate: these five
//! messages are about 200 lines, and the crates that cover them (neli, rtnetlink,
//! netlink-packet-route) bring an async runtime or a large generated type tree for nothing more.
//!
//! Message building and reply parsing are plain functions over byte vectors, unit-tested below;
//! `Socket` does the I/O. Every request asks for an acknowledgement (NLM_F_ACK) and waits for
//! it, so errors come back as errnos, with the kernel's extended-ack text when it gives one.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::netlink::{
    ack_error, align4, ne_u16, ne_u32, open_route_socket, walk_attrs, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
pub use crate::netlink::{RTM_GETLINK, RTM_NEWLINK};

// linux/rtnetlink.h
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_DELROUTE: u16 = 25;
const RT_TABLE_MAIN: u8 = 254;
/// `proto boot`, what `ip route add` writes by default.
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RTN_UNICAST: u8 = 1;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;

// linux/if_link.h
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_TXQLEN: u16 = 13;
const IFLA_NET_NS_PID: u16 = 19;
const IFLA_NET_NS_FD: u16 = 28;
/// linux/if.h: the administrative state.
pub const IFF_UP: u32 = 0x1;

// linux/if_addr.h
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// No duplicate address detection: the IPv6 address is usable at once (never `tentative`).
const IFA_F_NODAD: u8 = 0x02;

const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;

/// A request under construction: the header, a fixed family struct, then attributes.
pub struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    pub fn new(ty: u16, flags: u16, seq: u32) -> Msg {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set by finish()
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel
        Msg { buf }
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    /// One attribute: `struct rtattr { u16 len; u16 type; }`, the payload, padding to 4 bytes.
    pub fn attr(&mut self, ty: u16, payload: &[u8]) -> &mut Self {
        let len = (4 + payload.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.bytes(payload)
    }

    pub fn attr_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    pub fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// `struct ifinfomsg`: family, pad, type, index, flags, change.
fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = libc::AF_UNSPEC as u8;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// Where `ip link set … netns` sends a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Netns {
    /// A descriptor of a namespace (`/run/netns/NAME`, `/proc/PID/ns/net`).
    Fd(i32),
    /// The namespace of a process.
    Pid(u32),
}

/// What `link_set_msg` changes; `None` leaves a property as it is.
#[derive(Default, Debug)]
pub struct LinkChange {
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
    pub txqueuelen: Option<u32>,
    pub netns: Option<Netns>,
}

/// RTM_NEWLINK on an existing interface (no NLM_F_CREATE): `ip link set dev … up mtu … netns …`.
pub fn link_set_msg(seq: u32, index: i32, c: &LinkChange) -> Vec<u8> {
    let (flags, change) = match c.up {
        Some(true) => (IFF_UP, IFF_UP),
        Some(false) => (0, IFF_UP),
        None => (0, 0),
    };
    let mut m = Msg::new(RTM_NEWLINK, 0, seq);
    m.bytes(&ifinfomsg(index, flags, change));
    if let Some(mtu) = c.mtu {
        m.attr_u32(IFLA_MTU, mtu);
    }
    if let Some(mac) = c.mac {
        m.attr(IFLA_ADDRESS, &mac);
    }
    if let Some(q) = c.txqueuelen {
        m.attr_u32(IFLA_TXQLEN, q);
    }
    match c.netns {
        Some(Netns::Fd(fd)) => {
            m.attr_u32(IFLA_NET_NS_FD, fd as u32);
        }
        Some(Netns::Pid(pid)) => {
            m.attr_u32(IFLA_NET_NS_PID, pid);
        }
        None => {}
    }
    m.finish()
}

/// RTM_GETLINK for one interface by name.
pub fn link_get_msg(seq: u32, name: &str) -> Vec<u8> {
    let mut m = Msg::new(RTM_GETLINK, 0, seq);
    m.bytes(&ifinfomsg(0, 0, 0));
    let mut z = name.as_bytes().to_vec();
    z.push(0);
    m.attr(IFLA_IFNAME, &z);
    m.finish()
}

fn family_of(addr: &[u8]) -> Result<(u8, u8), String> {
    match addr.len() {
        4 => Ok((AF_INET, 32)),
        16 => Ok((AF_INET6, 128)),
        n => Err(format!("expected a 4- or 16-byte address, got {n} bytes")),
    }
}

/// RTM_NEWADDR (`add`: create, failing if it exists) or RTM_DELADDR. Both IFA_LOCAL and
/// IFA_ADDRESS carry the address, as `ip addr add` sends them (on a point-to-point link such as
/// a TUN, IFA_ADDRESS alone would name the peer, and the Go original sent IFA_LOCAL alone).
/// `nodad` only matters for IPv6.
pub fn addr_msg(seq: u32, add: bool, index: i32, addr: &[u8], prefix_len: u8, nodad: bool) -> Result<Vec<u8>, String> {
    let (family, max) = family_of(addr)?;
    if prefix_len > max {
        return Err(format!("prefix length {prefix_len} is longer than {max}"));
    }
    let (ty, flags) = if add { (RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL) } else { (RTM_DELADDR, 0) };
    let mut m = Msg::new(ty, flags, seq);
    // struct ifaddrmsg: family, prefixlen, flags, scope, index
    let mut ifa = [0u8; 8];
    ifa[0] = family;
    ifa[1] = prefix_len;
    ifa[2] = if nodad && family == AF_INET6 { IFA_F_NODAD } else { 0 };
    ifa[3] = RT_SCOPE_UNIVERSE;
    ifa[4..8].copy_from_slice(&(index as u32).to_ne_bytes());
    m.bytes(&ifa);
    m.attr(IFA_LOCAL, addr);
    m.attr(IFA_ADDRESS, addr);
    Ok(m.finish())
}

/// What `route_msg` installs: `dst/prefix_len` out of interface `index`, through `gateway` if
/// given (else on-link), with `metric` if given.
pub struct Route<'a> {
    pub index: i32,
    pub dst: &'a [u8],
    pub prefix_len: u8,
    pub gateway: Option<&'a [u8]>,
    pub metric: Option<u32>,
}

/// RTM_NEWROUTE (`add`: create, failing if it exists) or RTM_DELROUTE in the main table.
pub fn route_msg(seq: u32, add: bool, r: &Route) -> Result<Vec<u8>, String> {
    let (family, max) = family_of(r.dst)?;
    if r.prefix_len > max {
        return Err(format!("prefix length {} is longer than {max}", r.prefix_len));
    }
    if let Some(gw) = r.gateway {
        if gw.len() != r.dst.len() {
            return Err("the gateway and the destination are of different address families".to_string());
        }
    }
    let (ty, flags) = if add { (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL) } else { (RTM_DELROUTE, 0) };
    let mut m = Msg::new(ty, flags, seq);
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags (u32)
    let mut rt = [0u8; 12];
    rt[0] = family;
    rt[1] = r.prefix_len;
    rt[4] = RT_TABLE_MAIN;
    rt[5] = RTPROT_BOOT;
    rt[6] = if r.gateway.is_some() { RT_SCOPE_UNIVERSE } else { RT_SCOPE_LINK };
    rt[7] = RTN_UNICAST;
    m.bytes(&rt);
    if r.prefix_len > 0 {
        m.attr(RTA_DST, r.dst);
    }
    if let Some(gw) = r.gateway {
        m.attr(RTA_GATEWAY, gw);
    }
    m.attr_u32(RTA_OIF, r.index as u32);
    if let Some(metric) = r.metric {
        m.attr_u32(RTA_PRIORITY, metric);
    }
    Ok(m.finish())
}

/// What RTM_GETLINK says of an interface.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: i32,
    pub flags: u32,
    pub name: String,
    pub mtu: u32,
    pub mac: Vec<u8>,
}

/// What one received datagram said about request `seq`.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// Nothing about `seq` yet: read on.
    Pending,
    /// The acknowledgement: 0, or a negative errno with the kernel's message if any.
    Ack(i32, Option<String>),
    /// An RTM_NEWLINK answering an RTM_GETLINK (the ack follows).
    Link(LinkInfo),
}

/// Parses the messages of one datagram, returning what they say about `seq`: a link (an
/// RTM_GETLINK answer), else the ack, else Pending.
pub fn parse_replies(b: &[u8], seq: u32) -> Vec<Reply> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + NLMSG_HDRLEN <= b.len() {
        let len = ne_u32(b, off) as usize;
        if len < NLMSG_HDRLEN || off + len > b.len() {
            break;
        }
        let ty = ne_u16(b, off + 4);
        let flags = ne_u16(b, off + 6);
        let mseq = ne_u32(b, off + 8);
        let body = &b[off + NLMSG_HDRLEN..off + len];
        if mseq == seq {
            match ty {
                NLMSG_ERROR => {
                    if let Some((err, text)) = ack_error(body, flags) {
                        out.push(Reply::Ack(err, text));
                    }
                }
                NLMSG_DONE => out.push(Reply::Ack(0, None)),
                RTM_NEWLINK if body.len() >= 16 => {
                    let mut info = LinkInfo {
                        index: i32::from_ne_bytes([body[4], body[5], body[6], body[7]]),
                        flags: ne_u32(body, 8),
                        ..LinkInfo::default()
                    };
                    walk_attrs(&body[16..], |t, p| match t {
                        IFLA_IFNAME => {
                            let end = p.iter().position(|&c| c == 0).unwrap_or(p.len());
                            info.name = String::from_utf8_lossy(&p[..end]).into_owned();
                        }
                        IFLA_MTU if p.len() >= 4 => info.mtu = ne_u32(p, 0),
                        IFLA_ADDRESS => info.mac = p.to_vec(),
                        _ => {}
                    });
                    out.push(Reply::Link(info));
                }
                _ => {}
            }
        }
        off += align4(len);
    }
    if out.is_empty() {
        out.push(Reply::Pending);
    }
    out
}

/// A NETLINK_ROUTE socket, bound to the namespace of the thread that opened it.
pub struct Socket {
    fd: i32,
}

fn os_err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

impl Socket {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Socket> {
        let fd = open_route_socket().map_err(|e| io::Error::new(e.kind(), format!("netlink socket: {e}")))?;
        Ok(Socket { fd })
    }

    /// Wraps a descriptor from `open` (kept by JavaScript between calls). Not closed on drop:
    /// use `into_fd` or close it explicitly.
    pub fn from_fd(fd: i32) -> Socket {
        Socket { fd }
    }

    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// A sequence number unique in this process (so that no stale reply can be taken for the
    /// answer to a later request on a reused socket).
    pub fn next_seq(&mut self) -> u32 {
        static SEQ: AtomicU32 = AtomicU32::new(1);
        SEQ.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends `msg` (built with sequence number `seq`) and reads until its ack. Returns the link
    /// info that came before the ack, if any.
    pub fn request(&mut self, msg: &[u8], seq: u32, what: &str) -> io::Result<Option<LinkInfo>> {
        // SAFETY: sockaddr_nl zeroed is the kernel's address; msg is a valid buffer.
        let n = unsafe {
            let mut sa: libc::sockaddr_nl = std::mem::zeroed();
            sa.nl_family = libc::AF_NETLINK as u16;
            libc::sendto(self.fd, msg.as_ptr().cast(), msg.len(), 0, (&sa as *const libc::sockaddr_nl).cast(), std::mem::size_of::<libc::sockaddr_nl>() as u32)
        };
        if n < 0 {
            return Err(os_err(what));
        }
        let mut buf = vec![0u8; 32768];
        let mut link = None;
        loop {
            // SAFETY: reads into a buffer we own of the given length.
            let n = unsafe { libc::recv(self.fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
            }
            for r in parse_replies(&buf[..n as usize], seq) {
                match r {
                    Reply::Pending => {}
                    Reply::Link(l) => link = Some(l),
                    Reply::Ack(0, _) => return Ok(link),
                    Reply::Ack(err, text) => {
                        let e = io::Error::from_raw_os_error(-err);
                        let detail = text.map(|t| format!(" ({t})")).unwrap_or_default();
                        return Err(io::Error::new(e.kind(), format!("{what}: {e}{detail}")));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{NLMSGERR_ATTR_MSG, NLM_F_ACK_TLVS, NLM_F_CAPPED};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    // The expected bytes are little-endian (x86-64, aarch64), as every target pktkit builds for.

    #[test]
    fn link_up_and_mtu() {
        let c = LinkChange { up: Some(true), mtu: Some(1400), ..LinkChange::default() };
        let m = link_set_msg(7, 5, &c);
        assert_eq!(
            hex(&m),
            concat!(
                "28000000", "1000", "0500", "07000000", "00000000", // len 40, RTM_NEWLINK, REQUEST|ACK, seq 7, pid 0
                "00000000", "05000000", "01000000", "01000000", // ifinfomsg: AF_UNSPEC, index 5, flags UP, change UP
                "0800", "0400", "78050000", // IFLA_MTU 1400
            )
        );
    }

    #[test]
    fn link_down_mac_netns_fd() {
        let c = LinkChange { up: Some(false), mac: Some([2, 0, 0, 0, 0, 9]), netns: Some(Netns::Fd(12)), ..LinkChange::default() };
        let m = link_set_msg(1, 3, &c);
        assert_eq!(ne_u32(&m, 0) as usize, m.len());
        assert_eq!(&m[16..32], &ifinfomsg(3, 0, IFF_UP));
        // IFLA_ADDRESS: len 10, padded to 12.
        assert_eq!(hex(&m[32..44]), "0a000100020000000009" .to_string() + "0000");
        // IFLA_NET_NS_FD 12
        assert_eq!(hex(&m[44..52]), "08001c000c000000");
        assert_eq!(m.len(), 52);
    }

    #[test]
    fn link_netns_pid_and_nothing_else() {
        let c = LinkChange { netns: Some(Netns::Pid(4242)), ..LinkChange::default() };
        let m = link_set_msg(1, 3, &c);
        assert_eq!(&m[16..32], &ifinfomsg(3, 0, 0), "no flag changes");
        assert_eq!(hex(&m[32..]), "08001300" .to_string() + &hex(&4242u32.to_ne_bytes()));
    }

    #[test]
    fn link_get_by_name() {
        let m = link_get_msg(9, "tap0");
        assert_eq!(hex(&m[4..8]), "12000500"); // RTM_GETLINK, REQUEST|ACK
        assert_eq!(hex(&m[32..]), "090003007461703000000000"); // IFLA_IFNAME "tap0\0", padded
        assert_eq!(m.len(), 44);
    }

    #[test]
    fn ipv4_address() {
        let m = addr_msg(3, true, 4, &[10, 0, 3, 1], 24, true).unwrap();
        assert_eq!(
            hex(&m),
            concat!(
                "28000000", "1400", "0506", "03000000", "00000000", // len 40, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
                "02", "18", "00", "00", "04000000", // AF_INET /24, no NODAD for IPv4, universe, index 4
                "0800", "0200", "0a000301", // IFA_LOCAL
                "0800", "0100", "0a000301", // IFA_ADDRESS
            )
        );
    }

    #[test]
    fn ipv6_address_nodad_and_delete() {
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[15] = 1;
        let m = addr_msg(3, true, 4, &a, 64, true).unwrap();
        assert_eq!(m[16], AF_INET6);
        assert_eq!(m[17], 64);
        assert_eq!(m[18], IFA_F_NODAD);
        assert_eq!(m.len(), 16 + 8 + 20 + 20);
        let d = addr_msg(3, false, 4, &a, 64, false).unwrap();
        assert_eq!(ne_u16(&d, 4), RTM_DELADDR);
        assert_eq!(ne_u16(&d, 6), NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(d[18], 0);
    }

    #[test]
    fn address_errors() {
        assert!(addr_msg(1, true, 1, &[1, 2, 3], 8, false).is_err());
        assert!(addr_msg(1, true, 1, &[1, 2, 3, 4], 33, false).is_err());
        assert!(addr_msg(1, true, 1, &[0; 16], 129, false).is_err());
    }

    #[test]
    fn route_on_link_and_via_gateway() {
        let r = Route { index: 6, dst: &[10, 0, 4, 0], prefix_len: 24, gateway: None, metric: None };
        let m = route_msg(2, true, &r).unwrap();
        assert_eq!(
            hex(&m),
            concat!(
                "2c000000", "1800", "0506", "02000000", "00000000", // RTM_NEWROUTE
                "02", "18", "00", "00", "fe", "03", "fd", "01", "00000000", // main, boot, scope link, unicast
                "0800", "0100", "0a000400", // RTA_DST
                "0800", "0400", "06000000", // RTA_OIF
            )
        );
        let r = Route { index: 6, dst: &[0, 0, 0, 0], prefix_len: 0, gateway: Some(&[10, 0, 3, 2]), metric: Some(50) };
        let m = route_msg(2, false, &r).unwrap();
        assert_eq!(ne_u16(&m, 4), RTM_DELROUTE);
        assert_eq!(m[22], RT_SCOPE_UNIVERSE);
        // A default route carries no RTA_DST.
        assert_eq!(hex(&m[28..]), concat!("0800", "0500", "0a000302", "0800", "0400", "06000000", "0800", "0600", "32000000"));
    }

    #[test]
    fn route_errors() {
        let r = Route { index: 1, dst: &[0; 16], prefix_len: 0, gateway: Some(&[1, 2, 3, 4]), metric: None };
        assert!(route_msg(1, true, &r).is_err());
        let r = Route { index: 1, dst: &[0; 4], prefix_len: 40, gateway: None, metric: None };
        assert!(route_msg(1, true, &r).is_err());
    }

    fn error_msg(seq: u32, err: i32, flags: u16, tlvs: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        let len = (16 + 4 + 16 + tlvs.len()) as u32;
        b.extend_from_slice(&len.to_ne_bytes());
        b.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&err.to_ne_bytes());
        // The echoed request header (capped).
        b.extend_from_slice(&16u32.to_ne_bytes());
        b.extend_from_slice(&RTM_NEWADDR.to_ne_bytes());
        b.extend_from_slice(&5u16.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(tlvs);
        b
    }

    #[test]
    fn ack_and_error_with_extended_message() {
        assert_eq!(parse_replies(&error_msg(4, 0, NLM_F_CAPPED, &[]), 4), vec![Reply::Ack(0, None)]);
        let mut tlv = Vec::new();
        let text = b"Invalid prefix\0";
        tlv.extend_from_slice(&((4 + text.len()) as u16).to_ne_bytes());
        tlv.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        tlv.extend_from_slice(text);
        tlv.resize(align4(tlv.len()), 0);
        let r = parse_replies(&error_msg(4, -libc::EEXIST, NLM_F_CAPPED | NLM_F_ACK_TLVS, &tlv), 4);
        assert_eq!(r, vec![Reply::Ack(-libc::EEXIST, Some("Invalid prefix".to_string()))]);
    }

    #[test]
    fn other_sequence_numbers_are_ignored() {
        assert_eq!(parse_replies(&error_msg(3, -1, 0, &[]), 4), vec![Reply::Pending]);
        assert_eq!(parse_replies(&[1, 2, 3], 4), vec![Reply::Pending], "a runt datagram");
    }

    #[test]
    fn link_reply() {
        let mut m = Msg::new(RTM_NEWLINK, 0, 8);
        m.bytes(&ifinfomsg(11, IFF_UP | 0x40, 0));
        m.attr(IFLA_IFNAME, b"tun3\0");
        m.attr_u32(IFLA_MTU, 1500);
        m.attr(IFLA_ADDRESS, &[2, 1, 2, 3, 4, 5]);
        let mut b = m.finish();
        b.extend_from_slice(&error_msg(8, 0, 0, &[]));
        let r = parse_replies(&b, 8);
        assert_eq!(
            r,
            vec![
                Reply::Link(LinkInfo { index: 11, flags: IFF_UP | 0x40, name: "tun3".to_string(), mtu: 1500, mac: vec![2, 1, 2, 3, 4, 5] }),
                Reply::Ack(0, None)
            ]
        );
    }

    #[test]
    fn malformed_attributes_stop_the_walk() {
        let mut seen = 0;
        walk_attrs(&[8, 0, 1, 0, 1, 2, 3, 4, 200, 0, 2, 0], |_, _| seen += 1);
        assert_eq!(seen, 1);
        walk_attrs(&[2, 0, 1, 0], |_, _| seen += 1);
        assert_eq!(seen, 1);
    }
}
