// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask`: the project's build driver (work in progress).
use std::path::PathBuf;

fn main() {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = kbuild::headers::default_cache_dir(&workspace);
    match kbuild::ziglang::install(&root, "python3") {
        Ok(downloaded) => println!("headers in {} (downloaded: {downloaded})", root.display()),
        Err(e) => {
            eprintln!("xtask: {e}");
            std::process::exit(1);
        }
    }
}
