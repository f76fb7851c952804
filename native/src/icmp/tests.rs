//! Echo sockets against the kernel. Each test runs on a thread in a network namespace of its own
//! (unshare(CLONE_NEWNET) affects the calling thread only) with `lo` up and, unless the test is
//! about refusal, net.ipv4.ping_group_range opened to every group: the host's sysctl is never
//! touched. Needs root (CAP_SYS_ADMIN for the namespace), as `cargo test` runs here.

use super::*;

const RANGE_ALL: &str = "0 2147483647";

/// Runs `f` on a thread in a fresh network namespace with lo up; `open_range` widens
/// ping_group_range there first.
fn in_private_netns<T: Send>(open_range: bool, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare takes no pointers; it affects this thread only.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare(CLONE_NEWNET): {} (the tests need root)", std::io::Error::last_os_error());
            lo_up();
            if open_range {
                // /proc/sys/net is the namespace of the task that opens it: this thread's.
                std::fs::write("/proc/sys/net/ipv4/ping_group_range", RANGE_ALL).expect("ping_group_range");
            }
            f()
        })
        .join()
        .expect("test thread")
    })
}

/// `ip link set lo up` with SIOCSIFFLAGS on a socket of this thread's namespace.
fn lo_up() {
    // SAFETY: plain socket and ioctl calls on a zeroed ifreq naming "lo".
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        assert!(s >= 0);
        let mut ifr: libc::ifreq = zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            ifr.ifr_name[i] = *b as libc::c_char;
        }
        assert_eq!(libc::ioctl(s, libc::SIOCGIFFLAGS, &mut ifr), 0);
        ifr.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        assert_eq!(libc::ioctl(s, libc::SIOCSIFFLAGS, &mut ifr), 0, "SIOCSIFFLAGS lo: {}", std::io::Error::last_os_error());
        libc::close(s);
    }
}

fn wait_readable(fd: i32, ms: i32) -> bool {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, ms) > 0 }
}

/// An Echo Request: `ty` (8 or 128), identifier 0xbeef (the kernel replaces it), `seq`, `data`.
fn request(ty: u8, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, 0, 0xa5, 0xa5, 0xbe, 0xef];
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    m
}

/// RFC 1071 sum, folded, complemented: 0 over a message with a valid checksum.
fn inet_checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for c in chunks {
        for pair in c.chunks(2) {
            let w = if pair.len() == 2 { u16::from_be_bytes([pair[0], pair[1]]) } else { u16::from(pair[0]) << 8 };
            sum += u32::from(w);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The ICMPv6 checksum check: the pseudo-header of RFC 8200 §8.1 (src, dst, length, next header 58).
fn icmpv6_checksum(src: &[u8; 16], dst: &[u8; 16], msg: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(src);
    pseudo.extend_from_slice(dst);
    pseudo.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    inet_checksum(&[&pseudo, msg])
}

struct Rx {
    data: Vec<u8>,
    offs: Vec<i32>,
    lens: Vec<i32>,
    recs: Vec<i32>,
    scratch: MsgScratch,
}

const SLOT: usize = 256;

impl Rx {
    fn new(n: usize) -> Self {
        Rx { data: vec![0xa5; n * SLOT], offs: (0..n).map(|i| (i * SLOT) as i32).collect(), lens: vec![0; n], recs: vec![0; n * ADDR_WORDS], scratch: MsgScratch::default() }
    }
    /// Receives until `want` replies arrived (or 2 s passed); returns how many.
    fn until(&mut self, fd: i32, want: usize, cap: usize) -> usize {
        let mut got = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while got < want && std::time::Instant::now() < deadline {
            wait_readable(fd, 100);
            let n = self.offs.len() - got;
            // SAFETY: every offs[k] + cap is inside `data` (cap <= SLOT).
            let r = unsafe { recv_batch(fd, self.data.as_mut_ptr(), &self.offs[got..got + n], cap, &mut self.lens[got..], &mut self.recs[got * ADDR_WORDS..], &mut self.scratch) }.expect("recv_batch");
            got += r.entries;
        }
        got
    }
    fn msg(&self, k: usize) -> &[u8] {
        let off = self.offs[k] as usize;
        &self.data[off..off + self.lens[k] as usize]
    }
    fn rec(&self, k: usize) -> &[i32] {
        &self.recs[k * ADDR_WORDS..(k + 1) * ADDR_WORDS]
    }
}

fn close(fd: i32) {
    // SAFETY: closing a descriptor the test opened.
    unsafe { libc::close(fd) };
}

#[test]
fn ipv4_echo_to_127_0_0_1_comes_back_with_the_socket_id_our_seq_and_data_and_a_valid_checksum() {
    in_private_netns(true, || {
        let fd = open_fd(4);
        assert!(fd >= 0, "open: {}", std::io::Error::from_raw_os_error(-fd));
        let id = local_id(fd);
        assert!(id > 0 && id <= 0xffff, "bound at open: identifier {id}");
        let req = request(8, 7, b"pktkit ping");
        assert_eq!(send_to(fd, 4, &req, [0x7f00_0001, 0, 0, 0], 0), req.len() as i32);
        let mut rx = Rx::new(4);
        assert_eq!(rx.until(fd, 1, SLOT), 1);
        let m = rx.msg(0);
        assert_eq!(m.len(), req.len());
        assert_eq!(m[0], 0, "Echo Reply");
        assert_eq!(m[1], 0);
        assert_eq!(u16::from_be_bytes([m[4], m[5]]) as i32, id, "the kernel's identifier, not ours");
        assert_eq!(u16::from_be_bytes([m[6], m[7]]), 7);
        assert_eq!(&m[8..], b"pktkit ping");
        assert_eq!(inet_checksum(&[m]), 0, "the kernel filled the checksum");
        assert_eq!(rx.rec(0)[..7], [4, 0, 0x7f00_0001, 0, 0, 0, 0]);
        assert_eq!(rx.rec(0)[W_TTL], 64, "the reply's TTL (IP_RECVTTL)");
        close(fd);
    });
}

#[test]
fn ipv6_echo_to_loopback_comes_back_with_a_valid_icmpv6_checksum_and_the_hop_limit() {
    in_private_netns(true, || {
        let fd = open_fd(6);
        assert!(fd >= 0, "open: {}", std::io::Error::from_raw_os_error(-fd));
        let id = local_id(fd);
        let req = request(128, 0xfffe, &[1, 2, 3, 4, 5]);
        assert_eq!(send_to(fd, 6, &req, [0, 0, 0, 1], 0), req.len() as i32);
        let mut rx = Rx::new(2);
        assert_eq!(rx.until(fd, 1, SLOT), 1);
        let m = rx.msg(0);
        assert_eq!(m[0], 129, "ICMPv6 Echo Reply");
        assert_eq!(u16::from_be_bytes([m[4], m[5]]) as i32, id);
        assert_eq!(u16::from_be_bytes([m[6], m[7]]), 0xfffe);
        assert_eq!(&m[8..], &[1, 2, 3, 4, 5]);
        let mut one = [0u8; 16];
        one[15] = 1;
        assert_eq!(icmpv6_checksum(&one, &one, m), 0);
        assert_eq!(rx.rec(0)[..6], [6, 0, 0, 0, 0, 1]);
        assert_eq!(rx.rec(0)[W_TTL], 64, "the hop limit (IPV6_RECVHOPLIMIT)");
        close(fd);
    });
}

#[test]
fn a_batch_of_replies_from_two_loopback_addresses_arrives_in_one_call() {
    in_private_netns(true, || {
        let fd = open_fd(4);
        assert!(fd >= 0);
        for seq in 0..6u16 {
            let dst = if seq.is_multiple_of(2) { 0x7f00_0001 } else { 0x7f00_0005 };
            let req = request(8, seq, &[seq as u8; 20]);
            assert_eq!(send_to(fd, 4, &req, [dst, 0, 0, 0], 0), 28);
        }
        // Loopback answers synchronously: all six are queued before the first receive.
        assert!(wait_readable(fd, 1000));
        let mut rx = Rx::new(8);
        // SAFETY: offsets inside `data`.
        let r = unsafe { recv_batch(fd, rx.data.as_mut_ptr(), &rx.offs, SLOT, &mut rx.lens, &mut rx.recs, &mut rx.scratch) }.unwrap();
        assert_eq!(r, RxResult { entries: 6, bytes: 6 * 28, truncated: 0 });
        for k in 0..6 {
            let m = rx.msg(k);
            let seq = u16::from_be_bytes([m[6], m[7]]);
            assert_eq!(&m[8..], &[seq as u8; 20]);
            assert_eq!(rx.rec(k)[W_ADDR], if seq.is_multiple_of(2) { 0x7f00_0001 } else { 0x7f00_0005 });
        }
        // Nothing left: an empty batch, not an error.
        let r = unsafe { recv_batch(fd, rx.data.as_mut_ptr(), &rx.offs, SLOT, &mut rx.lens, &mut rx.recs, &mut rx.scratch) }.unwrap();
        assert_eq!(r.entries, 0);
        close(fd);
    });
}

#[test]
fn a_reply_larger_than_its_entry_is_lost_and_reported_as_length_minus_one() {
    in_private_netns(true, || {
        let fd = open_fd(4);
        let req = request(8, 1, &[9; 100]);
        assert_eq!(send_to(fd, 4, &req, [0x7f00_0001, 0, 0, 0], 0), 108);
        let mut rx = Rx::new(1);
        assert_eq!(rx.until(fd, 1, 64), 1);
        assert_eq!(rx.lens[0], -1);
        close(fd);
    });
}

#[test]
fn only_echo_requests_may_be_sent() {
    in_private_netns(true, || {
        let fd = open_fd(4);
        assert_eq!(send_to(fd, 4, &request(13, 1, b"timestamp?"), [0x7f00_0001, 0, 0, 0], 0), -libc::EINVAL);
        close(fd);
        let fd = open_fd(6);
        assert_eq!(send_to(fd, 6, &request(8, 1, b"v4 type on v6"), [0, 0, 0, 1], 0), -libc::EINVAL);
        close(fd);
    });
}

#[test]
fn outside_ping_group_range_opening_is_eacces_even_for_root() {
    // A new namespace starts at the kernel default "1 0": nobody, root included.
    in_private_netns(false, || {
        let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
        assert_eq!(range.split_whitespace().collect::<Vec<_>>(), ["1", "0"]);
        assert_eq!(open_fd(4), -libc::EACCES);
        assert_eq!(open_fd(6), -libc::EACCES);
    });
    assert_eq!(open_fd(5), -libc::EAFNOSUPPORT);
}
