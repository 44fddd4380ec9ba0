// SPDX-License-Identifier: BSD-2-Clause
//! The other modules a check can see: the modules each `.ko` declares and
//! the functions and objects it defines, global or local.
//!
//! FreeBSD's kernel linker resolves a module's undefined symbol in the
//! module, then in the kernel, then in the files of the modules it depends
//! on (`MODULE_DEPEND`; `linker_load_dependencies` in
//! `sys/kern/kern_linker.c`, `elf_obj_lookup` in `sys/kern/link_elf_obj.c`).
//! A dependency's global symbols always resolve; its local ones only while
//! `debug.link_elf_obj_leak_locals` is 1 (the default). With the peers, the
//! check accepts a symbol a dependency exports, and explains one that a
//! module defines but does not export, or that a module it does not depend
//! on defines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::elf::Object;
use crate::error::{Error, Result};
use crate::metadata;
use object::elf;

/// One other `.ko`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    /// The file name, e.g. `rustcount.ko`.
    pub file: String,
    /// The modules it declares (`DECLARE_MODULE`).
    pub modules: Vec<String>,
    /// Functions and objects it defines with global or weak binding.
    pub globals: BTreeSet<String>,
    /// Functions and objects it defines with local binding.
    pub locals: BTreeSet<String>,
}

/// The `.ko` files next to the one being checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peers {
    peers: Vec<Peer>,
}

/// Where a referenced symbol that is not a kernel symbol is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Definer<'a> {
    /// A module this one depends on exports it: it resolves.
    ExportedByDependency,
    /// A module this one depends on defines it, but locally.
    LocalInDependency(&'a Peer),
    /// A module this one does not depend on defines it.
    NotADependency(&'a Peer),
    /// No peer defines it.
    Nowhere,
}

impl Peers {
    /// Reads every file of `files` that is a module; the others are skipped
    /// (their own check reports them).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if a file cannot be read.
    pub fn read(files: &[PathBuf]) -> Result<Self> {
        let mut peers = Vec::new();
        for path in files {
            let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            if let Ok(peer) = Self::peer(path, &data) {
                peers.push(peer);
            }
        }
        Ok(Self { peers })
    }

    fn peer(path: &Path, data: &[u8]) -> Result<Peer> {
        let obj = Object::parse(data)?;
        let mut peer = Peer {
            file: path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            ..Peer::default()
        };
        if let Ok(md) = metadata::parse(&obj) {
            peer.modules = md.modules.into_iter().map(|m| m.name).collect();
        }
        for (index, symbol) in obj.symbols() {
            let kind = symbol.st_type();
            if !matches!(kind, elf::STT_FUNC | elf::STT_OBJECT | elf::STT_NOTYPE)
                || obj.symbol_section(index)?.is_none()
            {
                continue;
            }
            let name = String::from_utf8_lossy(obj.symbol_name_bytes(index)?).into_owned();
            if name.is_empty() {
                continue;
            }
            if symbol.st_bind() == elf::STB_LOCAL {
                peer.locals.insert(name);
            } else {
                peer.globals.insert(name);
            }
        }
        Ok(peer)
    }

    /// Where `symbol`, referenced by a module that depends on the modules
    /// `depends`, is defined among the peers (a peer that is the module
    /// itself, by its file name `own_file`, is not counted).
    #[must_use]
    pub fn find<'a>(&'a self, symbol: &str, depends: &[String], own_file: &str) -> Definer<'a> {
        let others = self.peers.iter().filter(|p| p.file != own_file);
        let mut found = Definer::Nowhere;
        for peer in others {
            let dependency = peer.modules.iter().any(|m| depends.contains(m));
            let global = peer.globals.contains(symbol);
            let local = peer.locals.contains(symbol);
            match (dependency, global, local) {
                (true, true, _) => return Definer::ExportedByDependency,
                (true, false, true) => found = Definer::LocalInDependency(peer),
                (false, true, _) | (false, _, true) if found == Definer::Nowhere => {
                    found = Definer::NotADependency(peer);
                }
                _ => {}
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::{Definer, Peer, Peers};

    fn peer(file: &str, module: &str, globals: &[&str], locals: &[&str]) -> Peer {
        Peer {
            file: file.into(),
            modules: vec![module.into()],
            globals: globals.iter().map(|s| (*s).to_owned()).collect(),
            locals: locals.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn where_a_symbol_is_defined_decides_how_it_resolves() {
        let peers = Peers {
            peers: vec![
                peer("a.ko", "a", &["a_fn"], &["a_local"]),
                peer("b.ko", "b", &["b_fn"], &[]),
                peer("me.ko", "me", &["mine"], &[]),
            ],
        };
        let depends = ["kernel".to_owned(), "a".to_owned()];
        let find = |s| peers.find(s, &depends, "me.ko");
        assert_eq!(find("a_fn"), Definer::ExportedByDependency);
        assert!(matches!(find("a_local"), Definer::LocalInDependency(p) if p.file == "a.ko"));
        assert!(matches!(find("b_fn"), Definer::NotADependency(p) if p.file == "b.ko"));
        // The file itself does not count, nor does a name no one defines.
        assert_eq!(find("mine"), Definer::Nowhere);
        assert_eq!(find("nobody"), Definer::Nowhere);
    }
}
