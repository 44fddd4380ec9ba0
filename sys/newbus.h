/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The FreeBSD newbus, resource and PCI interfaces a hardware driver uses,
 * for bindgen (beside wrapper.h).  Compiled with -D_KERNEL -DKLD_MODULE,
 * exactly as a module's C files; device_if.h, bus_if.h, pci_if.h and
 * dev/pci/pcivar.h come from kbuild's interfaces (generated from a source
 * tree, or the project's declarations in include/).
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/kobj.h>
#include <sys/bus.h>
#include <sys/rman.h>
#include <machine/bus.h>
#include <machine/resource.h>
#include <machine/bus_dma.h>
#include <dev/pci/pcireg.h>
#include <dev/pci/pcivar.h>

#include "../shim/newbus.h"
