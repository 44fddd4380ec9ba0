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
 * The newbus side of a Rust driver (kern::driver!): the driver's kobj
 * class and DRIVER_MODULE, and the inline newbus, PCI and bus-space calls
 * of newbus.h as functions.
 *
 * DRIVER_MODULE(9) is only emitted for a crate that declares a driver: the
 * build then defines KMOD_DRIVER_BUS (the bus's name, an identifier) in
 * kmod_decl.h.  The device methods are kern's trampolines, which the
 * kern::driver! macro defines under the names below for the crate's
 * Driver type.  The softc is one pointer: kern keeps the driver's own
 * softc (a Rust value it owns) behind it, so a driver never casts
 * device_get_softc().  Layouts and macros are FreeBSD 15's (sys/sys/bus.h,
 * DRIVER_MODULE and DEFINE_CLASS_0; sys/sys/kobj.h, DEVMETHOD).
 *
 * Helpers a module does not use are removed at link time (--gc-sections).
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/bus.h>
#include <sys/rman.h>
#include <machine/bus.h>
#include <machine/resource.h>
#include <machine/bus_dma.h>
#include <dev/pci/pcivar.h>

#include "kmod_decl.h"
#include "newbus.h"

#ifdef KMOD_DRIVER_BUS

/* The device methods, defined by kern::driver! in the module crate. */
int	kmod_device_probe(device_t dev);
int	kmod_device_attach(device_t dev);
int	kmod_device_detach(device_t dev);
int	kmod_device_suspend(device_t dev);
int	kmod_device_resume(device_t dev);
int	kmod_device_shutdown(device_t dev);

/*
 * Suspend, resume and shutdown are always in the table: kern's defaults
 * return 0, as device_if.m's null_suspend, null_resume and null_shutdown.
 */
static device_method_t kmod_methods[] = {
	DEVMETHOD(device_probe,		kmod_device_probe),
	DEVMETHOD(device_attach,	kmod_device_attach),
	DEVMETHOD(device_detach,	kmod_device_detach),
	DEVMETHOD(device_suspend,	kmod_device_suspend),
	DEVMETHOD(device_resume,	kmod_device_resume),
	DEVMETHOD(device_shutdown,	kmod_device_shutdown),
	DEVMETHOD_END
};

/* DEFINE_CLASS_0(name, kmod_driver, kmod_methods, sizeof(void *)). */
#define	KMOD_DRIVER_CLASS(name)							DEFINE_CLASS_0(name, kmod_driver, kmod_methods, sizeof(void *))
#define	KMOD_DRIVER_MODULE(name, bus)						DRIVER_MODULE(name, bus, kmod_driver, NULL, NULL)

KMOD_DRIVER_CLASS(KMOD_NAME);
KMOD_DRIVER_MODULE(KMOD_NAME, KMOD_DRIVER_BUS);

#endif /* KMOD_DRIVER_BUS */

uint16_t
shim_pci_get_vendor(device_t dev)
{

	return (pci_get_vendor(dev));
}

uint16_t
shim_pci_get_device(device_t dev)
{

	return (pci_get_device(dev));
}

uint16_t
shim_pci_get_subvendor(device_t dev)
{

	return (pci_get_subvendor(dev));
}

uint16_t
shim_pci_get_subdevice(device_t dev)
{

	return (pci_get_subdevice(dev));
}

uint32_t
shim_pci_read_config(device_t dev, int reg, int width)
{

	return (pci_read_config(dev, reg, width));
}

void
shim_pci_write_config(device_t dev, int reg, uint32_t val, int width)
{

	pci_write_config(dev, reg, val, width);
}

int
shim_pci_enable_busmaster(device_t dev)
{

	return (pci_enable_busmaster(dev));
}

int
shim_pci_disable_busmaster(device_t dev)
{

	return (pci_disable_busmaster(dev));
}

int
shim_pci_msi_count(device_t dev)
{

	return (pci_msi_count(dev));
}

int
shim_pci_alloc_msi(device_t dev, int *count)
{

	return (pci_alloc_msi(dev, count));
}

int
shim_pci_release_msi(device_t dev)
{

	return (pci_release_msi(dev));
}

struct resource *
shim_bus_alloc_resource_any(device_t dev, int type, int *rid, u_int flags)
{

	return (bus_alloc_resource_any(dev, type, rid, flags));
}

uint32_t
shim_bus_read_4(struct resource *r, bus_size_t offset)
{

	return (bus_read_4(r, offset));
}

void
shim_bus_write_4(struct resource *r, bus_size_t offset, uint32_t value)
{

	bus_write_4(r, offset, value);
}

int
shim_bus_dmamem_alloc(bus_dma_tag_t dmat, void **vaddr, int flags,
    bus_dmamap_t *mapp)
{

	return (bus_dmamem_alloc(dmat, vaddr, flags, mapp));
}

void
shim_bus_dmamem_free(bus_dma_tag_t dmat, void *vaddr, bus_dmamap_t map)
{

	bus_dmamem_free(dmat, vaddr, map);
}

void
shim_bus_dmamap_unload(bus_dma_tag_t dmat, bus_dmamap_t map)
{

	bus_dmamap_unload(dmat, map);
}

void
shim_bus_dmamap_sync(bus_dma_tag_t dmat, bus_dmamap_t map, bus_dmasync_op_t op)
{

	bus_dmamap_sync(dmat, map, op);
}
