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
 * Prototypes of the C helpers in newbus.c: the newbus, PCI and bus-space
 * calls that are inline functions or macros in FreeBSD's headers
 * (pci_get_vendor(9) is BUS_READ_IVAR through kobj, bus_alloc_resource_any(9)
 * and bus_read_4(9) are inline), so that the Rust side calls exactly what a
 * C driver compiled with the same headers calls.  Like kern.h, this is
 * their one declaration: sys/newbus.h includes it for bindgen.
 *
 * Include <sys/param.h>, <sys/bus.h> and <sys/rman.h> first.
 */

#ifndef _SHIM_NEWBUS_H_
#define	_SHIM_NEWBUS_H_

/* pci_get_vendor(9) and friends: the parent's BUS_READ_IVAR. */
uint16_t	shim_pci_get_vendor(device_t dev);
uint16_t	shim_pci_get_device(device_t dev);
uint16_t	shim_pci_get_subvendor(device_t dev);
uint16_t	shim_pci_get_subdevice(device_t dev);

/*
 * pci_read_config(9), pci_write_config(9), pci_enable_busmaster(9),
 * pci_disable_busmaster(9), pci_msi_count(9), pci_alloc_msi(9),
 * pci_release_msi(9): the parent's PCI_*() kobj methods.
 */
uint32_t	shim_pci_read_config(device_t dev, int reg, int width);
void		shim_pci_write_config(device_t dev, int reg, uint32_t val,
		    int width);
int		shim_pci_enable_busmaster(device_t dev);
int		shim_pci_disable_busmaster(device_t dev);
int		shim_pci_msi_count(device_t dev);
int		shim_pci_alloc_msi(device_t dev, int *count);
int		shim_pci_release_msi(device_t dev);

/* bus_alloc_resource_any(9). */
struct resource	*shim_bus_alloc_resource_any(device_t dev, int type, int *rid,
		    u_int flags);

/* bus_read_4(9), bus_write_4(9): bus_space on the resource's tag/handle. */
uint32_t	shim_bus_read_4(struct resource *r, bus_size_t offset);
void		shim_bus_write_4(struct resource *r, bus_size_t offset,
		    uint32_t value);

/*
 * bus_dma(9) on amd64: bus_dmamem_alloc, bus_dmamem_free, bus_dmamap_unload
 * and bus_dmamap_sync are static inline functions of <x86/bus_dma.h> that
 * call through the tag's struct bus_dma_impl (<x86/busdma_impl.h>).
 * Include <machine/bus_dma.h> first.
 */
int		shim_bus_dmamem_alloc(bus_dma_tag_t dmat, void **vaddr, int flags,
		    bus_dmamap_t *mapp);
void		shim_bus_dmamem_free(bus_dma_tag_t dmat, void *vaddr,
		    bus_dmamap_t map);
void		shim_bus_dmamap_unload(bus_dma_tag_t dmat, bus_dmamap_t map);
void		shim_bus_dmamap_sync(bus_dma_tag_t dmat, bus_dmamap_t map,
		    bus_dmasync_op_t op);

#endif /* !_SHIM_NEWBUS_H_ */
