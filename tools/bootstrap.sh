#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# Installs what `make` needs and is missing, so that a fresh machine needs
# exactly the README's two commands.
#
#   Debian:  clang-16, lld-16, libclang-16-dev (bindgen), python3-pip,
#            valgrind (benchmarks), from Debian's packages.
#   FreeBSD: nothing is installed; the script says what to `pkg install`.
#   Both:    the Rust toolchain of rust-toolchain.toml, through rustup.
#
# The FreeBSD 15 kernel headers (ziglang, from PyPI) are installed by
# `cargo xtask deps`, which `make` runs next.

set -eu

have() { command -v "$1" >/dev/null 2>&1; }

case "$(uname -s)" in
Linux)
	missing=""
	have clang-16 || have clang || missing="$missing clang-16"
	have ld.lld-16 || have ld.lld || missing="$missing lld-16"
	ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || \
	    missing="$missing libclang-16-dev"
	have valgrind || missing="$missing valgrind"
	have python3 || missing="$missing python3"
	python3 -m pip --version >/dev/null 2>&1 || missing="$missing python3-pip"
	have rsync || true
	if [ -n "$missing" ]; then
		if ! have apt-get; then
			echo "bootstrap: please install:$missing" >&2
			exit 1
		fi
		sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		echo "bootstrap: installing$missing"
		$sudo apt-get install -y --no-install-recommends $missing || {
			$sudo apt-get update -qq
			$sudo apt-get install -y --no-install-recommends $missing
		}
	fi
	;;
FreeBSD)
	if ! ls /usr/local/llvm*/lib/libclang.so* >/dev/null 2>&1; then
		echo "bootstrap: bindgen needs libclang: pkg install llvm" >&2
		exit 1
	fi
	if [ ! -f "${SYSDIR:-/usr/src/sys}/sys/param.h" ]; then
		echo "bootstrap: no kernel sources in ${SYSDIR:-/usr/src/sys};" \
		    "install them (e.g. from src.txz) or set SYSDIR" >&2
		exit 1
	fi
	;;
esac

if ! have rustup; then
	echo "bootstrap: rustup is needed (https://rustup.rs); it installs" \
	    "the toolchain pinned in rust-toolchain.toml" >&2
	exit 1
fi
# Installs the pinned release with its target and components if missing.
rustup toolchain install >/dev/null
