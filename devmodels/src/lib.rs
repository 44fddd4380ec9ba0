// SPDX-License-Identifier: BSD-2-Clause
//! Models of PCI devices, for the test kernel's PCI bus.
//!
//! A model is the device as a driver sees it: its PCI configuration space,
//! the registers behind its BARs, its interrupt outputs and its DMA
//! engine. It is pure Rust and knows nothing of the harness:
//!
//! * register and configuration accesses are method calls with an offset
//!   and a width, and an access the device does not accept is a typed
//!   [`Violation`](edu::Violation) the harness reports, never ignored;
//! * asynchronous work (a computation, a DMA transfer) waits until the
//!   harness completes it, so the harness decides when "later" is (a
//!   virtual clock, a worker thread, or never, to test a timeout);
//! * interrupts are outputs the harness polls or is called back on;
//! * DMA reads and writes bus addresses through [`dma::DmaMemory`], which
//!   the harness implements over the memory it let the driver map, so a
//!   model never dereferences a pointer.
//!
//! Each model follows a reference implementation, named at the top of its
//! module with the version followed; where the model is stricter (it
//! reports driver misuse the reference silently tolerates), the docs say
//! so.
//!
//! * [`pci`]: the type-0 configuration header, BAR sizing, command bits
//!   and the MSI capability, as QEMU's PCI core presents them.
//! * [`edu`]: QEMU's educational device (`-device edu`, 1234:11e8).
//! * [`dma`]: the bus-address memory interface a device masters.

pub mod dma;
pub mod edu;
pub mod pci;
