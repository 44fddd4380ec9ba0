// SPDX-License-Identifier: BSD-2-Clause
//! Values as `sysctl(8)` shows and parses them.

use super::Sysctl;
use crate::addr::KAddr;
use crate::errno::Errno;

/// A value read with [`Kernel::sysctl_get`](crate::Kernel::sysctl_get).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SysctlValue {
    /// A signed integer (`CTLTYPE_INT`, `LONG`, `S8`...`S64`).
    Int(i64),
    /// An unsigned integer (`CTLTYPE_UINT`, `ULONG`, `U8`...`U64`).
    Uint(u64),
    /// A string (`CTLTYPE_STRING`).
    String(String),
    /// Raw bytes (`CTLTYPE_OPAQUE`/`STRUCT`).
    Opaque(Vec<u8>),
    /// A node: its children's names.
    Node(Vec<String>),
}

impl core::fmt::Display for SysctlValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SysctlValue::Int(v) => write!(f, "{v}"),
            SysctlValue::Uint(v) => write!(f, "{v}"),
            SysctlValue::String(s) => f.write_str(s),
            SysctlValue::Opaque(b) => {
                write!(f, "Format:S Length:{} Dump:0x", b.len())?;
                for x in b.iter().take(16) {
                    write!(f, "{x:02x}")?;
                }
                if b.len() > 16 {
                    f.write_str("...")?;
                }
                Ok(())
            }
            SysctlValue::Node(c) => write!(f, "{}", c.join(" ")),
        }
    }
}

/// Reads an OID's value as `sysctl(8)` would show it.
pub(crate) fn decode(o: KAddr, bytes: &[u8]) -> SysctlValue {
    let (t, _) = Sysctl::kind(o);
    let le = |n: usize| -> [u8; 8] {
        let mut b = [0u8; 8];
        for (d, s) in b.iter_mut().zip(bytes.iter().take(n)) {
            *d = *s;
        }
        b
    };
    let signed = |n: usize| -> i64 {
        let v = u64::from_le_bytes(le(n));
        let shift = 64 - 8 * n.min(8) as u32;
        (v << shift).cast_signed() >> shift
    };
    match t {
        sys::CTLTYPE_INT | sys::CTLTYPE_S32 => SysctlValue::Int(signed(4)),
        sys::CTLTYPE_UINT | sys::CTLTYPE_U32 => SysctlValue::Uint(u64::from_le_bytes(le(4))),
        sys::CTLTYPE_LONG | sys::CTLTYPE_S64 => SysctlValue::Int(signed(8)),
        sys::CTLTYPE_ULONG | sys::CTLTYPE_U64 => SysctlValue::Uint(u64::from_le_bytes(le(8))),
        sys::CTLTYPE_U8 => SysctlValue::Uint(u64::from_le_bytes(le(1))),
        sys::CTLTYPE_U16 => SysctlValue::Uint(u64::from_le_bytes(le(2))),
        sys::CTLTYPE_S8 => SysctlValue::Int(signed(1)),
        sys::CTLTYPE_S16 => SysctlValue::Int(signed(2)),
        sys::CTLTYPE_STRING => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            SysctlValue::String(String::from_utf8_lossy(&bytes[..end]).into_owned())
        }
        _ => SysctlValue::Opaque(bytes.to_vec()),
    }
}

/// Encodes a new value given as text for an OID's type (as `sysctl(8)`
/// parses `name=value`).
pub(crate) fn encode(o: KAddr, text: &str) -> Result<Vec<u8>, Errno> {
    let (t, _) = Sysctl::kind(o);
    let int = || -> Result<i128, Errno> {
        let s = text.trim();
        let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
        let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            i128::from_str_radix(h, 16)
        } else {
            s.parse::<i128>()
        }
        .map_err(|_| Errno::EINVAL)?;
        Ok(if neg { -v } else { v })
    };
    let fit = |v: i128, lo: i128, hi: i128, n: usize| -> Result<Vec<u8>, Errno> {
        if v < lo || v > hi {
            return Err(Errno::EINVAL);
        }
        Ok(v.to_le_bytes()[..n].to_vec())
    };
    match t {
        sys::CTLTYPE_INT | sys::CTLTYPE_S32 => fit(int()?, i32::MIN.into(), i32::MAX.into(), 4),
        sys::CTLTYPE_UINT | sys::CTLTYPE_U32 => fit(int()?, 0, u32::MAX.into(), 4),
        sys::CTLTYPE_LONG | sys::CTLTYPE_S64 => fit(int()?, i64::MIN.into(), i64::MAX.into(), 8),
        sys::CTLTYPE_ULONG | sys::CTLTYPE_U64 => fit(int()?, 0, u64::MAX.into(), 8),
        sys::CTLTYPE_U8 => fit(int()?, 0, 255, 1),
        sys::CTLTYPE_U16 => fit(int()?, 0, 65535, 2),
        sys::CTLTYPE_S8 => fit(int()?, -128, 127, 1),
        sys::CTLTYPE_S16 => fit(int()?, -32768, 32767, 2),
        sys::CTLTYPE_STRING => Ok(text.as_bytes().to_vec()),
        _ => Err(Errno::EINVAL),
    }
}
