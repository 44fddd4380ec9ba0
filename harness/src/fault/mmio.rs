// SPDX-License-Identifier: BSD-2-Clause
//! Memory-mapped device registers: loads and stores of module code that
//! reach a device model, as on hardware.
//!
//! On amd64, `bus_space_read_4` and `bus_space_write_4`
//! (`sys/x86/include/bus.h`, FreeBSD 15) are inline: a volatile `mov` at
//! handle + offset, compiled into the module. So a BAR the harness hands
//! out is an [`MmioWindow`]: a `PROT_NONE` mapping registered as a
//! [`FaultKind::Mmio`] range. Each access faults; the signal handler
//! calls [`harness_mmio_emulate`], which decodes the faulting instruction
//! with iced-x86, performs the access on the window's [`MmioTarget`], writes
//! a load's value into the destination register, and tells the handler
//! the instruction's length so that execution resumes after it.
//!
//! Only the `mov` forms a compiler emits for volatile loads and stores are
//! emulated (register or immediate source, register destination, 1, 2, 4
//! or 8 bytes); any other instruction touching the window, or an access
//! the target refuses (outside the BAR, a width the device does not
//! decode), is recorded ([`take_refusal`]) and the fault is fatal.
//!
//! The handler runs synchronously on the faulting thread, inside module
//! code that holds no host lock and is not inside libc, so it may lock the
//! registry and the model.

use super::{FaultKind, FaultRange};
use core::cell::RefCell;
use iced_x86::{Code, Decoder, DecoderOptions, Instruction, OpKind, Register};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// A device's register file, as the bus sees it.
pub(crate) trait MmioTarget: Send + Sync {
    /// Reads `width` bytes at `offset`; `Err` says why the device refuses.
    fn read(&self, offset: u64, width: usize) -> Result<u64, String>;
    /// Writes `width` bytes at `offset`.
    fn write(&self, offset: u64, width: usize, value: u64) -> Result<(), String>;
}

/// A registered window.
struct Entry {
    base: usize,
    len: usize,
    target: Arc<dyn MmioTarget>,
}

/// Every window, by tag.
fn windows() -> &'static Mutex<HashMap<u64, Entry>> {
    static W: std::sync::OnceLock<Mutex<HashMap<u64, Entry>>> = std::sync::OnceLock::new();
    W.get_or_init(|| Mutex::new(HashMap::new()))
}

thread_local! {
    /// Why the last emulation on this thread failed.
    static REFUSAL: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Why this thread's last MMIO access was refused, taken.
pub(crate) fn take_refusal() -> Option<String> {
    REFUSAL.with(|r| r.borrow_mut().take())
}

/// A mapped BAR: `len` bytes of address space whose accesses reach
/// `target`. Unmapped and unregistered on drop.
pub(crate) struct MmioWindow {
    base: usize,
    len: usize,
    tag: u64,
    _range: FaultRange,
}

impl std::fmt::Debug for MmioWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MmioWindow({:#x}+{:#x})", self.base, self.len)
    }
}

impl MmioWindow {
    /// Maps `len` bytes (`PROT_NONE`) for `target`; `None` if the address
    /// space or the fault range table is exhausted.
    pub(crate) fn new(len: usize, target: Arc<dyn MmioTarget>) -> Option<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // SAFETY: a fresh anonymous mapping; nothing else is affected.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        let base = p.expose_provenance();
        let tag = NEXT.fetch_add(1, Ordering::Relaxed);
        windows()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tag, Entry { base, len, target });
        let Some(range) = FaultRange::new(base, len, FaultKind::Mmio, tag) else {
            windows()
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&tag);
            // SAFETY: the mapping made above, not yet given to anyone.
            unsafe { libc::munmap(p, len) };
            return None;
        };
        Some(MmioWindow {
            base,
            len,
            tag,
            _range: range,
        })
    }

    /// The window's address (the bus-space handle).
    pub(crate) fn base(&self) -> usize {
        self.base
    }
}

impl Drop for MmioWindow {
    fn drop(&mut self) {
        windows()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.tag);
        // SAFETY: the window's own mapping; a module access after this
        // faults outside every range and is fatal, as on hardware after
        // the BAR is unmapped.
        unsafe { libc::munmap(core::ptr::with_exposed_provenance_mut(self.base), self.len) };
    }
}

/// What a decoded instruction does to the window.
enum Access {
    /// A load of `width` bytes into `reg`.
    Load { reg: Register, width: usize },
    /// A store of `width` bytes of `value`.
    Store { value: u64, width: usize },
}

/// The `gregs` index of a 64-bit general register (glibc's `REG_*`).
fn greg(full: Register) -> Option<usize> {
    let i = match full {
        Register::R8 => libc::REG_R8,
        Register::R9 => libc::REG_R9,
        Register::R10 => libc::REG_R10,
        Register::R11 => libc::REG_R11,
        Register::R12 => libc::REG_R12,
        Register::R13 => libc::REG_R13,
        Register::R14 => libc::REG_R14,
        Register::R15 => libc::REG_R15,
        Register::RDI => libc::REG_RDI,
        Register::RSI => libc::REG_RSI,
        Register::RBP => libc::REG_RBP,
        Register::RBX => libc::REG_RBX,
        Register::RDX => libc::REG_RDX,
        Register::RAX => libc::REG_RAX,
        Register::RCX => libc::REG_RCX,
        _ => return None,
    };
    usize::try_from(i).ok()
}

/// The access `ins` makes, reading source registers from `gregs`.
fn decode(ins: &Instruction, gregs: &[i64; 23]) -> Result<Access, String> {
    let width = ins.memory_size().size();
    match ins.code() {
        Code::Mov_r8_rm8 | Code::Mov_r16_rm16 | Code::Mov_r32_rm32 | Code::Mov_r64_rm64
            if ins.op1_kind() == OpKind::Memory =>
        {
            Ok(Access::Load {
                reg: ins.op0_register(),
                width,
            })
        }
        Code::Mov_rm8_r8 | Code::Mov_rm16_r16 | Code::Mov_rm32_r32 | Code::Mov_rm64_r64
            if ins.op0_kind() == OpKind::Memory =>
        {
            let reg = ins.op1_register();
            let i = greg(reg.full_register()).ok_or("unsupported source register")?;
            // CAST: the register's bits.
            let mut v = gregs[i] as u64;
            if matches!(
                reg,
                Register::AH | Register::CH | Register::DH | Register::BH
            ) {
                v >>= 8;
            }
            Ok(Access::Store { value: v, width })
        }
        Code::Mov_rm8_imm8 | Code::Mov_rm16_imm16 | Code::Mov_rm32_imm32 | Code::Mov_rm64_imm32
            if ins.op0_kind() == OpKind::Memory =>
        {
            Ok(Access::Store {
                value: ins.immediate(1),
                width,
            })
        }
        _ => Err(format!(
            "instruction {:?} is not a plain load or store",
            ins.code()
        )),
    }
}

/// Writes a loaded value into `reg` as the CPU would (a 32-bit
/// destination zero-extends; 8 and 16 bits merge).
fn set_reg(gregs: &mut [i64; 23], reg: Register, value: u64) -> Result<(), String> {
    let i = greg(reg.full_register()).ok_or("unsupported destination register")?;
    // CAST: the register's bits.
    let old = gregs[i] as u64;
    let new = match reg.size() {
        8 | 4 => value,
        2 => (old & !0xffff) | (value & 0xffff),
        _ if matches!(
            reg,
            Register::AH | Register::CH | Register::DH | Register::BH
        ) =>
        {
            (old & !0xff00) | ((value & 0xff) << 8)
        }
        _ => (old & !0xff) | (value & 0xff),
    };
    // CAST: back to the register's bits.
    gregs[i] = new as i64;
    Ok(())
}

/// Emulates the access; `Ok(len)` to resume after the instruction.
fn emulate(tag: u64, addr: u64, gregs: &mut [i64; 23]) -> Result<usize, String> {
    let (base, len, target) = {
        let w = windows().lock().unwrap_or_else(PoisonError::into_inner);
        let e = w.get(&tag).ok_or("no such MMIO window")?;
        (e.base, e.len, Arc::clone(&e.target))
    };
    let rip = usize::try_from(gregs[usize::try_from(libc::REG_RIP).unwrap_or(16)])
        .map_err(|_| "bad %rip")?;
    // SAFETY: the faulting instruction is in module code, mapped
    // readable and executable; x86 instructions are at most 15 bytes and
    // the text is followed by at least that much mapped memory (the
    // loader pads sections to pages).
    let bytes =
        unsafe { core::slice::from_raw_parts(core::ptr::with_exposed_provenance::<u8>(rip), 15) };
    let mut dec = Decoder::with_ip(64, bytes, rip as u64, DecoderOptions::NONE);
    let ins = dec.decode();
    if ins.is_invalid() {
        return Err("undecodable instruction".into());
    }
    let access = decode(&ins, gregs)?;
    let offset = addr.wrapping_sub(base as u64);
    let width = match &access {
        Access::Load { width, .. } | Access::Store { width, .. } => *width,
    };
    if offset.saturating_add(width as u64) > len as u64 {
        return Err(format!(
            "a {width}-byte access at {offset:#x} crosses the end of the {len:#x}-byte window"
        ));
    }
    match access {
        Access::Load { reg, width } => {
            let v = target.read(offset, width)?;
            set_reg(gregs, reg, v)?;
        }
        Access::Store { value, width } => {
            let mask = if width >= 8 {
                u64::MAX
            } else {
                (1u64 << (width * 8)) - 1
            };
            target.write(offset, width, value & mask)?;
        }
    }
    Ok(ins.len())
}

/// Called by the C fault handler for a fault in an MMIO window: the
/// instruction length to skip, or 0 (fatal: the reason is kept for
/// [`take_refusal`]).
///
/// # Safety
/// `gregs` must be the faulting context's `uc_mcontext.gregs` (23
/// registers, glibc x86-64 layout).
#[unsafe(no_mangle)]
unsafe extern "C" fn harness_mmio_emulate(tag: u64, addr: u64, gregs: *mut i64) -> usize {
    // SAFETY: by the caller's contract.
    let gregs = unsafe { &mut *gregs.cast::<[i64; 23]>() };
    match emulate(tag, addr, gregs) {
        Ok(n) => n,
        Err(why) => {
            REFUSAL.with(|r| *r.borrow_mut() = Some(why));
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(bytes: &[u8]) -> Instruction {
        Decoder::with_ip(64, bytes, 0x1000, DecoderOptions::NONE).decode()
    }

    fn gregs_with(reg: Register, v: u64) -> [i64; 23] {
        let mut g = [0i64; 23];
        g[greg(reg).unwrap()] = v as i64;
        g
    }

    #[test]
    fn decodes_the_loads_and_stores_compilers_emit() {
        let g = gregs_with(Register::RCX, 0xdead_beef_1234_5678);
        // mov eax, [rdi+rsi]
        match decode(&ins(&[0x8b, 0x04, 0x37]), &g).unwrap() {
            Access::Load { reg, width } => assert_eq!((reg, width), (Register::EAX, 4)),
            Access::Store { .. } => panic!("a load"),
        }
        // mov rax, [rdi]
        match decode(&ins(&[0x48, 0x8b, 0x07]), &g).unwrap() {
            Access::Load { reg, width } => assert_eq!((reg, width), (Register::RAX, 8)),
            Access::Store { .. } => panic!("a load"),
        }
        // mov [rdi+rsi], ecx: the register's bits (emulate masks them).
        match decode(&ins(&[0x89, 0x0c, 0x37]), &g).unwrap() {
            Access::Store { value, width } => {
                assert_eq!((value, width), (0xdead_beef_1234_5678, 4))
            }
            Access::Load { .. } => panic!("a store"),
        }
        // mov dword [rdi], 0x12345678
        match decode(&ins(&[0xc7, 0x07, 0x78, 0x56, 0x34, 0x12]), &g).unwrap() {
            Access::Store { value, width } => assert_eq!((value, width), (0x1234_5678, 4)),
            Access::Load { .. } => panic!("a store"),
        }
        // mov [rdi], ch: the second byte of RCX.
        match decode(&ins(&[0x88, 0x2f]), &g).unwrap() {
            Access::Store { value, width } => assert_eq!((value & 0xff, width), (0x56, 1)),
            Access::Load { .. } => panic!("a store"),
        }
        // movzx eax, byte [rdi] and add [rdi], eax are not emulated.
        assert!(decode(&ins(&[0x0f, 0xb6, 0x07]), &g).is_err());
        assert!(decode(&ins(&[0x01, 0x07]), &g).is_err());
    }

    #[test]
    fn loads_write_registers_as_the_cpu_does() {
        let all = u64::MAX;
        for (reg, v, want) in [
            (Register::EAX, 0x1234, 0x1234),
            (Register::RAX, 0x1_0000_1234, 0x1_0000_1234),
            (Register::AX, 0x1234, 0xffff_ffff_ffff_1234),
            (Register::AL, 0x34, 0xffff_ffff_ffff_ff34),
            (Register::AH, 0x12, 0xffff_ffff_ffff_12ff),
            (Register::R9D, 0x7, 0x7),
        ] {
            let mut g = gregs_with(reg.full_register(), all);
            set_reg(&mut g, reg, v).unwrap();
            assert_eq!(
                g[greg(reg.full_register()).unwrap()] as u64,
                want,
                "{reg:?}"
            );
        }
        let mut g = [0i64; 23];
        assert!(
            set_reg(&mut g, Register::RSP, 1).is_err(),
            "not a data register"
        );
    }
}
