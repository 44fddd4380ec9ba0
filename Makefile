# SPDX-License-Identifier: BSD-2-Clause
#
# Works with GNU make and FreeBSD's make: no conditionals and no GNU
# functions here; the logic lives in `cargo xtask` (xtask/) and
# tools/bootstrap.sh.
#
#   make            build every module into build/*.ko
#   make ARCH=arm64 build every module for FreeBSD/arm64 into build/arm64/*.ko
#   make test       run every test (what CI runs)
#   make check-arm64  build for arm64 and run the arm64 artifact checks
#   make demo       the README walkthrough in the test kernel (kldsim)
#   make bench      Rust against C benchmarks (BENCHMARKS.md)
#   make soak       the long reliability runs
#   make load       kldload build/rustecho.ko (FreeBSD, as root)
#   make unload     kldunload rustecho (FreeBSD, as root)
#   make clean

CARGO?=		cargo
ARCH?=		amd64
XTASK=		env ARCH=${ARCH} ${CARGO} xtask
MODULE?=	rustecho
BUILD?=		build

all: deps
	${XTASK} build

deps:
	@sh tools/bootstrap.sh
	${XTASK} deps

check-ko: all
	${XTASK} check-ko

check-arm64: deps
	${CARGO} xtask check-arm64

test: all
	${XTASK} stable-check
	${XTASK} check-allowlist
	${XTASK} module-cycles
	${XTASK} check-ko
	${CARGO} xtask check-arm64
	${CARGO} fmt --all --check
	${XTASK} clippy
	${XTASK} doc
	${XTASK} test

demo: all
	${XTASK} demo

bench: all
	${XTASK} bench

soak: all
	${XTASK} soak

load:
	kldload ./${BUILD}/${MODULE}.ko

unload:
	kldunload ${MODULE}

clean:
	${CARGO} clean
	rm -rf ${BUILD}

.PHONY: all deps check-ko check-arm64 test demo bench soak load unload clean
