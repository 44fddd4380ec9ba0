// SPDX-License-Identifier: BSD-2-Clause
//! Memory as a bus-mastering device sees it.
//!
//! A device's DMA engine reads and writes bus addresses. In the test
//! kernel, those are addresses the driver obtained from `bus_dma(9)`
//! (`bus_dmamap_load`): the harness implements [`DmaMemory`] over exactly
//! those mappings, so a transfer to any other address fails as it would
//! corrupt memory on real hardware.

use std::fmt;

/// A bus address the device may not reach: not mapped for DMA, or not
/// memory at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaError {
    /// The first bus address of the failed transfer.
    pub addr: u64,
    /// Its length in bytes.
    pub len: u64,
}

impl fmt::Display for DmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DMA of {} bytes at bus address {:#x} reaches memory not mapped for DMA",
            self.len, self.addr
        )
    }
}

impl std::error::Error for DmaError {}

/// The physical memory a device masters, by bus address.
///
/// # Examples
///
/// A flat memory for tests:
///
/// ```
/// use devmodels::dma::{DmaError, DmaMemory};
///
/// struct Flat(Vec<u8>);
///
/// impl DmaMemory for Flat {
///     fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DmaError> {
///         let err = DmaError { addr, len: buf.len() as u64 };
///         let start = usize::try_from(addr).map_err(|_| err)?;
///         let src = self.0.get(start..start + buf.len()).ok_or(err)?;
///         buf.copy_from_slice(src);
///         Ok(())
///     }
///
///     fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), DmaError> {
///         let err = DmaError { addr, len: data.len() as u64 };
///         let start = usize::try_from(addr).map_err(|_| err)?;
///         let dst = self.0.get_mut(start..start + data.len()).ok_or(err)?;
///         dst.copy_from_slice(data);
///         Ok(())
///     }
/// }
/// ```
pub trait DmaMemory {
    /// Reads `buf.len()` bytes at bus address `addr` (memory to device).
    ///
    /// # Errors
    /// Some byte of the range is not memory the device may reach.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DmaError>;

    /// Writes `data` at bus address `addr` (device to memory).
    ///
    /// # Errors
    /// Some byte of the range is not memory the device may reach; nothing
    /// is written then.
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), DmaError>;
}
