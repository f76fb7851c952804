//! pktkit's native addon (Node-API through napi-rs), Linux only.
//!
//! Everything here works on memory that JavaScript allocated: ring slots and frame pools in
//! SharedArrayBuffers, passed as `Uint8Array` views (on Node 20, Node-API can read and write a
//! SharedArrayBuffer through a typed-array view, but cannot create or take one itself). Calls
//! work in batches, many frames per call, because the per-call cost is what caps Node.
//!
//! Capabilities, one cargo feature and one module each:
//! - `aead`: ChaCha20-Poly1305 and AES-256-GCM sealed and opened in place over many slots;
//! - `tuntap`: TUN and TAP devices, their configuration, batched reads and writes;
//! - `udp`: batched UDP (recvmmsg/sendmmsg);
//! - `xdp`: AF_XDP sockets with their UMEM in a SharedArrayBuffer;
//! - `icmp`: unprivileged ICMP echo sockets (ping sockets), replies received in batches;
//!
//! and, always, `wait`: waiting on descriptors with an eventfd that JavaScript producers kick, and
//! `mem`: bulk copies between typed arrays without a JavaScript allocation.

use napi_derive::napi;

pub mod mem;
pub mod wait;
#[cfg(any(feature = "tuntap", feature = "xdp"))]
// Shared by both features: with one of them built alone, part of it goes unused.
#[cfg_attr(not(all(feature = "tuntap", feature = "xdp")), allow(dead_code))]
mod netlink;
// Entering a network namespace on a thread of its own: tuntap and icmp.
#[cfg(any(feature = "tuntap", feature = "icmp"))]
#[cfg_attr(not(feature = "tuntap"), allow(dead_code))]
mod netns;
// The address record, registered areas and mmsghdr scratch of the datagram sockets: udp and icmp.
#[cfg(any(feature = "udp", feature = "icmp"))]
mod dgram;
#[cfg(feature = "aead")]
pub mod aead;
#[cfg(feature = "icmp")]
pub mod icmp;
#[cfg(feature = "tuntap")]
pub mod tuntap;
#[cfg(feature = "udp")]
pub mod udp;
#[cfg(feature = "xdp")]
pub mod xdp;

/// What this build of the addon contains.
#[napi(object)]
pub struct NativeInfo {
    /// The crate's version.
    pub version: String,
    /// The capabilities compiled in (`aead`, `icmp`, `tuntap`, `udp`, `xdp`).
    pub features: Vec<String>,
}

/// Describes this build of the addon.
#[napi]
pub fn native_info() -> NativeInfo {
    let mut features = Vec::new();
    if cfg!(feature = "aead") {
        features.push("aead".to_string());
    }
    if cfg!(feature = "icmp") {
        features.push("icmp".to_string());
    }
    if cfg!(feature = "tuntap") {
        features.push("tuntap".to_string());
    }
    if cfg!(feature = "udp") {
        features.push("udp".to_string());
    }
    if cfg!(feature = "xdp") {
        features.push("xdp".to_string());
    }
    NativeInfo { version: env!("CARGO_PKG_VERSION").to_string(), features }
}
