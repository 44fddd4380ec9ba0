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
 * A newbus driver written as FreeBSD's own are, for the harness's pci0:
 * DRIVER_MODULE, a method table, a softc of its own size, pci_get_vendor(9)
 * through the inline kobj dispatch, bus_alloc_resource_any(9) and
 * bus_read_4(9), bus_write_4(9) and bus_read_8(9) (the DMA source) on BAR 0 of QEMU's edu device,
 * and its interrupt: a filter that acknowledges the interrupt status and
 * schedules the ithread handler, which counts (debug.kldtest_newbus.intrs).
 *
 * debug.kldtest_newbus.veto makes detach refuse (EBUSY), which vetoes the
 * unload; debug.kldtest_newbus.leak makes detach forget to release BAR 0;
 * writing debug.kldtest_newbus.peek1 makes a 1-byte read of the id
 * register, a width edu does not decode; debug.kldtest_newbus.intr_leak
 * makes detach forget to tear its interrupt handler down;
 * debug.kldtest_newbus.slow makes the ithread handler busy-wait (without
 * sleeping) once entered (debug.kldtest_newbus.entered), and detach
 * reports whether bus_teardown_intr returned before or after it was done;
 * writing debug.kldtest_newbus.free_arg sets up a second handler whose
 * argument is malloc(9)ed, and frees it without tearing the handler down;
 * debug.kldtest_newbus.filter_lock makes the filter take a sleep mutex,
 * which a filter, in a critical section, must not.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/bus.h>
#include <sys/rman.h>
#include <sys/sysctl.h>
#include <machine/bus.h>
#include <machine/resource.h>
#include <dev/pci/pcireg.h>
#include <dev/pci/pcivar.h>

struct kldtest_newbus_softc {
	device_t		 sc_dev;
	struct resource		*sc_mem;
	int			 sc_rid;
	struct resource		*sc_irq;
	int			 sc_irq_rid;
	void			*sc_cookie;
	uint32_t		 sc_id;
	uint64_t		 sc_id8;
};

static int kldtest_newbus_veto;
static int kldtest_newbus_leak;
static int kldtest_newbus_intr_leak;
static int kldtest_newbus_msi_leak;
static u_int kldtest_newbus_intrs;
static int kldtest_newbus_slow;
static int kldtest_newbus_filter_lock;
static struct mtx kldtest_newbus_mtx;
static volatile int kldtest_newbus_entered;
static volatile int kldtest_newbus_exited;
static struct resource *kldtest_newbus_mem;
static struct kldtest_newbus_softc *kldtest_newbus_sc;

static int
kldtest_newbus_peek1(SYSCTL_HANDLER_ARGS)
{
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (kldtest_newbus_mem == NULL)
		return (ENXIO);
	/* Wrong: edu decodes 4- and 8-byte accesses only. */
	v = bus_read_1(kldtest_newbus_mem, 0);
	printf("kldtest_newbus: peek1 %d\n", v);
	return (0);
}

static int	kldtest_newbus_filter(void *arg);
static void	kldtest_newbus_intr(void *arg);

/* Wrong: the handler's argument is freed while the handler is set up. */
static int
kldtest_newbus_free_arg(SYSCTL_HANDLER_ARGS)
{
	void *arg, *cookie;
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (kldtest_newbus_sc == NULL)
		return (ENXIO);
	arg = malloc(sizeof(struct kldtest_newbus_softc), M_TEMP, M_WAITOK);
	memcpy(arg, kldtest_newbus_sc, sizeof(struct kldtest_newbus_softc));
	error = bus_setup_intr(kldtest_newbus_sc->sc_dev,
	    kldtest_newbus_sc->sc_irq, INTR_TYPE_MISC | INTR_MPSAFE,
	    kldtest_newbus_filter, kldtest_newbus_intr, arg, &cookie);
	if (error != 0) {
		free(arg, M_TEMP);
		return (error);
	}
	free(arg, M_TEMP);
	return (0);
}

/* pci_alloc_msi(9) while the legacy interrupt (rid 0) is allocated. */
static int
kldtest_newbus_alloc_msi(SYSCTL_HANDLER_ARGS)
{
	int count, error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (kldtest_newbus_sc == NULL)
		return (ENXIO);
	count = 1;
	error = pci_alloc_msi(kldtest_newbus_sc->sc_dev, &count);
	if (error == 0)
		pci_release_msi(kldtest_newbus_sc->sc_dev);
	return (error);
}

/* Wrong: a 4-byte configuration read at a 2-byte aligned offset. */
static int
kldtest_newbus_cfg_misaligned(SYSCTL_HANDLER_ARGS)
{
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (kldtest_newbus_sc == NULL)
		return (ENXIO);
	printf("kldtest_newbus: cfg %#x\n",
	    pci_read_config(kldtest_newbus_sc->sc_dev, PCIR_DEVICE, 4));
	return (0);
}

SYSCTL_NODE(_debug, OID_AUTO, kldtest_newbus, CTLFLAG_RW | CTLFLAG_MPSAFE, 0,
    "kldtest_newbus");
SYSCTL_INT(_debug_kldtest_newbus, OID_AUTO, veto, CTLFLAG_RW,
    &kldtest_newbus_veto, 0, "detach returns EBUSY");
SYSCTL_INT(_debug_kldtest_newbus, OID_AUTO, leak, CTLFLAG_RW,
    &kldtest_newbus_leak, 0, "detach does not release BAR 0");
SYSCTL_INT(_debug_kldtest_newbus, OID_AUTO, intr_leak, CTLFLAG_RW,
    &kldtest_newbus_intr_leak, 0, "detach does not tear the interrupt down");
SYSCTL_INT(_debug_kldtest_newbus, OID_AUTO, msi_leak, CTLFLAG_RW,
    &kldtest_newbus_msi_leak, 0,
    "detach allocates an MSI message and does not release it");
SYSCTL_PROC(_debug_kldtest_newbus, OID_AUTO, alloc_msi,
    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    kldtest_newbus_alloc_msi, "I", "pci_alloc_msi with INTx allocated");
SYSCTL_PROC(_debug_kldtest_newbus, OID_AUTO, cfg_misaligned,
    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    kldtest_newbus_cfg_misaligned, "I", "a misaligned configuration read");
SYSCTL_UINT(_debug_kldtest_newbus, OID_AUTO, intrs, CTLFLAG_RD,
    &kldtest_newbus_intrs, 0, "interrupts handled by the ithread handler");
SYSCTL_INT(_debug_kldtest_newbus, OID_AUTO, filter_lock, CTLFLAG_RW,
    &kldtest_newbus_filter_lock, 0, "the filter takes a sleep mutex");
SYSCTL_INT(_debug_kldtest_newbus, OID_AUTO, slow, CTLFLAG_RW,
    &kldtest_newbus_slow, 0, "the ithread handler busy-waits");
SYSCTL_INT(_debug_kldtest_newbus, OID_AUTO, entered, CTLFLAG_RD,
    __DEVOLATILE(int *, &kldtest_newbus_entered), 0,
    "the ithread handler was entered");
SYSCTL_PROC(_debug_kldtest_newbus, OID_AUTO, free_arg,
    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    kldtest_newbus_free_arg, "I", "free a handler's argument, handler set up");
SYSCTL_PROC(_debug_kldtest_newbus, OID_AUTO, peek1,
    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    kldtest_newbus_peek1, "I", "read one byte of BAR 0");

/* The filter: acknowledge what is raised, leave the counting to the ithread. */
static int
kldtest_newbus_filter(void *arg)
{
	struct kldtest_newbus_softc *sc;
	uint32_t status;

	sc = arg;
	if (kldtest_newbus_filter_lock) {
		/* Wrong: a sleep mutex in a filter. */
		mtx_lock(&kldtest_newbus_mtx);
		mtx_unlock(&kldtest_newbus_mtx);
	}
	status = bus_read_4(sc->sc_mem, 0x24);
	if (status == 0)
		return (FILTER_STRAY);
	bus_write_4(sc->sc_mem, 0x64, status);
	return (FILTER_SCHEDULE_THREAD);
}

/* The ithread handler; the one interrupt thread runs it, never twice at once. */
static void
kldtest_newbus_intr(void *arg __unused)
{
	volatile u_long spin;

	kldtest_newbus_entered = 1;
	if (kldtest_newbus_slow)
		for (spin = 0; spin < 200000000UL; spin++)
			continue;
	kldtest_newbus_intrs++;
	kldtest_newbus_exited = 1;
}

static int
kldtest_newbus_probe(device_t dev)
{
	char desc[32];

	if (pci_get_vendor(dev) != 0x1234 || pci_get_device(dev) != 0x11e8)
		return (ENXIO);
	printf("kldtest_newbus: probe %04x:%04x subsystem %04x:%04x rev %#x "
	    "class %#x slot %d\n", pci_get_vendor(dev), pci_get_device(dev),
	    pci_get_subvendor(dev), pci_get_subdevice(dev), pci_get_revid(dev),
	    pci_get_class(dev), pci_get_slot(dev));
	/* A description built on the stack: the kernel keeps a copy. */
	snprintf(desc, sizeof(desc), "kldtest newbus %d", 2 * 21);
	device_set_desc_copy(dev, desc);
	return (BUS_PROBE_DEFAULT);
}

static int
kldtest_newbus_attach(device_t dev)
{
	struct kldtest_newbus_softc *sc;
	int error;

	sc = device_get_softc(dev);
	sc->sc_dev = dev;
	mtx_init(&kldtest_newbus_mtx, "kldtest_newbus", NULL, MTX_DEF);
	sc->sc_rid = PCIR_BAR(0);
	sc->sc_mem = bus_alloc_resource_any(dev, SYS_RES_MEMORY, &sc->sc_rid,
	    RF_ACTIVE);
	if (sc->sc_mem == NULL) {
		mtx_destroy(&kldtest_newbus_mtx);
		return (ENXIO);
	}
	sc->sc_irq_rid = 0;
	sc->sc_irq = bus_alloc_resource_any(dev, SYS_RES_IRQ, &sc->sc_irq_rid,
	    RF_ACTIVE | RF_SHAREABLE);
	if (sc->sc_irq == NULL) {
		mtx_destroy(&kldtest_newbus_mtx);
		bus_release_resource(dev, sc->sc_mem);
		return (ENXIO);
	}
	error = bus_setup_intr(dev, sc->sc_irq, INTR_TYPE_MISC | INTR_MPSAFE,
	    kldtest_newbus_filter, kldtest_newbus_intr, sc, &sc->sc_cookie);
	if (error != 0) {
		mtx_destroy(&kldtest_newbus_mtx);
		bus_release_resource(dev, sc->sc_irq);
		bus_release_resource(dev, sc->sc_mem);
		return (error);
	}
	sc->sc_id = bus_read_4(sc->sc_mem, 0);
	sc->sc_id8 = bus_read_8(sc->sc_mem, 0x80);
	bus_write_4(sc->sc_mem, 4, 0x12345678);
	printf("kldtest_newbus%d: id %#x dma_src %#jx liveness %#x size %ju\n",
	    device_get_unit(dev), sc->sc_id, (uintmax_t)sc->sc_id8,
	    bus_read_4(sc->sc_mem, 4), (uintmax_t)rman_get_size(sc->sc_mem));
	kldtest_newbus_mem = sc->sc_mem;
	kldtest_newbus_sc = sc;
	return (0);
}

static int
kldtest_newbus_detach(device_t dev)
{
	struct kldtest_newbus_softc *sc;

	sc = device_get_softc(dev);
	if (kldtest_newbus_veto)
		return (EBUSY);
	if (!kldtest_newbus_intr_leak) {
		bus_teardown_intr(dev, sc->sc_irq, sc->sc_cookie);
		if (kldtest_newbus_entered)
			printf("kldtest_newbus%d: teardown %s the handler "
			    "returned\n", device_get_unit(dev),
			    kldtest_newbus_exited ? "after" : "before");
		bus_release_resource(dev, sc->sc_irq);
		if (kldtest_newbus_msi_leak) {
			int count;

			/* Wrong: never released with pci_release_msi. */
			count = 1;
			if (pci_alloc_msi(dev, &count) == 0)
				printf("kldtest_newbus%d: %d MSI allocated\n",
				    device_get_unit(dev), count);
		}
	}
	kldtest_newbus_mem = NULL;
	kldtest_newbus_sc = NULL;
	mtx_destroy(&kldtest_newbus_mtx);
	if (!kldtest_newbus_leak)
		bus_release_resource(dev, sc->sc_mem);
	return (0);
}

static device_method_t kldtest_newbus_methods[] = {
	DEVMETHOD(device_probe,		kldtest_newbus_probe),
	DEVMETHOD(device_attach,	kldtest_newbus_attach),
	DEVMETHOD(device_detach,	kldtest_newbus_detach),
	DEVMETHOD_END
};

static driver_t kldtest_newbus_driver = {
	"kldtest_newbus",
	kldtest_newbus_methods,
	sizeof(struct kldtest_newbus_softc)
};

DRIVER_MODULE(kldtest_newbus, pci, kldtest_newbus_driver, NULL, NULL);
MODULE_VERSION(kldtest_newbus, 1);
