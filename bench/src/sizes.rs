// SPDX-License-Identifier: BSD-2-Clause
//! What a `.ko` file holds: its sections by class (`kolink::size_file`)
//! and its functions by size (the symbol table), for the size comparison
//! of each Rust module with its C twin.

use crate::targets::{Pair, ko_path};
use kolink::SizeReport;
use object::{Object as _, ObjectSymbol as _, SymbolKind};

/// One built module.
#[derive(Clone, Debug)]
pub(crate) struct ModuleSize {
    /// `NAME` of `build/NAME.ko`.
    pub(crate) module: &'static str,
    pub(crate) sections: SizeReport,
    /// Its functions (demangled name, bytes), largest first.
    pub(crate) funcs: Vec<(String, u64)>,
}

impl ModuleSize {
    /// Text plus read-only data: the code and constants the module adds to
    /// the kernel.
    pub(crate) fn text_rodata(&self) -> u64 {
        self.sections.text + self.sections.rodata
    }

    /// Bytes of text in named functions.
    pub(crate) fn funcs_total(&self) -> u64 {
        self.funcs.iter().map(|(_, n)| n).sum()
    }
}

/// Measures `build/NAME.ko`.
pub(crate) fn measure(module: &'static str) -> Result<ModuleSize, String> {
    measure_at(module, &ko_path(module))
}

/// Both modules of a pair as built for arm64 (`make ARCH=arm64`:
/// `build/arm64/NAME.ko`, the same flags for Rust and C), `[Rust, C]`; or
/// `None` if they have not been built.
pub(crate) fn measure_arm64_pair(p: &Pair) -> Result<Option<[ModuleSize; 2]>, String> {
    let dir = harness::testing::build_dir().join("arm64");
    let [rust, c] = [p.rust, p.c].map(|m| dir.join(format!("{m}.ko")));
    if !rust.is_file() || !c.is_file() {
        return Ok(None);
    }
    Ok(Some([measure_at(p.rust, &rust)?, measure_at(p.c, &c)?]))
}

/// Measures the `.ko` at `path`, named `module`.
fn measure_at(module: &'static str, path: &std::path::Path) -> Result<ModuleSize, String> {
    let path = path.to_path_buf();
    let sections = kolink::size_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(ModuleSize {
        module,
        sections,
        funcs: functions(&bytes).map_err(|e| format!("{}: {e}", path.display()))?,
    })
}

/// The functions of an ELF object with their sizes, largest first (ties
/// by name).
pub(crate) fn functions(elf: &[u8]) -> Result<Vec<(String, u64)>, String> {
    let file = object::File::parse(elf).map_err(|e| e.to_string())?;
    let mut v: Vec<(String, u64)> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.is_definition() && s.size() > 0)
        .filter_map(|s| {
            let name = s.name().ok()?;
            Some((format!("{:#}", rustc_demangle::demangle(name)), s.size()))
        })
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(v)
}

/// Both modules of a pair, `[Rust, C]`.
pub(crate) fn measure_pair(p: &Pair) -> Result<[ModuleSize; 2], String> {
    Ok([measure(p.rust)?, measure(p.c)?])
}

/// `a / b` of text+rodata.
pub(crate) fn text_rodata_ratio(pair: &[ModuleSize; 2]) -> f64 {
    pair[0].text_rodata() as f64 / pair[1].text_rodata().max(1) as f64
}

/// `a / b` of all allocated sections.
pub(crate) fn total_ratio(pair: &[ModuleSize; 2]) -> f64 {
    pair[0].sections.total() as f64 / pair[1].sections.total().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::SIZE_PAIRS;

    #[test]
    fn functions_of_a_built_module_add_up_to_at_most_its_text() {
        // Needs `make` (build/*.ko), as every harness test does.
        for p in SIZE_PAIRS {
            for m in measure_pair(&p).unwrap() {
                assert!(!m.funcs.is_empty(), "{}", m.module);
                assert!(m.funcs_total() <= m.sections.text, "{}", m.module);
                assert!(
                    m.funcs.windows(2).all(|w| w[0].1 >= w[1].1),
                    "{}: largest first",
                    m.module
                );
            }
        }
        let chello = measure("chello").unwrap();
        assert!(
            chello
                .funcs
                .iter()
                .any(|(n, _)| n == "chello_sysctl_repeat"),
            "{:?}",
            chello.funcs
        );
    }
}
