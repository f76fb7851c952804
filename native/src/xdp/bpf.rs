//! The bpf(2) system call, the few commands AF_XDP needs, and the redirect program written as raw
//! BPF instructions (no clang, no libbpf at run time).
//!
//! The program is the one every AF_XDP user loads (the kernel's Documentation/networking/af_xdp.rst
//! shows it in C): a frame that arrives on queue q goes to the socket in slot q of an XSKMAP, and
//! anything without a socket there goes on to the kernel's stack.
//!
//! ```text
//!   int xdp_sock_prog(struct xdp_md *ctx) {
//!       return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
//!   }
//! ```
//!
//! The low two bits of bpf_redirect_map's flags are the action when the lookup fails (Linux 5.3).
//! Layouts and numbers are from include/uapi/linux/bpf.h.

use std::mem::size_of;

// Commands (enum bpf_cmd).
const BPF_MAP_CREATE: libc::c_int = 0;
const BPF_MAP_UPDATE_ELEM: libc::c_int = 2;
const BPF_MAP_DELETE_ELEM: libc::c_int = 3;
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_LINK_CREATE: libc::c_int = 28;

/// BPF_MAP_TYPE_XSKMAP.
pub const MAP_TYPE_XSKMAP: u32 = 17;
/// BPF_PROG_TYPE_XDP.
pub const PROG_TYPE_XDP: u32 = 6;
/// BPF_XDP (enum bpf_attach_type).
pub const ATTACH_TYPE_XDP: u32 = 37;
/// BPF_FUNC_redirect_map.
pub const FUNC_REDIRECT_MAP: i32 = 51;
/// XDP_PASS (enum xdp_action).
pub const XDP_PASS: i32 = 2;
/// Offset of `rx_queue_index` in struct xdp_md (data, data_end, data_meta, ingress_ifindex, ...).
pub const XDP_MD_RX_QUEUE_INDEX: i16 = 16;

// Instruction classes and fields (include/uapi/linux/bpf_common.h, bpf.h).
const BPF_LD: u8 = 0x00;
const BPF_LDX: u8 = 0x01;
const BPF_JMP: u8 = 0x05;
const BPF_ALU64: u8 = 0x07;
const BPF_W: u8 = 0x00;
const BPF_DW: u8 = 0x18;
const BPF_IMM: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
const BPF_MOV: u8 = 0xb0;
const BPF_K: u8 = 0x00;
const BPF_CALL: u8 = 0x80;
const BPF_EXIT: u8 = 0x90;
/// src_reg of a 64-bit immediate load that the kernel replaces with the map whose fd is `imm`.
const BPF_PSEUDO_MAP_FD: u8 = 1;

/// One eBPF instruction (struct bpf_insn): opcode, dst and src registers in one byte (dst in
/// the low nibble on little-endian hosts), a signed 16-bit offset, a signed 32-bit immediate.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn { code, regs: (src << 4) | (dst & 0x0f), off, imm }
    }

    /// The 8 bytes the kernel reads (little-endian host layout).
    #[cfg(test)]
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = self.regs;
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }
}

/// dst = *(u32 *)(src + off)
pub const fn ldx_w(dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
}
/// dst = imm (64-bit register, 32-bit immediate sign-extended)
pub const fn mov64_imm(dst: u8, imm: i32) -> Insn {
    Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
}
/// dst = the map whose descriptor is `fd` (two instructions).
pub const fn ld_map_fd(dst: u8, fd: i32) -> [Insn; 2] {
    [Insn::new(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd), Insn::new(0, 0, 0, 0, 0)]
}
/// r0 = helper(r1..r5)
pub const fn call(helper: i32) -> Insn {
    Insn::new(BPF_JMP | BPF_CALL, 0, 0, 0, helper)
}
/// return r0
pub const fn exit() -> Insn {
    Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
}

/// The redirect program for the XSKMAP `map_fd`.
pub fn redirect_program(map_fd: i32) -> Vec<Insn> {
    let [ld0, ld1] = ld_map_fd(1, map_fd);
    vec![
        ldx_w(2, 1, XDP_MD_RX_QUEUE_INDEX), // r2 = ctx->rx_queue_index (the key)
        ld0,                                // r1 = &xsks_map
        ld1,
        mov64_imm(3, XDP_PASS), // r3 = flags: XDP_PASS when the slot is empty
        call(FUNC_REDIRECT_MAP),
        exit(),
    ]
}

// Attribute layouts (prefixes of union bpf_attr; the kernel zero-fills what we do not pass).

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
}

fn sys_bpf<T>(cmd: libc::c_int, attr: &mut T) -> Result<i32, i32> {
    // SAFETY: attr is a live, initialised repr(C) prefix of union bpf_attr of the given size.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, (attr as *mut T).cast::<libc::c_void>(), size_of::<T>() as libc::c_uint) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
    } else {
        Ok(r as i32)
    }
}

fn name16(s: &str) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (i, c) in s.bytes().take(15).enumerate() {
        b[i] = c;
    }
    b
}

/// Creates an XSKMAP of `entries` slots (key: queue index, value: AF_XDP socket fd). Returns its fd.
pub fn create_xskmap(entries: u32) -> Result<i32, i32> {
    let mut a = MapCreateAttr { map_type: MAP_TYPE_XSKMAP, key_size: 4, value_size: 4, max_entries: entries, map_name: name16("pktkit_xsks"), ..Default::default() };
    sys_bpf(BPF_MAP_CREATE, &mut a)
}

/// Sets slot `key` of `map_fd` to `value` (BPF_ANY).
pub fn map_update(map_fd: i32, key: u32, value: u32) -> Result<(), i32> {
    let mut a = MapElemAttr { map_fd: map_fd as u32, key: (&key as *const u32) as u64, value: (&value as *const u32) as u64, ..Default::default() };
    sys_bpf(BPF_MAP_UPDATE_ELEM, &mut a).map(|_| ())
}

/// Empties slot `key` of `map_fd`.
pub fn map_delete(map_fd: i32, key: u32) -> Result<(), i32> {
    let mut a = MapElemAttr { map_fd: map_fd as u32, key: (&key as *const u32) as u64, ..Default::default() };
    sys_bpf(BPF_MAP_DELETE_ELEM, &mut a).map(|_| ())
}

/// Loads `insns` as an XDP program. On failure returns the errno and the verifier's log.
pub fn load_xdp_program(insns: &[Insn]) -> Result<i32, (i32, String)> {
    let license = b"Dual MIT/GPL\0";
    let load = |log: Option<&mut Vec<u8>>| {
        let mut a = ProgLoadAttr {
            prog_type: PROG_TYPE_XDP,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            prog_name: name16("pktkit_xsk"),
            expected_attach_type: ATTACH_TYPE_XDP,
            ..Default::default()
        };
        if let Some(buf) = log {
            a.log_level = 1;
            a.log_size = buf.len() as u32;
            a.log_buf = buf.as_mut_ptr() as u64;
        }
        sys_bpf(BPF_PROG_LOAD, &mut a)
    };
    match load(None) {
        Ok(fd) => Ok(fd),
        Err(e) => {
            // Load again with the verifier's log, for the error message.
            let mut buf = vec![0u8; 16 * 1024];
            let _ = load(Some(&mut buf)).map(|fd| unsafe { libc::close(fd) });
            let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
            Err((e, String::from_utf8_lossy(&buf[..end]).trim().to_string()))
        }
    }
}

/// Attaches `prog_fd` to `ifindex` through a BPF link (Linux 5.9); `xdp_flags` picks the mode.
/// Returns the link's fd: closing it detaches the program, and so does the process's exit.
pub fn link_create_xdp(prog_fd: i32, ifindex: u32, xdp_flags: u32) -> Result<i32, i32> {
    let mut a = LinkCreateAttr { prog_fd: prog_fd as u32, target_ifindex: ifindex, attach_type: ATTACH_TYPE_XDP, flags: xdp_flags };
    sys_bpf(BPF_LINK_CREATE, &mut a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_encode_as_the_kernel_reads_them() {
        // From the encoding in the kernel's Documentation/bpf/standardization/instruction-set.rst
        // (opcode, dst | src << 4, off le16, imm le32); the running kernel's verifier accepts the
        // program (test/interop/afxdp.test.ts).
        assert_eq!(ldx_w(2, 1, 16).to_bytes(), [0x61, 0x12, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(ld_map_fd(1, 7)[0].to_bytes(), [0x18, 0x11, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00]);
        assert_eq!(ld_map_fd(1, 7)[1].to_bytes(), [0; 8]);
        assert_eq!(mov64_imm(3, 2).to_bytes(), [0xb7, 0x03, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);
        assert_eq!(call(51).to_bytes(), [0x85, 0x00, 0x00, 0x00, 0x33, 0x00, 0x00, 0x00]);
        assert_eq!(exit().to_bytes(), [0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn negative_offsets_and_immediates_are_little_endian_twos_complement() {
        let i = Insn::new(BPF_LDX | BPF_MEM | BPF_W, 0, 10, -4, -1);
        assert_eq!(i.to_bytes(), [0x61, 0xa0, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn the_redirect_program_patches_the_map_fd_into_its_map_load() {
        let p = redirect_program(42);
        assert_eq!(p.len(), 6, "ldx, ld_imm64 (2 slots), mov, call, exit");
        assert_eq!(p[1].code, 0x18);
        assert_eq!(p[1].regs >> 4, BPF_PSEUDO_MAP_FD);
        assert_eq!(p[1].imm, 42);
        assert_eq!(p[0].off, XDP_MD_RX_QUEUE_INDEX);
        assert_eq!(p[3].imm, XDP_PASS);
        assert_eq!(p[4].imm, FUNC_REDIRECT_MAP);
        assert_eq!(size_of::<Insn>(), 8);
    }

    #[test]
    fn attribute_prefixes_have_the_uapi_offsets() {
        // offsetof(union bpf_attr, ...) from include/uapi/linux/bpf.h (checked with gcc on this machine).
        assert_eq!(std::mem::offset_of!(MapCreateAttr, map_name), 28);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(std::mem::offset_of!(MapElemAttr, value), 16);
        assert_eq!(std::mem::offset_of!(MapElemAttr, flags), 24);
        assert_eq!(std::mem::offset_of!(LinkCreateAttr, flags), 12);
    }

    #[test]
    fn names_are_cut_to_15_bytes_and_nul_terminated() {
        let n = name16("a_very_long_name_indeed");
        assert_eq!(&n[..15], b"a_very_long_nam");
        assert_eq!(n[15], 0);
    }
}
