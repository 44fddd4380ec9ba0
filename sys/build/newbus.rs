// SPDX-License-Identifier: BSD-2-Clause
//! What bindgen takes from `newbus.h`: the kobj, newbus, resource, bus-space,
//! `bus_dma` and PCI types and constants, and the kobj method descriptors.
//!
//! Layouts and numbers, and the few newbus functions `kern::driver` calls
//! (the others it reaches through `shim/newbus.h`, whose `shim_*`
//! functions `build.rs` takes with kern's other helpers).

/// Types (their dependencies come along).
const TYPES: &[&str] = &[
    "kobj",
    "kobj_t",
    "kobj_class",
    "kobj_class_t",
    "kobj_method",
    "kobj_method_t",
    "kobj_ops",
    "kobj_ops_t",
    "kobjop_desc",
    "kobjop_desc_t",
    "kobjop_t",
    "device_t",
    "driver_t",
    "devclass_t",
    "driver_module_data",
    "driver_filter_t",
    "driver_intr_t",
    "intr_type",
    "intr_trigger",
    "intr_polarity",
    "resource",
    "resource_spec",
    "resource_map",
    "resource_map_request",
    "rman_res_t",
    "bus_addr_t",
    "bus_size_t",
    "bus_space_tag_t",
    "bus_space_handle_t",
    "bus_dma_tag_t",
    "bus_dmamap_t",
    "bus_dma_segment",
    "bus_dma_segment_t",
    "bus_dmamap_callback_t",
    "bus_dma_filter_t",
    "bus_dmasync_op_t",
    "pci_device_ivars",
    "bus_dma_tag_common",
    "bus_dma_impl",
];

/// Functions whose prototypes the layouts need.
const FUNCTIONS: &[&str] = &[
    "kobj_lookup_method",
    "kobj_error_method",
    "driver_module_handler",
    "device_get_softc",
    "device_get_unit",
    "device_printf",
    "device_set_desc",
    "bus_release_resource",
    "bus_setup_intr",
    "bus_teardown_intr",
    "rman_get_size",
    "bus_get_dma_tag",
    "bus_dma_tag_create",
    "bus_dma_tag_destroy",
    "bus_dmamap_load",
];

/// Constants, and the method descriptors the kernel defines.
const VARS: &[&str] = &[
    "KOBJ_CACHE_SIZE",
    "BUS_PROBE_.*",
    "BUS_PASS_.*",
    "FILTER_.*",
    "SYS_RES_.*",
    "RF_.*",
    "BUS_SPACE_.*",
    "BUS_DMA_.*",
    "BUS_DMASYNC_.*",
    "PCIR_.*",
    "PCIM_.*",
    "PCIY_.*",
    "PCIZ_.*",
    "PCI_POWERSTATE_.*",
    "PCI_INVALID_IRQ",
    "device_.*_desc",
    "bus_.*_desc",
    "pci_.*_desc",
];

/// Adds `newbus.h`'s allowlist to `builder`.
pub(crate) fn allowlist(mut builder: bindgen::Builder) -> bindgen::Builder {
    for t in TYPES {
        builder = builder.allowlist_type(t);
    }
    for f in FUNCTIONS {
        builder = builder.allowlist_function(f);
    }
    for v in VARS {
        builder = builder.allowlist_var(v);
    }
    builder
}
