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
 * The driver's side of the PCI bus (pci(9)): the part of FreeBSD's
 * sys/dev/pci/pcivar.h that a PCI driver uses, for builds whose header tree
 * has only dev/pci/pcireg.h.
 *
 * A PCI device's identity is read through its parent bus's instance
 * variables: pci_get_vendor(dev) is BUS_READ_IVAR(parent, dev,
 * PCI_IVAR_VENDOR, &v), so the ivar numbers below are ABI and are listed
 * in FreeBSD's order.  The other calls go through the PCI_*() methods of
 * pci_if.h on the parent.  Like FreeBSD's, this part is only visible after
 * sys/bus.h.  The bus-side state (struct pcicfg, pci_devinfo), VPD, SR-IOV
 * and the match tables are left out.  `cargo xtask ifcheck` compares every
 * declaration here with FreeBSD's when a source tree is at hand.
 */

#ifndef _PCIVAR_H_
#define	_PCIVAR_H_

#ifdef _SYS_BUS_H_

#include "pci_if.h"

/* The instance variables a PCI bus keeps for each child. */
enum pci_device_ivars {
	PCI_IVAR_SUBVENDOR,		/* 0: card vendor ID */
	PCI_IVAR_SUBDEVICE,		/* 1: card device ID */
	PCI_IVAR_VENDOR,		/* 2: chip vendor ID */
	PCI_IVAR_DEVICE,		/* 3: chip device ID */
	PCI_IVAR_DEVID,			/* 4: device << 16 | vendor */
	PCI_IVAR_CLASS,			/* 5: base class */
	PCI_IVAR_SUBCLASS,		/* 6: subclass */
	PCI_IVAR_PROGIF,		/* 7: programming interface */
	PCI_IVAR_REVID,			/* 8: revision */
	PCI_IVAR_INTPIN,		/* 9: interrupt pin, 1 (INTA) to 4 */
	PCI_IVAR_IRQ,			/* 10: interrupt line */
	PCI_IVAR_DOMAIN,		/* 11: PCI domain */
	PCI_IVAR_BUS,			/* 12: bus number */
	PCI_IVAR_SLOT,			/* 13: slot (device) number */
	PCI_IVAR_FUNCTION,		/* 14: function number */
	PCI_IVAR_ETHADDR,		/* 15: MAC address, if the bus knows it */
	PCI_IVAR_CMDREG,		/* 16: command register */
	PCI_IVAR_CACHELNSZ,		/* 17: cache line size */
	PCI_IVAR_MINGNT,		/* 18: minimum grant */
	PCI_IVAR_MAXLAT,		/* 19: maximum latency */
	PCI_IVAR_LATTIMER		/* 20: latency timer */
};

/*
 * pci_get_<var>(dev) and pci_set_<var>(dev, value): the parent's
 * BUS_READ_IVAR() and BUS_WRITE_IVAR() of PCI_IVAR_<IVAR>, with sys/bus.h's
 * accessor generator, as FreeBSD declares them.
 */
#define	PCI_ACCESSOR(var, ivar, type)					\
	__BUS_ACCESSOR(pci, var, PCI, ivar, type)

PCI_ACCESSOR(subvendor,		SUBVENDOR,	uint16_t)
PCI_ACCESSOR(subdevice,		SUBDEVICE,	uint16_t)
PCI_ACCESSOR(vendor,		VENDOR,		uint16_t)
PCI_ACCESSOR(device,		DEVICE,		uint16_t)
PCI_ACCESSOR(devid,		DEVID,		uint32_t)
PCI_ACCESSOR(class,		CLASS,		uint8_t)
PCI_ACCESSOR(subclass,		SUBCLASS,	uint8_t)
PCI_ACCESSOR(progif,		PROGIF,		uint8_t)
PCI_ACCESSOR(revid,		REVID,		uint8_t)
PCI_ACCESSOR(intpin,		INTPIN,		uint8_t)
PCI_ACCESSOR(irq,		IRQ,		uint8_t)
PCI_ACCESSOR(domain,		DOMAIN,		uint32_t)
PCI_ACCESSOR(bus,		BUS,		uint8_t)
PCI_ACCESSOR(slot,		SLOT,		uint8_t)
PCI_ACCESSOR(function,		FUNCTION,	uint8_t)
PCI_ACCESSOR(ether,		ETHADDR,	uint8_t *)
PCI_ACCESSOR(cmdreg,		CMDREG,		uint8_t)
PCI_ACCESSOR(cachelnsz,		CACHELNSZ,	uint8_t)
PCI_ACCESSOR(mingnt,		MINGNT,		uint8_t)
PCI_ACCESSOR(maxlat,		MAXLAT,		uint8_t)
PCI_ACCESSOR(lattimer,		LATTIMER,	uint8_t)

#undef PCI_ACCESSOR

/* The interrupt line value that means "none". */
#define	PCI_INVALID_IRQ		255
#define	PCI_INTERRUPT_VALID(x)	((x) != PCI_INVALID_IRQ)

/* Power states, as ACPI numbers them (PCI_GET_POWERSTATE()). */
#define	PCI_POWERSTATE_D0	0
#define	PCI_POWERSTATE_D1	1
#define	PCI_POWERSTATE_D2	2
#define	PCI_POWERSTATE_D3_HOT	3
#define	PCI_POWERSTATE_D3_COLD	4
#define	PCI_POWERSTATE_D3	PCI_POWERSTATE_D3_COLD
#define	PCI_POWERSTATE_UNKNOWN	-1

/*
 * The calls below each ask the device's parent, the PCI bus, with the
 * device as the child.
 */

static __inline uint32_t
pci_read_config(device_t dev, int reg, int width)
{

	return (PCI_READ_CONFIG(device_get_parent(dev), dev, reg, width));
}

static __inline void
pci_write_config(device_t dev, int reg, uint32_t val, int width)
{

	PCI_WRITE_CONFIG(device_get_parent(dev), dev, reg, val, width);
}

static __inline int
pci_enable_busmaster(device_t dev)
{

	return (PCI_ENABLE_BUSMASTER(device_get_parent(dev), dev));
}

static __inline int
pci_disable_busmaster(device_t dev)
{

	return (PCI_DISABLE_BUSMASTER(device_get_parent(dev), dev));
}

static __inline int
pci_enable_io(device_t dev, int space)
{

	return (PCI_ENABLE_IO(device_get_parent(dev), dev, space));
}

static __inline int
pci_disable_io(device_t dev, int space)
{

	return (PCI_DISABLE_IO(device_get_parent(dev), dev, space));
}

static __inline int
pci_set_powerstate(device_t dev, int state)
{

	return (PCI_SET_POWERSTATE(device_get_parent(dev), dev, state));
}

static __inline int
pci_get_powerstate(device_t dev)
{

	return (PCI_GET_POWERSTATE(device_get_parent(dev), dev));
}

static __inline int
pci_find_cap(device_t dev, int capability, int *capreg)
{

	return (PCI_FIND_CAP(device_get_parent(dev), dev, capability, capreg));
}

static __inline int
pci_find_next_cap(device_t dev, int capability, int start, int *capreg)
{

	return (PCI_FIND_NEXT_CAP(device_get_parent(dev), dev, capability,
	    start, capreg));
}

static __inline int
pci_find_extcap(device_t dev, int capability, int *capreg)
{

	return (PCI_FIND_EXTCAP(device_get_parent(dev), dev, capability,
	    capreg));
}

static __inline int
pci_find_next_extcap(device_t dev, int capability, int start, int *capreg)
{

	return (PCI_FIND_NEXT_EXTCAP(device_get_parent(dev), dev, capability,
	    start, capreg));
}

static __inline int
pci_alloc_msi(device_t dev, int *count)
{

	return (PCI_ALLOC_MSI(device_get_parent(dev), dev, count));
}

static __inline int
pci_alloc_msix(device_t dev, int *count)
{

	return (PCI_ALLOC_MSIX(device_get_parent(dev), dev, count));
}

static __inline int
pci_release_msi(device_t dev)
{

	return (PCI_RELEASE_MSI(device_get_parent(dev), dev));
}

static __inline int
pci_msi_count(device_t dev)
{

	return (PCI_MSI_COUNT(device_get_parent(dev), dev));
}

static __inline int
pci_msix_count(device_t dev)
{

	return (PCI_MSIX_COUNT(device_get_parent(dev), dev));
}

static __inline int
pci_msix_pba_bar(device_t dev)
{

	return (PCI_MSIX_PBA_BAR(device_get_parent(dev), dev));
}

static __inline int
pci_msix_table_bar(device_t dev)
{

	return (PCI_MSIX_TABLE_BAR(device_get_parent(dev), dev));
}

#endif /* _SYS_BUS_H_ */

#endif /* !_PCIVAR_H_ */
