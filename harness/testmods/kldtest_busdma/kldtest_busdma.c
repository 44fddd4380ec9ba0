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
 * A bus_dma(9) user written as FreeBSD's drivers are, for the harness's
 * emulation: attach creates a tag below edu's 28-bit mask from
 * bus_get_dma_tag(9), allocates and loads 4 KiB; detach unloads, frees and
 * destroys them.  Knobs under debug.kldtest_busdma break the rules on
 * purpose (harness/tests/busdma.rs checks that the harness notices).
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/bus.h>
#include <sys/rman.h>
#include <sys/sysctl.h>
#include <machine/bus.h>
#include <machine/bus_dma.h>
#include <machine/resource.h>
#include <dev/pci/pcireg.h>
#include <dev/pci/pcivar.h>

#define	EDU_DMA_SRC	0x80
#define	EDU_DMA_DST	0x88
#define	EDU_DMA_COUNT	0x90
#define	EDU_DMA_CMD	0x98
#define	EDU_DMA_START	0x1
#define	EDU_DMA_TO_RAM	0x2
#define	EDU_BUFFER	0x40000

struct kldtest_busdma_softc {
	device_t		 sc_dev;
	struct resource		*sc_mem;
	int			 sc_rid;
	bus_dma_tag_t		 sc_tag;
	bus_dmamap_t		 sc_map;
	void			*sc_vaddr;
	bus_addr_t		 sc_busaddr;
};

struct kldtest_busdma_load {
	bus_addr_t	addr;
	int		nsegs;
	int		error;
};

static int kldtest_busdma_leak;
static struct kldtest_busdma_softc *kldtest_busdma_sc;

static void
kldtest_busdma_cb(void *arg, bus_dma_segment_t *segs, int nsegs, int error)
{
	struct kldtest_busdma_load *l;

	l = arg;
	l->error = error;
	l->nsegs = nsegs;
	if (error == 0 && nsegs > 0)
		l->addr = segs[0].ds_addr;
}

/* Runs one transfer of 16 bytes and polls until the engine is done. */
static void
kldtest_busdma_run(struct kldtest_busdma_softc *sc, int to_ram)
{
	int i;

	if (to_ram) {
		bus_write_4(sc->sc_mem, EDU_DMA_SRC, EDU_BUFFER);
		bus_write_4(sc->sc_mem, EDU_DMA_DST, (uint32_t)sc->sc_busaddr);
	} else {
		bus_write_4(sc->sc_mem, EDU_DMA_SRC, (uint32_t)sc->sc_busaddr);
		bus_write_4(sc->sc_mem, EDU_DMA_DST, EDU_BUFFER);
	}
	bus_write_4(sc->sc_mem, EDU_DMA_COUNT, 16);
	bus_write_4(sc->sc_mem, EDU_DMA_CMD,
	    EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
	for (i = 0; i < 100000000; i++)
		if ((bus_read_4(sc->sc_mem, EDU_DMA_CMD) & EDU_DMA_START) == 0)
			break;
}

/* Wrong: the device reads memory the CPU wrote, without PREWRITE. */
static int
kldtest_busdma_nosync(SYSCTL_HANDLER_ARGS)
{
	struct kldtest_busdma_softc *sc;
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if ((sc = kldtest_busdma_sc) == NULL)
		return (ENXIO);
	memset(sc->sc_vaddr, 'x', 16);
	kldtest_busdma_run(sc, 0);
	return (0);
}

/* Wrong: device-written data, then the next PREREAD without a POSTREAD. */
static int
kldtest_busdma_nopostread(SYSCTL_HANDLER_ARGS)
{
	struct kldtest_busdma_softc *sc;
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if ((sc = kldtest_busdma_sc) == NULL)
		return (ENXIO);
	bus_dmamap_sync(sc->sc_tag, sc->sc_map, BUS_DMASYNC_PREREAD);
	kldtest_busdma_run(sc, 1);
	bus_dmamap_sync(sc->sc_tag, sc->sc_map, BUS_DMASYNC_PREREAD);
	bus_dmamap_sync(sc->sc_tag, sc->sc_map, BUS_DMASYNC_POSTREAD);
	return (0);
}

/* Right: a round trip with the syncs. */
static int
kldtest_busdma_roundtrip(SYSCTL_HANDLER_ARGS)
{
	struct kldtest_busdma_softc *sc;
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if ((sc = kldtest_busdma_sc) == NULL)
		return (ENXIO);
	memcpy(sc->sc_vaddr, "round trip bytes", 16);
	bus_dmamap_sync(sc->sc_tag, sc->sc_map, BUS_DMASYNC_PREWRITE);
	kldtest_busdma_run(sc, 0);
	bus_dmamap_sync(sc->sc_tag, sc->sc_map, BUS_DMASYNC_POSTWRITE);
	memset(sc->sc_vaddr, 0, 16);
	bus_dmamap_sync(sc->sc_tag, sc->sc_map, BUS_DMASYNC_PREREAD);
	kldtest_busdma_run(sc, 1);
	bus_dmamap_sync(sc->sc_tag, sc->sc_map, BUS_DMASYNC_POSTREAD);
	printf("kldtest_busdma: back %.16s\n", (char *)sc->sc_vaddr);
	return (0);
}

/*
 * A tag whose one segment is smaller than the buffer: the load returns 0,
 * the callback gets EFBIG (subr_bus_dma.c); and a tag destroyed while its
 * memory is allocated: EBUSY.
 */
static int
kldtest_busdma_errors(SYSCTL_HANDLER_ARGS)
{
	struct kldtest_busdma_load l;
	bus_dma_tag_t tag, tag2;
	bus_dmamap_t map;
	void *vaddr;
	int error, r, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (kldtest_busdma_sc == NULL)
		return (ENXIO);
	error = bus_dma_tag_create(bus_get_dma_tag(kldtest_busdma_sc->sc_dev),
	    1, 0, BUS_SPACE_MAXADDR, BUS_SPACE_MAXADDR, NULL, NULL, 4096, 1,
	    1024, 0, NULL, NULL, &tag);
	if (error != 0)
		return (error);
	error = bus_dmamem_alloc(tag, &vaddr, BUS_DMA_WAITOK, &map);
	if (error != 0) {
		bus_dma_tag_destroy(tag);
		return (error);
	}
	memset(&l, 0, sizeof(l));
	r = bus_dmamap_load(tag, map, vaddr, 4096, kldtest_busdma_cb, &l,
	    BUS_DMA_NOWAIT);
	printf("kldtest_busdma: load returned %d, callback error %d nsegs %d\n",
	    r, l.error, l.nsegs);
	r = bus_dma_tag_destroy(tag);
	printf("kldtest_busdma: destroy with memory returned %d\n", r);
	error = bus_dma_tag_create(NULL, 1, 0, BUS_SPACE_MAXADDR,
	    BUS_SPACE_MAXADDR, NULL, NULL, 4096, 1, 0, 0, NULL, NULL, &tag2);
	printf("kldtest_busdma: zero maxsegsz returned %d\n", error);
	bus_dmamap_unload(tag, map);
	bus_dmamem_free(tag, vaddr, map);
	return (bus_dma_tag_destroy(tag));
}

SYSCTL_NODE(_debug, OID_AUTO, kldtest_busdma, CTLFLAG_RW | CTLFLAG_MPSAFE, 0,
    "kldtest_busdma");
SYSCTL_INT(_debug_kldtest_busdma, OID_AUTO, leak, CTLFLAG_RW,
    &kldtest_busdma_leak, 0, "detach leaves the tag, map and memory");
SYSCTL_PROC(_debug_kldtest_busdma, OID_AUTO, nosync,
    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    kldtest_busdma_nosync, "I", "a device read without PREWRITE");
SYSCTL_PROC(_debug_kldtest_busdma, OID_AUTO, nopostread,
    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    kldtest_busdma_nopostread, "I", "a device write without POSTREAD");
SYSCTL_PROC(_debug_kldtest_busdma, OID_AUTO, roundtrip,
    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    kldtest_busdma_roundtrip, "I", "a round trip with its syncs");
SYSCTL_PROC(_debug_kldtest_busdma, OID_AUTO, errors,
    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    kldtest_busdma_errors, "I", "EFBIG through the callback, EBUSY, EINVAL");

static int
kldtest_busdma_probe(device_t dev)
{

	if (pci_get_vendor(dev) != 0x1234 || pci_get_device(dev) != 0x11e8)
		return (ENXIO);
	device_set_desc(dev, "kldtest busdma");
	return (BUS_PROBE_DEFAULT);
}

static int
kldtest_busdma_attach(device_t dev)
{
	struct kldtest_busdma_softc *sc;
	struct kldtest_busdma_load l;
	int error;

	sc = device_get_softc(dev);
	sc->sc_dev = dev;
	sc->sc_rid = PCIR_BAR(0);
	sc->sc_mem = bus_alloc_resource_any(dev, SYS_RES_MEMORY, &sc->sc_rid,
	    RF_ACTIVE);
	if (sc->sc_mem == NULL)
		return (ENXIO);
	error = bus_dma_tag_create(bus_get_dma_tag(dev), 4096, 0,
	    (1 << 28) - 1, BUS_SPACE_MAXADDR, NULL, NULL, 4096, 1, 4096, 0,
	    NULL, NULL, &sc->sc_tag);
	if (error != 0)
		goto fail;
	error = bus_dmamem_alloc(sc->sc_tag, &sc->sc_vaddr,
	    BUS_DMA_WAITOK | BUS_DMA_ZERO, &sc->sc_map);
	if (error != 0)
		goto fail_tag;
	memset(&l, 0, sizeof(l));
	error = bus_dmamap_load(sc->sc_tag, sc->sc_map, sc->sc_vaddr, 4096,
	    kldtest_busdma_cb, &l, BUS_DMA_NOWAIT);
	if (error == 0)
		error = l.error;
	if (error != 0)
		goto fail_mem;
	sc->sc_busaddr = l.addr;
	printf("kldtest_busdma%d: %d segment at %#jx\n", device_get_unit(dev),
	    l.nsegs, (uintmax_t)l.addr);
	kldtest_busdma_sc = sc;
	return (0);
fail_mem:
	bus_dmamem_free(sc->sc_tag, sc->sc_vaddr, sc->sc_map);
fail_tag:
	bus_dma_tag_destroy(sc->sc_tag);
fail:
	bus_release_resource(dev, sc->sc_mem);
	return (error);
}

static int
kldtest_busdma_detach(device_t dev)
{
	struct kldtest_busdma_softc *sc;

	sc = device_get_softc(dev);
	kldtest_busdma_sc = NULL;
	if (!kldtest_busdma_leak) {
		bus_dmamap_unload(sc->sc_tag, sc->sc_map);
		bus_dmamem_free(sc->sc_tag, sc->sc_vaddr, sc->sc_map);
		bus_dma_tag_destroy(sc->sc_tag);
	}
	bus_release_resource(dev, sc->sc_mem);
	return (0);
}

static device_method_t kldtest_busdma_methods[] = {
	DEVMETHOD(device_probe,		kldtest_busdma_probe),
	DEVMETHOD(device_attach,	kldtest_busdma_attach),
	DEVMETHOD(device_detach,	kldtest_busdma_detach),
	DEVMETHOD_END
};

static driver_t kldtest_busdma_driver = {
	"kldtest_busdma",
	kldtest_busdma_methods,
	sizeof(struct kldtest_busdma_softc)
};

DRIVER_MODULE(kldtest_busdma, pci, kldtest_busdma_driver, NULL, NULL);
MODULE_VERSION(kldtest_busdma, 1);
