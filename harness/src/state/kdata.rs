// SPDX-License-Identifier: BSD-2-Clause
//! The kernel's data symbols: one block per kernel, below 2 GiB.
//!
//! `M_DEVBUF` and `M_TEMP` are `struct malloc_type`s defined by
//! `sys/kern/kern_malloc.c`; `Giant` is the `struct mtx` of
//! `sys/kern/kern_mutex.c`; `sysctl__children` is the root list and
//! `sysctl___hw`/`___kern`/`___debug`/`___security` the static nodes of
//! `sys/kern/kern_mib.c` (`___dev` of `sys/kern/subr_bus.c`); `__stack_chk_guard` is the canary of
//! `sys/kern/stack_protector.c`; `hz`, `tick` and `tick_sbt` are the
//! clock's constants of `sys/kern/subr_param.c`, `ticks` (the low half of
//! `ticksl` on amd64, so the same address), `time_second` and
//! `time_uptime` its variables (`sys/kern/kern_clock.c`,
//! `sys/kern/kern_tc.c`), written by `crate::kpi::clock`;
//! `taskqueue_thread` and `taskqueue_fast` the system queues of
//! `sys/kern/subr_taskqueue.c` (`TASKQUEUE_DEFINE_THREAD`,
//! `TASKQUEUE_FAST_DEFINE`), pointers to opaque queue structures here. A module
//! references them through 32-bit
//! relocations, so they are real storage in a low mapping, initialised as
//! the kernel initialises them at boot.

use crate::addr::KAddr;
use crate::errno::Errno;
use crate::lowmem::LowMap;
use core::mem::offset_of;

/// A data symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum DataSym {
    /// `M_DEVBUF`
    MDevbuf,
    /// `M_TEMP`
    MTemp,
    /// `Giant`
    Giant,
    /// `__stack_chk_guard`
    StackChkGuard,
    /// `sysctl__children`
    SysctlChildren,
    /// `sysctl___hw`
    SysctlHw,
    /// `sysctl___kern`
    SysctlKern,
    /// `sysctl___debug`
    SysctlDebug,
    /// `sysctl___dev`
    SysctlDev,
    /// `sysctl___security`
    SysctlSecurity,
    /// `hz`
    Hz,
    /// `tick` (microseconds per tick)
    Tick,
    /// `tick_sbt`
    TickSbt,
    /// `ticks` (the low half of `ticksl`)
    Ticks,
    /// `ticksl`
    Ticksl,
    /// `time_second`
    TimeSecond,
    /// `time_uptime`
    TimeUptime,
    /// `taskqueue_thread` (a `struct taskqueue *`)
    TaskqueueThread,
    /// `taskqueue_fast` (a `struct taskqueue *`)
    TaskqueueFast,
    /// `device_probe_desc` (a `struct kobjop_desc`, `sys/kern/device_if.m`)
    DeviceProbeDesc,
    /// `device_attach_desc`
    DeviceAttachDesc,
    /// `device_detach_desc`
    DeviceDetachDesc,
    /// `bus_read_ivar_desc` (`sys/kern/bus_if.m`)
    BusReadIvarDesc,
    /// `device_shutdown_desc`
    DeviceShutdownDesc,
    /// `device_suspend_desc`
    DeviceSuspendDesc,
    /// `device_resume_desc`
    DeviceResumeDesc,
    /// `pci_read_config_desc` (`sys/dev/pci/pci_if.m`)
    PciReadConfigDesc,
    /// `pci_write_config_desc`
    PciWriteConfigDesc,
    /// `pci_enable_busmaster_desc`
    PciEnableBusmasterDesc,
    /// `pci_disable_busmaster_desc`
    PciDisableBusmasterDesc,
    /// `pci_alloc_msi_desc`
    PciAllocMsiDesc,
    /// `pci_release_msi_desc`
    PciReleaseMsiDesc,
    /// `pci_msi_count_desc`
    PciMsiCountDesc,
}

impl DataSym {
    /// Every data symbol.
    pub(crate) const ALL: [DataSym; 33] = [
        DataSym::MDevbuf,
        DataSym::MTemp,
        DataSym::Giant,
        DataSym::StackChkGuard,
        DataSym::SysctlChildren,
        DataSym::SysctlHw,
        DataSym::SysctlKern,
        DataSym::SysctlDebug,
        DataSym::SysctlDev,
        DataSym::SysctlSecurity,
        DataSym::Hz,
        DataSym::Tick,
        DataSym::TickSbt,
        DataSym::Ticks,
        DataSym::Ticksl,
        DataSym::TimeSecond,
        DataSym::TimeUptime,
        DataSym::TaskqueueThread,
        DataSym::TaskqueueFast,
        DataSym::DeviceProbeDesc,
        DataSym::DeviceAttachDesc,
        DataSym::DeviceDetachDesc,
        DataSym::BusReadIvarDesc,
        DataSym::DeviceShutdownDesc,
        DataSym::DeviceSuspendDesc,
        DataSym::DeviceResumeDesc,
        DataSym::PciReadConfigDesc,
        DataSym::PciWriteConfigDesc,
        DataSym::PciEnableBusmasterDesc,
        DataSym::PciDisableBusmasterDesc,
        DataSym::PciAllocMsiDesc,
        DataSym::PciReleaseMsiDesc,
        DataSym::PciMsiCountDesc,
    ];

    /// The kernel name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            DataSym::MDevbuf => "M_DEVBUF",
            DataSym::MTemp => "M_TEMP",
            DataSym::Giant => "Giant",
            DataSym::StackChkGuard => "__stack_chk_guard",
            DataSym::SysctlChildren => "sysctl__children",
            DataSym::SysctlHw => "sysctl___hw",
            DataSym::SysctlKern => "sysctl___kern",
            DataSym::SysctlDebug => "sysctl___debug",
            DataSym::SysctlDev => "sysctl___dev",
            DataSym::SysctlSecurity => "sysctl___security",
            DataSym::Hz => "hz",
            DataSym::Tick => "tick",
            DataSym::TickSbt => "tick_sbt",
            DataSym::Ticks => "ticks",
            DataSym::Ticksl => "ticksl",
            DataSym::TimeSecond => "time_second",
            DataSym::TimeUptime => "time_uptime",
            DataSym::TaskqueueThread => "taskqueue_thread",
            DataSym::TaskqueueFast => "taskqueue_fast",
            DataSym::DeviceProbeDesc => "device_probe_desc",
            DataSym::DeviceAttachDesc => "device_attach_desc",
            DataSym::DeviceDetachDesc => "device_detach_desc",
            DataSym::BusReadIvarDesc => "bus_read_ivar_desc",
            DataSym::DeviceShutdownDesc => "device_shutdown_desc",
            DataSym::DeviceSuspendDesc => "device_suspend_desc",
            DataSym::DeviceResumeDesc => "device_resume_desc",
            DataSym::PciReadConfigDesc => "pci_read_config_desc",
            DataSym::PciWriteConfigDesc => "pci_write_config_desc",
            DataSym::PciEnableBusmasterDesc => "pci_enable_busmaster_desc",
            DataSym::PciDisableBusmasterDesc => "pci_disable_busmaster_desc",
            DataSym::PciAllocMsiDesc => "pci_alloc_msi_desc",
            DataSym::PciReleaseMsiDesc => "pci_release_msi_desc",
            DataSym::PciMsiCountDesc => "pci_msi_count_desc",
        }
    }

    /// The kobj method descriptors, in the order of their slots in the
    /// data block.
    pub(crate) const KOBJ: [DataSym; KOBJ_DESCS] = [
        DataSym::DeviceProbeDesc,
        DataSym::DeviceAttachDesc,
        DataSym::DeviceDetachDesc,
        DataSym::BusReadIvarDesc,
        DataSym::DeviceShutdownDesc,
        DataSym::DeviceSuspendDesc,
        DataSym::DeviceResumeDesc,
        DataSym::PciReadConfigDesc,
        DataSym::PciWriteConfigDesc,
        DataSym::PciEnableBusmasterDesc,
        DataSym::PciDisableBusmasterDesc,
        DataSym::PciAllocMsiDesc,
        DataSym::PciReleaseMsiDesc,
        DataSym::PciMsiCountDesc,
    ];

    /// The slot of a kobj method descriptor.
    fn kobj_index(self) -> Option<usize> {
        Self::KOBJ.iter().position(|&d| d == self)
    }

    /// The symbol called `name`.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|d| d.name() == name)
    }
}

/// How many kobj method descriptors the kernel defines.
const KOBJ_DESCS: usize = 14;

/// The layout of the data block.
#[repr(C)]
struct Block {
    m_devbuf: sys::malloc_type,
    m_temp: sys::malloc_type,
    giant: sys::mtx,
    stack_chk_guard: usize,
    sysctl_children: sys::sysctl_oid_list,
    sysctl_hw: sys::sysctl_oid,
    sysctl_kern: sys::sysctl_oid,
    sysctl_debug: sys::sysctl_oid,
    sysctl_dev: sys::sysctl_oid,
    sysctl_security: sys::sysctl_oid,
    hz: i32,
    tick: i32,
    tick_sbt: i64,
    /// `ticksl`; `ticks` is its low half (little-endian).
    ticksl: i64,
    time_second: i64,
    time_uptime: i64,
    /// `taskqueue_thread` and `taskqueue_fast`: pointers to the system
    /// queues, whose `struct taskqueue`s (opaque to modules) are
    /// `tq_objs`.
    taskqueue_thread: usize,
    taskqueue_fast: usize,
    tq_objs: [u64; 8],
    /// The kobj method descriptors, `struct kobjop_desc` each (`id`, then
    /// the default method `{desc, func}`), as `sys/sys/kobj.h` lays them
    /// out; `crate::kpi::newbus` fills in the ids and defaults.
    kobj_descs: [[u64; 3]; KOBJ_DESCS],
}

/// One kernel's data block.
///
/// # Invariants
/// `map` holds a [`Block`] at its start, initialised by [`KernelData::new`].
pub(crate) struct KernelData {
    map: LowMap,
}

impl KernelData {
    /// Maps and initialises the block.
    pub(crate) fn new() -> Result<Self, Errno> {
        let map = LowMap::new(size_of::<Block>())?;
        let b = map.base().cast::<Block>();
        // SAFETY: the fresh mapping is zeroed, page-aligned and at least
        // `size_of::<Block>()` long; zero is a valid bit pattern for every
        // field (plain C structs), and no one else knows the mapping yet.
        let block = unsafe { &mut *b };
        init_type(&mut block.m_devbuf, c"devbuf");
        init_type(&mut block.m_temp, c"temp");
        block.giant.lock_object.lo_name = c"Giant".as_ptr();
        block.giant.lock_object.lo_flags =
            sys::LO_INITIALIZED | sys::LO_RECURSABLE | sys::LO_WITNESS;
        block.giant.mtx_lock = u64::from(sys::MTX_UNOWNED);
        // The canary: any value the module cannot guess; fixed here.
        block.stack_chk_guard = 0x5a17_c0de_d00d_f00d;
        let children: *mut sys::sysctl_oid_list = &raw mut block.sysctl_children;
        for (oid, name, number, descr) in [
            (
                &mut block.sysctl_kern,
                c"kern",
                1,
                c"High kernel, proc, limits &c",
            ),
            (&mut block.sysctl_hw, c"hw", 6, c"hardware"),
            (&mut block.sysctl_debug, c"debug", 5, c"Debugging"),
            // OID_AUTO root nodes (sys/kern/subr_bus.c, kern_mib.c): numbered
            // from CTL_AUTO_START as the kernel registers them.
            (&mut block.sysctl_dev, c"dev", 0x100, c""),
            (&mut block.sysctl_security, c"security", 0x101, c"Security"),
        ] {
            oid.oid_parent = children;
            oid.oid_number = number;
            oid.oid_kind = sys::CTLTYPE_NODE | sys::CTLFLAG_RW;
            oid.oid_name = name.as_ptr();
            oid.oid_fmt = c"N".as_ptr();
            oid.oid_descr = descr.as_ptr();
            oid.oid_refcnt = 1;
        }
        let objs = &raw mut block.tq_objs;
        block.taskqueue_thread = objs.expose_provenance();
        block.taskqueue_fast = objs.expose_provenance() + 32;
        // INVARIANT: the block is initialised.
        Ok(KernelData { map })
    }

    /// The address of a data symbol.
    pub(crate) fn addr(&self, sym: DataSym) -> KAddr {
        let off = match sym {
            DataSym::MDevbuf => offset_of!(Block, m_devbuf),
            DataSym::MTemp => offset_of!(Block, m_temp),
            DataSym::Giant => offset_of!(Block, giant),
            DataSym::StackChkGuard => offset_of!(Block, stack_chk_guard),
            DataSym::SysctlChildren => offset_of!(Block, sysctl_children),
            DataSym::SysctlHw => offset_of!(Block, sysctl_hw),
            DataSym::SysctlKern => offset_of!(Block, sysctl_kern),
            DataSym::SysctlDebug => offset_of!(Block, sysctl_debug),
            DataSym::SysctlDev => offset_of!(Block, sysctl_dev),
            DataSym::SysctlSecurity => offset_of!(Block, sysctl_security),
            DataSym::Hz => offset_of!(Block, hz),
            DataSym::Tick => offset_of!(Block, tick),
            DataSym::TickSbt => offset_of!(Block, tick_sbt),
            DataSym::Ticks | DataSym::Ticksl => offset_of!(Block, ticksl),
            DataSym::TimeSecond => offset_of!(Block, time_second),
            DataSym::TimeUptime => offset_of!(Block, time_uptime),
            DataSym::TaskqueueThread => offset_of!(Block, taskqueue_thread),
            DataSym::TaskqueueFast => offset_of!(Block, taskqueue_fast),
            d => {
                let i = d.kobj_index().unwrap_or(0);
                offset_of!(Block, kobj_descs) + i * size_of::<[u64; 3]>()
            }
        };
        KAddr::new(self.map.addr()).wrapping_add(off)
    }
}

fn init_type(t: &mut sys::malloc_type, name: &'static core::ffi::CStr) {
    t.ks_version = u64::from(sys::M_VERSION);
    t.ks_shortdesc = name.as_ptr();
}
