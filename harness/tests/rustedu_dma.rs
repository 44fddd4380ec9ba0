// SPDX-License-Identifier: BSD-2-Clause
//! `rustedu.ko`'s `/dev/rustedu<unit>`: DMA between user memory and the
//! edu device's 4 KiB buffer through `kern::dma` (`bus_dma(9)`), on the
//! built `.ko`, against the edu model and the test kernel's bus_dma.
//!
//! Round trips (`hello-dma`, 4096 bytes, at offsets), `EFBIG` past the
//! buffer, `EFAULT` with the device's buffer intact, the bus address the
//! device got (below the 28-bit mask: the tag's `lowaddr` is respected,
//! where the test kernel would otherwise place the memory above 4 GiB),
//! each bus_dma step of attach failing in turn, 8 threads of concurrent
//! round trips, `EBUSY` for an unload while the device is open, and the
//! harness's own checks (a device-visible leak, a missing sync) on a
//! driver that breaks the rules.
//!
//! Bus mastering: the driver does not enable it yet
//! (`pci_enable_busmaster(9)` is not in kern); the tests turn it on as
//! firmware may leave it. Without it the model flags every transfer.

use harness::testing::module_path;
use harness::{Errno, Kernel, O_RDWR, SysctlValue};
use std::time::{Duration, Instant};

const DEV: &str = "/dev/rustedu0";
/// The device's buffer.
const SIZE: usize = 4096;
/// The edu's DMA mask.
const MASK: u64 = (1 << 28) - 1;

fn uint(k: &Kernel, name: &str) -> u64 {
    match k.sysctl_get(name).unwrap() {
        SysctlValue::Uint(v) => v,
        other => panic!("{name}: {other:?}"),
    }
}

/// A kernel with an edu device and rustedu loaded (which turns bus
/// mastering on).
fn loaded() -> (Kernel, u8, i32) {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    (k, slot, id)
}

/// The device's buffer, read back through DMA from offset 0.
fn device_bytes(k: &Kernel, fd: i32, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let n = k.pread(fd, &mut buf, 0).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn hello_dma_round_trip() {
    let (k, slot, id) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(k.write(fd, b"hello-dma").unwrap(), 9);
    let mut buf = [0u8; 9];
    assert_eq!(k.pread(fd, &mut buf, 0).unwrap(), 9);
    assert_eq!(&buf, b"hello-dma");
    assert_eq!(uint(&k, "dev.rustedu.0.dma"), 2, "two transfers");
    // The last transfer went device to RAM, from the device's buffer to a
    // bus address below the mask, with the interrupt bit; it is done.
    let [src, dst, count, cmd] = k.pci_edu_dma_registers(slot).unwrap();
    assert_eq!((src, count), (0x40000, 9));
    assert!(dst <= MASK, "bus address {dst:#x} beyond the 28-bit mask");
    assert_eq!(cmd & 0x7, 0x6, "to RAM, interrupt, start bit clear");
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    assert!(k.dma_loads().is_empty(), "unloaded with the driver");
    k.check().unwrap();
}

#[test]
fn the_dma_buffer_lies_below_the_devices_mask() {
    let (k, _, id) = loaded();
    let loads = k.dma_loads();
    assert_eq!(loads.len(), 1, "{loads:?}");
    let l = loads[0];
    assert_eq!(l.len, SIZE as u64);
    assert_eq!(l.lowaddr, MASK, "the tag's lowaddr, page-rounded");
    assert_eq!(l.bus_addr % SIZE as u64, 0, "page-aligned");
    assert!(l.bus_addr + l.len - 1 <= MASK, "{l:?}");
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn four_kib_fit_and_one_more_byte_is_efbig() {
    let (k, _, id) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 7 + 3) as u8).collect();
    assert_eq!(k.write(fd, &data).unwrap(), SIZE);
    assert_eq!(
        device_bytes(&k, fd, SIZE + 100),
        data,
        "a read stops at 4 KiB"
    );
    let big = vec![0x55u8; SIZE + 1];
    assert_eq!(k.pwrite(fd, &big, 0).unwrap_err(), Errno::EFBIG);
    assert_eq!(
        k.pwrite(fd, b"xy", SIZE as i64 - 1).unwrap_err(),
        Errno::EFBIG
    );
    assert_eq!(k.pwrite(fd, b"x", SIZE as i64).unwrap_err(), Errno::EFBIG);
    assert_eq!(device_bytes(&k, fd, SIZE), data, "nothing transferred");
    // A read at the end is the end of the file.
    assert_eq!(k.pread(fd, &mut [0u8; 8], SIZE as i64).unwrap(), 0);
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn offsets_address_the_devices_buffer() {
    let (k, _, id) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(k.pwrite(fd, b"abcdef", 0).unwrap(), 6);
    assert_eq!(k.pwrite(fd, b"XY", 2).unwrap(), 2);
    assert_eq!(k.pwrite(fd, b"end", SIZE as i64 - 3).unwrap(), 3);
    let mut two = [0u8; 2];
    assert_eq!(k.pread(fd, &mut two, 3).unwrap(), 2);
    assert_eq!(&two, b"Ye");
    let all = device_bytes(&k, fd, SIZE);
    assert_eq!(&all[..6], b"abXYef");
    assert_eq!(&all[SIZE - 3..], b"end");
    // Sequential writes move the file offset.
    k.lseek(fd, 0, harness::Whence::Set).unwrap();
    k.write(fd, b"12").unwrap();
    k.write(fd, b"34").unwrap();
    assert_eq!(&device_bytes(&k, fd, 4), b"1234");
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn efault_leaves_the_devices_buffer_intact() {
    let (k, _, id) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.write(fd, b"intact contents").unwrap();
    let transfers = uint(&k, "dev.rustedu.0.dma");
    for at in [0, 1, 10, 99] {
        k.inject_efault(Some(at));
        assert_eq!(
            k.pwrite(fd, &[b'!'; 100], 0).unwrap_err(),
            Errno::EFAULT,
            "fault at {at}"
        );
    }
    assert_eq!(uint(&k, "dev.rustedu.0.dma"), transfers, "no transfer");
    assert_eq!(&device_bytes(&k, fd, 15), b"intact contents");
    // A read into a faulting buffer: EFAULT, the device unchanged.
    k.inject_efault(Some(3));
    assert_eq!(k.pread(fd, &mut [0u8; 15], 0).unwrap_err(), Errno::EFAULT);
    assert_eq!(&device_bytes(&k, fd, 15), b"intact contents");
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn each_bus_dma_step_of_attach_fails_cleanly() {
    type Inject = fn(&Kernel, u64);
    let steps: [(&str, Inject); 3] = [
        ("bus_dma_tag_create", |k, n| k.fail_bus_dma_tag_create(n)),
        ("bus_dmamem_alloc", |k, n| k.fail_bus_dmamem_alloc(n)),
        ("bus_dmamap_load", |k, n| k.fail_bus_dmamap_load(n)),
    ];
    for (what, inject) in steps {
        let k = Kernel::new();
        k.pci_add_edu();
        inject(&k, 1);
        let id = k.kldload(module_path("rustedu")).unwrap();
        let dmesg = k.dmesg();
        assert!(
            dmesg.contains("device_attach: rustedu0 attach returned 12\n"),
            "{what}: {dmesg}"
        );
        let devs = k.pci_devices();
        assert_eq!(devs[0].name, None, "{what}: not attached");
        assert_eq!(devs[0].resources, 0, "{what}: resources released");
        assert!(k.dma_loads().is_empty(), "{what}");
        assert!(k.open(DEV, O_RDWR).is_err(), "{what}: no device node");
        k.check().unwrap_or_else(|e| panic!("{what}: {e}"));
        // The next attach works.
        k.kldunload(id, false).unwrap();
        let id = k.kldload(module_path("rustedu")).unwrap();
        let fd = k.open(DEV, O_RDWR).unwrap();
        k.write(fd, b"after").unwrap();
        assert_eq!(&device_bytes(&k, fd, 5), b"after", "{what}");
        k.close(fd).unwrap();
        k.kldunload(id, false).unwrap();
        k.check().unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

#[test]
fn eight_threads_of_round_trips_stay_consistent() {
    let (k, _, id) = loaded();
    const THREADS: usize = 8;
    const ROUNDS: usize = 40;
    let chunk = SIZE / THREADS;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let k = k.clone();
            s.spawn(move || {
                let fd = k.open(DEV, O_RDWR).unwrap();
                let off = (t * chunk) as i64;
                for r in 0..ROUNDS {
                    let data: Vec<u8> = (0..chunk)
                        .map(|i| (i ^ (t << 4) ^ r).wrapping_mul(31) as u8)
                        .collect();
                    assert_eq!(k.pwrite(fd, &data, off).unwrap(), chunk);
                    let mut back = vec![0u8; chunk];
                    assert_eq!(k.pread(fd, &mut back, off).unwrap(), chunk);
                    let sum =
                        |b: &[u8]| b.iter().fold(0u32, |a, &x| a.rotate_left(5) ^ u32::from(x));
                    assert_eq!(sum(&back), sum(&data), "thread {t} round {r}");
                    assert_eq!(back, data, "thread {t} round {r}");
                }
                k.close(fd).unwrap();
            });
        }
    });
    assert_eq!(uint(&k, "dev.rustedu.0.dma"), (THREADS * ROUNDS * 2) as u64);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn unload_while_open_is_ebusy() {
    let (k, _, id) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.write(fd, b"busy").unwrap();
    assert_eq!(k.kldunload(id, false).unwrap_err(), Errno::EBUSY);
    assert_eq!(k.pci_devices()[0].name.as_deref(), Some("rustedu0"));
    assert_eq!(&device_bytes(&k, fd, 4), b"busy", "still attached");
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    assert!(k.open(DEV, O_RDWR).is_err());
    k.check().unwrap();
}

#[test]
fn without_bus_mastering_the_device_flags_the_transfer() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    // INTx: an MSI would be lost with bus mastering off too.
    assert!(k.pci_set_msi_off(slot, true));
    let id = k.kldload(module_path("rustedu")).unwrap();
    // rustedu turned bus mastering on at attach; turn it off behind its
    // back (PCIR_COMMAND, PCIM_CMD_BUSMASTEREN).
    let cmd = k.pci_config_read(slot, 0x04, 2).unwrap();
    assert_ne!(cmd & 0x4, 0, "rustedu enables bus mastering");
    assert!(k.pci_config_write(slot, 0x04, 2, cmd & !0x4));
    let fd = k.open(DEV, O_RDWR).unwrap();
    // The transfer ends (and interrupts) as in QEMU, but copies nothing.
    k.write(fd, b"x").unwrap();
    let v = k.take_violations();
    assert!(
        v.iter()
            .any(|v| v.message.contains("DMA with bus mastering off")),
        "{v:?}"
    );
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
}

#[test]
fn a_hung_transfer_times_out_and_the_engine_is_left_alone_until_done() {
    let (k, slot, id) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.write(fd, b"before").unwrap();
    assert!(k.pci_edu_hang(slot, true));
    std::thread::scope(|s| {
        let k2 = k.clone();
        let h = s.spawn(move || k2.pwrite(fd, b"late", 0));
        assert!(
            k.wait_for_sleepers("edudma", 1, Duration::from_secs(10)),
            "{}",
            k.sleep_report()
        );
        k.advance_clock(Duration::from_secs(3));
        assert_eq!(h.join().unwrap().unwrap_err(), Errno::EIO);
    });
    assert_eq!(uint(&k, "dev.rustedu.0.dma_timeouts"), 1);
    // Still pending: refused without a register write (the model would
    // report one as a violation) and without touching the buffer.
    assert_eq!(k.pwrite(fd, b"again", 0).unwrap_err(), Errno::EIO);
    assert_eq!(k.pread(fd, &mut [0u8; 4], 0).unwrap_err(), Errno::EIO);
    // Revived, the device finishes the abandoned transfer once polled
    // (the first call still finds it busy); then the driver takes the
    // buffer back and works again.
    assert!(k.pci_edu_hang(slot, false));
    assert_eq!(k.pwrite(fd, b"again", 0).unwrap_err(), Errno::EIO);
    let end = Instant::now() + Duration::from_secs(10);
    while k.pci_edu_dma_registers(slot).unwrap()[3] & 1 != 0 {
        assert!(Instant::now() < end, "the transfer never finished");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(&device_bytes(&k, fd, 6), b"latere");
    k.pwrite(fd, b"after", 0).unwrap();
    assert_eq!(&device_bytes(&k, fd, 5), b"after");
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_signal_ends_the_wait_and_the_transfer_still_completes() {
    let (k, slot, id) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let idle = |k: &Kernel| {
        // The first call after the revival polls the engine, still busy.
        assert_eq!(k.pread(fd, &mut [0u8; 1], 0).unwrap_err(), Errno::EIO);
        let end = Instant::now() + Duration::from_secs(10);
        while k.pci_edu_dma_registers(slot).unwrap()[3] & 1 != 0 {
            assert!(Instant::now() < end, "the transfer never finished");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    assert!(k.pci_edu_hang(slot, true));
    std::thread::scope(|s| {
        let k2 = k.clone();
        let h = s.spawn(move || k2.pwrite(fd, b"signalled", 0));
        assert!(k.wait_for_sleepers("edudma", 1, Duration::from_secs(10)));
        assert!(k.post_signal(h.thread().id(), true));
        // The bytes were moved in before the sleep: dofilewrite turns the
        // EINTR into the count, as FreeBSD's does.
        assert_eq!(h.join().unwrap().unwrap(), 9);
    });
    assert!(k.pci_edu_hang(slot, false));
    idle(&k);
    assert_eq!(&device_bytes(&k, fd, 9), b"signalled");
    // A read interrupted before any byte moved: EINTR (not ERESTART,
    // whose restart would find the engine busy).
    assert!(k.pci_edu_hang(slot, true));
    std::thread::scope(|s| {
        let k2 = k.clone();
        let h = s.spawn(move || k2.pread(fd, &mut [0u8; 9], 0));
        assert!(k.wait_for_sleepers("edudma", 1, Duration::from_secs(10)));
        assert!(k.post_signal(h.thread().id(), true));
        assert_eq!(h.join().unwrap().unwrap_err(), Errno::EINTR);
    });
    assert!(k.pci_edu_hang(slot, false));
    idle(&k);
    assert_eq!(&device_bytes(&k, fd, 9), b"signalled");
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
