/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Copyright (c) 2026 The freebsd-kmod-rust authors
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions
 * are met:
 * 1. Redistributions of source code must retain the above copyright
 *    notice, this list of conditions and the following disclaimer.
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED BY THE AUTHOR AND CONTRIBUTORS ``AS IS'' AND
 * ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 * IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
 * ARE DISCLAIMED.  IN NO EVENT SHALL THE AUTHOR OR CONTRIBUTORS BE LIABLE
 * FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
 * DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS
 * OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
 * HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT
 * LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY
 * OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF
 * SUCH DAMAGE.
 */

/*
 * The PCI kobj interface (pci(9)): what dev/pci/pcivar.h includes as
 * "pci_if.h".
 *
 * The methods behind the pci_*() calls of dev/pci/pcivar.h, as
 * sys/dev/pci/pci_if.m defines them: configuration space, power state,
 * bus mastering and decoding, capabilities, MSI and MSI-X.  VPD,
 * HyperTransport, SR-IOV and the bus-side methods are left out.  See
 * device_if.h for why these headers exist and how they are checked.
 */

#ifndef _pci_if_h_
#define	_pci_if_h_

#include "kmod_kobj_if.h"

/* Read "width" (1, 2 or 4) bytes of the child's config space at "reg". */
extern struct kobjop_desc pci_read_config_desc;
typedef uint32_t pci_read_config_t(device_t dev, device_t child, int reg,
    int width);

static __inline uint32_t
PCI_READ_CONFIG(device_t dev, device_t child, int reg, int width)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_read_config)(dev,
	    child, reg, width));
}

/* Write "width" (1, 2 or 4) bytes of the child's config space at "reg". */
extern struct kobjop_desc pci_write_config_desc;
typedef void pci_write_config_t(device_t dev, device_t child, int reg,
    uint32_t val, int width);

static __inline void
PCI_WRITE_CONFIG(device_t dev, device_t child, int reg, uint32_t val,
    int width)
{

	_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_write_config)(dev, child, reg,
	    val, width);
}

/* The child's power state, PCI_POWERSTATE_*. */
extern struct kobjop_desc pci_get_powerstate_desc;
typedef int pci_get_powerstate_t(device_t dev, device_t child);

static __inline int
PCI_GET_POWERSTATE(device_t dev, device_t child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_get_powerstate)(dev,
	    child));
}

/* Put the child in power state "state", PCI_POWERSTATE_*. */
extern struct kobjop_desc pci_set_powerstate_desc;
typedef int pci_set_powerstate_t(device_t dev, device_t child, int state);

static __inline int
PCI_SET_POWERSTATE(device_t dev, device_t child, int state)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_set_powerstate)(dev,
	    child, state));
}

/* Let the child master the bus (DMA). */
extern struct kobjop_desc pci_enable_busmaster_desc;
typedef int pci_enable_busmaster_t(device_t dev, device_t child);

static __inline int
PCI_ENABLE_BUSMASTER(device_t dev, device_t child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_enable_busmaster)(dev,
	    child));
}

/* Stop the child mastering the bus. */
extern struct kobjop_desc pci_disable_busmaster_desc;
typedef int pci_disable_busmaster_t(device_t dev, device_t child);

static __inline int
PCI_DISABLE_BUSMASTER(device_t dev, device_t child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_disable_busmaster)(dev,
	    child));
}

/* Enable decoding of the child's SYS_RES_IOPORT or SYS_RES_MEMORY BARs. */
extern struct kobjop_desc pci_enable_io_desc;
typedef int pci_enable_io_t(device_t dev, device_t child, int space);

static __inline int
PCI_ENABLE_IO(device_t dev, device_t child, int space)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_enable_io)(dev, child,
	    space));
}

/* Disable decoding of the child's SYS_RES_IOPORT or SYS_RES_MEMORY BARs. */
extern struct kobjop_desc pci_disable_io_desc;
typedef int pci_disable_io_t(device_t dev, device_t child, int space);

static __inline int
PCI_DISABLE_IO(device_t dev, device_t child, int space)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_disable_io)(dev, child,
	    space));
}

/* Find capability PCIY_* and its config-space offset. */
extern struct kobjop_desc pci_find_cap_desc;
typedef int pci_find_cap_t(device_t dev, device_t child, int capability,
    int *capreg);

static __inline int
PCI_FIND_CAP(device_t dev, device_t child, int capability, int *capreg)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_find_cap)(dev, child,
	    capability, capreg));
}

/* Find the next capability PCIY_* after the one at "start". */
extern struct kobjop_desc pci_find_next_cap_desc;
typedef int pci_find_next_cap_t(device_t dev, device_t child, int capability,
    int start, int *capreg);

static __inline int
PCI_FIND_NEXT_CAP(device_t dev, device_t child, int capability, int start,
    int *capreg)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_find_next_cap)(dev,
	    child, capability, start, capreg));
}

/* Find PCI Express extended capability PCIZ_*. */
extern struct kobjop_desc pci_find_extcap_desc;
typedef int pci_find_extcap_t(device_t dev, device_t child, int capability,
    int *capreg);

static __inline int
PCI_FIND_EXTCAP(device_t dev, device_t child, int capability, int *capreg)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_find_extcap)(dev,
	    child, capability, capreg));
}

/* Find the next extended capability PCIZ_* after the one at "start". */
extern struct kobjop_desc pci_find_next_extcap_desc;
typedef int pci_find_next_extcap_t(device_t dev, device_t child,
    int capability, int start, int *capreg);

static __inline int
PCI_FIND_NEXT_EXTCAP(device_t dev, device_t child, int capability, int start,
    int *capreg)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_find_next_extcap)(dev,
	    child, capability, start, capreg));
}

/* Allocate up to "*count" MSI messages; "*count" receives how many. */
extern struct kobjop_desc pci_alloc_msi_desc;
typedef int pci_alloc_msi_t(device_t dev, device_t child, int *count);

static __inline int
PCI_ALLOC_MSI(device_t dev, device_t child, int *count)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_alloc_msi)(dev, child,
	    count));
}

/* Allocate up to "*count" MSI-X messages; "*count" receives how many. */
extern struct kobjop_desc pci_alloc_msix_desc;
typedef int pci_alloc_msix_t(device_t dev, device_t child, int *count);

static __inline int
PCI_ALLOC_MSIX(device_t dev, device_t child, int *count)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_alloc_msix)(dev, child,
	    count));
}

/* Release the child's MSI or MSI-X messages. */
extern struct kobjop_desc pci_release_msi_desc;
typedef int pci_release_msi_t(device_t dev, device_t child);

static __inline int
PCI_RELEASE_MSI(device_t dev, device_t child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_release_msi)(dev,
	    child));
}

/* How many MSI messages the child supports.  Default: 0. */
extern struct kobjop_desc pci_msi_count_desc;
typedef int pci_msi_count_t(device_t dev, device_t child);

static __inline int
PCI_MSI_COUNT(device_t dev, device_t child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_msi_count)(dev, child));
}

/* How many MSI-X messages the child supports.  Default: 0. */
extern struct kobjop_desc pci_msix_count_desc;
typedef int pci_msix_count_t(device_t dev, device_t child);

static __inline int
PCI_MSIX_COUNT(device_t dev, device_t child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_msix_count)(dev,
	    child));
}

/* The BAR (its PCIR_BAR() value) holding the MSI-X PBA.  Default: -1. */
extern struct kobjop_desc pci_msix_pba_bar_desc;
typedef int pci_msix_pba_bar_t(device_t dev, device_t child);

static __inline int
PCI_MSIX_PBA_BAR(device_t dev, device_t child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_msix_pba_bar)(dev,
	    child));
}

/* The BAR (its PCIR_BAR() value) holding the MSI-X table.  Default: -1. */
extern struct kobjop_desc pci_msix_table_bar_desc;
typedef int pci_msix_table_bar_t(device_t dev, device_t child);

static __inline int
PCI_MSIX_TABLE_BAR(device_t dev, device_t child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), pci_msix_table_bar)(dev,
	    child));
}

#endif /* !_pci_if_h_ */
