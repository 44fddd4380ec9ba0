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
 * The bus kobj interface (BUS_READ_IVAR(9), BUS_ALLOC_RESOURCE(9), ...):
 * what sys/bus.h includes as "bus_if.h".
 *
 * The methods a driver of a device on a bus meets, as sys/kern/bus_if.m
 * defines them: the ivar accessors (pci_get_vendor() is BUS_READ_IVAR of
 * its parent), resources, interrupts, DMA and bus-space tags, and what a
 * driver's method table names with bus_generic_*.  Methods only a bus
 * implementation needs (hints, reset, rman, CPU sets, properties, ...) are
 * left out.  See device_if.h for why these headers exist and how they are
 * checked.
 */

#ifndef _bus_if_h_
#define	_bus_if_h_

#include "kmod_kobj_if.h"

/*
 * Describe a child on the console.  Returns the number of characters
 * printed.  Default: bus_generic_print_child().
 */
extern struct kobjop_desc bus_print_child_desc;
typedef int bus_print_child_t(device_t _dev, device_t _child);

static __inline int
BUS_PRINT_CHILD(device_t _dev, device_t _child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_print_child)(_dev,
	    _child));
}

/* Report a child that no driver took. */
extern struct kobjop_desc bus_probe_nomatch_desc;
typedef void bus_probe_nomatch_t(device_t _dev, device_t _child);

static __inline void
BUS_PROBE_NOMATCH(device_t _dev, device_t _child)
{

	_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_probe_nomatch)(_dev, _child);
}

/*
 * Read instance variable "_index" of "_child" into "*_result".  ENOENT if
 * the bus has no such variable.
 */
extern struct kobjop_desc bus_read_ivar_desc;
typedef int bus_read_ivar_t(device_t _dev, device_t _child, int _index,
    uintptr_t *_result);

static __inline int
BUS_READ_IVAR(device_t _dev, device_t _child, int _index, uintptr_t *_result)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_read_ivar)(_dev,
	    _child, _index, _result));
}

/*
 * Set instance variable "_indx" of "_child".  ENOENT if the bus has no such
 * variable, EINVAL if it is read-only.
 */
extern struct kobjop_desc bus_write_ivar_desc;
typedef int bus_write_ivar_t(device_t _dev, device_t _child, int _indx,
    uintptr_t _value);

static __inline int
BUS_WRITE_IVAR(device_t _dev, device_t _child, int _indx, uintptr_t _value)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_write_ivar)(_dev,
	    _child, _indx, _value));
}

/* A child is being deleted: drop the bus's state for it. */
extern struct kobjop_desc bus_child_deleted_desc;
typedef void bus_child_deleted_t(device_t _dev, device_t _child);

static __inline void
BUS_CHILD_DELETED(device_t _dev, device_t _child)
{

	_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_child_deleted)(_dev, _child);
}

/* A child's driver detached: reclaim what the bus gave it. */
extern struct kobjop_desc bus_child_detached_desc;
typedef void bus_child_detached_t(device_t _dev, device_t _child);

static __inline void
BUS_CHILD_DETACHED(device_t _dev, device_t _child)
{

	_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_child_detached)(_dev,
	    _child);
}

/*
 * A driver was added to the bus's devclass.  Default:
 * bus_generic_driver_added(), which probes the unattached children.
 */
extern struct kobjop_desc bus_driver_added_desc;
typedef void bus_driver_added_t(device_t _dev, driver_t *_driver);

static __inline void
BUS_DRIVER_ADDED(device_t _dev, driver_t *_driver)
{

	_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_driver_added)(_dev, _driver);
}

/* Add a child (name and unit may be NULL and -1).  Default: panic. */
extern struct kobjop_desc bus_add_child_desc;
typedef device_t bus_add_child_t(device_t _dev, u_int _order,
    const char *_name, int _unit);

static __inline device_t
BUS_ADD_CHILD(device_t _dev, u_int _order, const char *_name, int _unit)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_add_child)(_dev,
	    _order, _name, _unit));
}

/*
 * Allocate a resource of "_type" (SYS_RES_*) for "_child"; "*_rid" may be
 * updated.  Returns NULL on failure.  Default: NULL.
 */
extern struct kobjop_desc bus_alloc_resource_desc;
typedef struct resource *bus_alloc_resource_t(device_t _dev, device_t _child,
    int _type, int *_rid, rman_res_t _start, rman_res_t _end,
    rman_res_t _count, u_int _flags);

static __inline struct resource *
BUS_ALLOC_RESOURCE(device_t _dev, device_t _child, int _type, int *_rid,
    rman_res_t _start, rman_res_t _end, rman_res_t _count, u_int _flags)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_alloc_resource)(_dev,
	    _child, _type, _rid, _start, _end, _count, _flags));
}

/* Activate (and, unless RF_UNMAPPED, map) an allocated resource. */
extern struct kobjop_desc bus_activate_resource_desc;
typedef int bus_activate_resource_t(device_t _dev, device_t _child,
    struct resource *_r);

static __inline int
BUS_ACTIVATE_RESOURCE(device_t _dev, device_t _child, struct resource *_r)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev),
	    bus_activate_resource)(_dev, _child, _r));
}

/*
 * Map a range of an active resource into "*_map".  Default:
 * bus_generic_map_resource().
 */
extern struct kobjop_desc bus_map_resource_desc;
typedef int bus_map_resource_t(device_t _dev, device_t _child,
    struct resource *_r, struct resource_map_request *_args,
    struct resource_map *_map);

static __inline int
BUS_MAP_RESOURCE(device_t _dev, device_t _child, struct resource *_r,
    struct resource_map_request *_args, struct resource_map *_map)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_map_resource)(_dev,
	    _child, _r, _args, _map));
}

/* Release a mapping.  Default: bus_generic_unmap_resource(). */
extern struct kobjop_desc bus_unmap_resource_desc;
typedef int bus_unmap_resource_t(device_t _dev, device_t _child,
    struct resource *_r, struct resource_map *_map);

static __inline int
BUS_UNMAP_RESOURCE(device_t _dev, device_t _child, struct resource *_r,
    struct resource_map *_map)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_unmap_resource)(_dev,
	    _child, _r, _map));
}

/* Deactivate an allocated resource. */
extern struct kobjop_desc bus_deactivate_resource_desc;
typedef int bus_deactivate_resource_t(device_t _dev, device_t _child,
    struct resource *_r);

static __inline int
BUS_DEACTIVATE_RESOURCE(device_t _dev, device_t _child, struct resource *_r)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev),
	    bus_deactivate_resource)(_dev, _child, _r));
}

/* Move the bounds of an allocated resource to [_start, _end]. */
extern struct kobjop_desc bus_adjust_resource_desc;
typedef int bus_adjust_resource_t(device_t _dev, device_t _child,
    struct resource *_res, rman_res_t _start, rman_res_t _end);

static __inline int
BUS_ADJUST_RESOURCE(device_t _dev, device_t _child, struct resource *_res,
    rman_res_t _start, rman_res_t _end)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_adjust_resource)(_dev,
	    _child, _res, _start, _end));
}

/* Free a resource BUS_ALLOC_RESOURCE() returned. */
extern struct kobjop_desc bus_release_resource_desc;
typedef int bus_release_resource_t(device_t _dev, device_t _child,
    struct resource *_res);

static __inline int
BUS_RELEASE_RESOURCE(device_t _dev, device_t _child, struct resource *_res)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev),
	    bus_release_resource)(_dev, _child, _res));
}

/*
 * Install a filter and/or an ithread handler on an interrupt resource;
 * "*_cookiep" receives what BUS_TEARDOWN_INTR() takes.
 */
extern struct kobjop_desc bus_setup_intr_desc;
typedef int bus_setup_intr_t(device_t _dev, device_t _child,
    struct resource *_irq, int _flags, driver_filter_t *_filter,
    driver_intr_t *_intr, void *_arg, void **_cookiep);

static __inline int
BUS_SETUP_INTR(device_t _dev, device_t _child, struct resource *_irq,
    int _flags, driver_filter_t *_filter, driver_intr_t *_intr, void *_arg,
    void **_cookiep)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_setup_intr)(_dev,
	    _child, _irq, _flags, _filter, _intr, _arg, _cookiep));
}

/* Remove the handler "_cookie" names. */
extern struct kobjop_desc bus_teardown_intr_desc;
typedef int bus_teardown_intr_t(device_t _dev, device_t _child,
    struct resource *_irq, void *_cookie);

static __inline int
BUS_TEARDOWN_INTR(device_t _dev, device_t _child, struct resource *_irq,
    void *_cookie)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_teardown_intr)(_dev,
	    _child, _irq, _cookie));
}

/* Mark a handler suspended.  Default: bus_generic_suspend_intr(). */
extern struct kobjop_desc bus_suspend_intr_desc;
typedef int bus_suspend_intr_t(device_t _dev, device_t _child,
    struct resource *_irq);

static __inline int
BUS_SUSPEND_INTR(device_t _dev, device_t _child, struct resource *_irq)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_suspend_intr)(_dev,
	    _child, _irq));
}

/* Clear a handler's suspension.  Default: bus_generic_resume_intr(). */
extern struct kobjop_desc bus_resume_intr_desc;
typedef int bus_resume_intr_t(device_t _dev, device_t _child,
    struct resource *_irq);

static __inline int
BUS_RESUME_INTR(device_t _dev, device_t _child, struct resource *_irq)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_resume_intr)(_dev,
	    _child, _irq));
}

/* The child's resource list, or NULL.  Default: NULL. */
extern struct kobjop_desc bus_get_resource_list_desc;
typedef struct resource_list *bus_get_resource_list_t(device_t _dev,
    device_t _child);

static __inline struct resource_list *
BUS_GET_RESOURCE_LIST(device_t _dev, device_t _child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev),
	    bus_get_resource_list)(_dev, _child));
}

/*
 * Is the child's hardware still there: 0 if not, -1 if it is.  Default:
 * bus_generic_child_present().
 */
extern struct kobjop_desc bus_child_present_desc;
typedef int bus_child_present_t(device_t _dev, device_t _child);

static __inline int
BUS_CHILD_PRESENT(device_t _dev, device_t _child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_child_present)(_dev,
	    _child));
}

/*
 * Append the child's plug-and-play "name=value" pairs to "_sb".  Default:
 * bus_generic_child_pnpinfo().
 */
extern struct kobjop_desc bus_child_pnpinfo_desc;
typedef int bus_child_pnpinfo_t(device_t _dev, device_t _child,
    struct sbuf *_sb);

static __inline int
BUS_CHILD_PNPINFO(device_t _dev, device_t _child, struct sbuf *_sb)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_child_pnpinfo)(_dev,
	    _child, _sb));
}

/*
 * Append the child's location "name=value" pairs to "_sb".  Default:
 * bus_generic_child_location().
 */
extern struct kobjop_desc bus_child_location_desc;
typedef int bus_child_location_t(device_t _dev, device_t _child,
    struct sbuf *_sb);

static __inline int
BUS_CHILD_LOCATION(device_t _dev, device_t _child, struct sbuf *_sb)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_child_location)(_dev,
	    _child, _sb));
}

/* Bind an interrupt to a CPU.  Default: bus_generic_bind_intr(). */
extern struct kobjop_desc bus_bind_intr_desc;
typedef int bus_bind_intr_t(device_t _dev, device_t _child,
    struct resource *_irq, int _cpu);

static __inline int
BUS_BIND_INTR(device_t _dev, device_t _child, struct resource *_irq, int _cpu)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_bind_intr)(_dev,
	    _child, _irq, _cpu));
}

/* Name an interrupt handler.  Default: bus_generic_describe_intr(). */
extern struct kobjop_desc bus_describe_intr_desc;
typedef int bus_describe_intr_t(device_t _dev, device_t _child,
    struct resource *_irq, void *_cookie, const char *_descr);

static __inline int
BUS_DESCRIBE_INTR(device_t _dev, device_t _child, struct resource *_irq,
    void *_cookie, const char *_descr)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_describe_intr)(_dev,
	    _child, _irq, _cookie, _descr));
}

/*
 * The parent DMA tag for the child's bus_dma_tag_create(9).  Default:
 * bus_generic_get_dma_tag().
 */
extern struct kobjop_desc bus_get_dma_tag_desc;
typedef bus_dma_tag_t bus_get_dma_tag_t(device_t _dev, device_t _child);

static __inline bus_dma_tag_t
BUS_GET_DMA_TAG(device_t _dev, device_t _child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_get_dma_tag)(_dev,
	    _child));
}

/* The child's bus-space tag.  Default: bus_generic_get_bus_tag(). */
extern struct kobjop_desc bus_get_bus_tag_desc;
typedef bus_space_tag_t bus_get_bus_tag_t(device_t _dev, device_t _child);

static __inline bus_space_tag_t
BUS_GET_BUS_TAG(device_t _dev, device_t _child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_get_bus_tag)(_dev,
	    _child));
}

/* Suspend one child.  Default: bus_generic_suspend_child(). */
extern struct kobjop_desc bus_suspend_child_desc;
typedef int bus_suspend_child_t(device_t _dev, device_t _child);

static __inline int
BUS_SUSPEND_CHILD(device_t _dev, device_t _child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_suspend_child)(_dev,
	    _child));
}

/* Resume one child.  Default: bus_generic_resume_child(). */
extern struct kobjop_desc bus_resume_child_desc;
typedef int bus_resume_child_t(device_t _dev, device_t _child);

static __inline int
BUS_RESUME_CHILD(device_t _dev, device_t _child)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(_dev), bus_resume_child)(_dev,
	    _child));
}

#endif /* !_bus_if_h_ */
