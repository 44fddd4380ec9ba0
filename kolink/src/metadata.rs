// SPDX-License-Identifier: BSD-2-Clause
//! Parser for a module's metadata linker set, `set_modmetadata_set`.
//!
//! `DECLARE_MODULE`, `MODULE_DEPEND` and `MODULE_VERSION` (`sys/sys/module.h`)
//! each emit a `struct mod_metadata` and put a pointer to it in the linker set
//! `modmetadata_set`, i.e. the section `set_modmetadata_set`:
//!
//! ```c
//! struct mod_metadata {
//!     int         md_version;   /* MDT_STRUCT_VERSION (1) */
//!     int         md_type;      /* MDT_DEPEND, MDT_MODULE, MDT_VERSION, MDT_PNP_INFO */
//!     const void *md_data;
//!     const char *md_cval;      /* module name */
//! };
//! struct mod_depend  { int md_ver_minimum, md_ver_preferred, md_ver_maximum; };
//! struct mod_version { int mv_version; };
//! ```
//!
//! For `MDT_MODULE`, `md_cval` is the module name (and `md_data` its
//! `moduledata_t`); for `MDT_DEPEND`, `md_cval` names the module depended on
//! and `md_data` points to a `mod_depend`; for `MDT_VERSION`, `md_cval` is
//! the module and `md_data` points to a `mod_version`. Every module carries a
//! dependency on the module `kernel`, with `__FreeBSD_version` as minimum and
//! preferred and the end of the branch as maximum; `linker_load_dependencies`
//! (`sys/kern/kern_linker.c`) refuses to load a file whose dependencies are
//! not met.
//!
//! In an `ET_REL` file the pointers are not yet filled in: each is an
//! `R_X86_64_64` relocation, so a pointer's target is the relocation's
//! symbol value (plus its section) plus the addend.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use object::elf;

use crate::elf::{Object, Reloc};
use crate::error::{Error, Result};
use crate::linker_set::MODMETADATA_SECTION;

/// `md_type` of a dependency on another module.
pub const MDT_DEPEND: i32 = 1;
/// `md_type` of a module declaration.
pub const MDT_MODULE: i32 = 2;
/// `md_type` of a module version.
pub const MDT_VERSION: i32 = 3;
/// `md_type` of a plug-and-play hints record.
pub const MDT_PNP_INFO: i32 = 4;
/// The only `md_version` the kernel understands.
pub const MDT_STRUCT_VERSION: i32 = 1;

/// A module declared by the file (`DECLARE_MODULE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleDecl {
    /// The module name (`md_cval`).
    pub name: String,
}

/// A module version (`MODULE_VERSION`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleVersion {
    /// The module name.
    pub name: String,
    /// `mv_version`.
    pub version: i32,
}

/// A dependency on another module (`MODULE_DEPEND`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleDepend {
    /// The module depended on, e.g. `kernel`.
    pub name: String,
    /// `md_ver_minimum`.
    pub minimum: i32,
    /// `md_ver_preferred`.
    pub preferred: i32,
    /// `md_ver_maximum`.
    pub maximum: i32,
}

/// A metadata record of another type (e.g. `MDT_PNP_INFO`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherMetadata {
    /// `md_type`.
    pub md_type: i32,
    /// `md_cval`, if it is a non-null pointer to a string.
    pub cval: Option<String>,
}

/// The decoded contents of `set_modmetadata_set`, in set order per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleMetadata {
    /// `MDT_MODULE` records.
    pub modules: Vec<ModuleDecl>,
    /// `MDT_VERSION` records.
    pub versions: Vec<ModuleVersion>,
    /// `MDT_DEPEND` records.
    pub depends: Vec<ModuleDepend>,
    /// Records of other types.
    pub other: Vec<OtherMetadata>,
}

impl ModuleMetadata {
    /// The dependency on the module `kernel`, if any.
    #[must_use]
    pub fn kernel_dependency(&self) -> Option<&ModuleDepend> {
        self.depends.iter().find(|d| d.name == "kernel")
    }
}

/// Decodes the module metadata of a `.ko` or module object.
///
/// # Errors
///
/// [`Error::Format`] if `data` is not an x86-64 relocatable object;
/// [`Error::Metadata`] if there is no `set_modmetadata_set` or it cannot be
/// decoded (a pointer without an `R_X86_64_64` relocation, a pointer to an
/// undefined symbol or outside its section, a bad `md_version`).
pub fn parse_metadata(data: &[u8]) -> Result<ModuleMetadata> {
    parse(&Object::parse(data)?)
}

/// Reads a file and decodes its module metadata; see [`parse_metadata`].
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read, otherwise as
/// [`parse_metadata`].
pub fn parse_metadata_file(path: &Path) -> Result<ModuleMetadata> {
    let data = fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_metadata(&data)
}

pub(crate) fn parse(obj: &Object<'_>) -> Result<ModuleMetadata> {
    let set = obj.section_by_name(MODMETADATA_SECTION).ok_or_else(|| {
        Error::Metadata(format!(
            "no {MODMETADATA_SECTION} section: the object declares no module \
             (DECLARE_MODULE) or module dependencies (MODULE_DEPEND)"
        ))
    })?;
    let resolver = Resolver::new(obj)?;
    let size = obj.sh_size(obj.section(set)?);
    if !size.is_multiple_of(8) {
        return Err(Error::Metadata(format!(
            "{MODMETADATA_SECTION} is {size} bytes, not a multiple of 8 (an array of pointers)"
        )));
    }
    let mut md = ModuleMetadata::default();
    let mut offset = 0;
    while offset < size {
        let entry = Place {
            section: set,
            offset,
        };
        let record = resolver.pointer(entry)?.ok_or_else(|| {
            Error::Metadata(format!("{}: null pointer", resolver.describe(entry)))
        })?;
        decode_record(&resolver, record, &mut md)?;
        offset += 8;
    }
    Ok(md)
}

/// Decodes one `struct mod_metadata` at `record`.
fn decode_record(r: &Resolver<'_, '_>, record: Place, md: &mut ModuleMetadata) -> Result<()> {
    let md_version = r.read_i32(record)?;
    if md_version != MDT_STRUCT_VERSION {
        return Err(Error::Metadata(format!(
            "{}: md_version is {md_version}, expected MDT_STRUCT_VERSION ({MDT_STRUCT_VERSION})",
            r.describe(record)
        )));
    }
    let md_type = r.read_i32(record.add(4)?)?;
    let md_data = r.pointer(record.add(8)?)?;
    let cval = match r.pointer(record.add(16)?)? {
        Some(p) => Some(r.read_cstr(p)?),
        None => None,
    };
    let missing = |what: &str| {
        Error::Metadata(format!(
            "{}: md_type {md_type} record has a null {what}",
            r.describe(record)
        ))
    };
    match md_type {
        MDT_MODULE => {
            // linker_file_register_modules (sys/kern/kern_linker.c) passes
            // md_data to module_register as the moduledata_t.
            md_data.ok_or_else(|| missing("md_data"))?;
            md.modules.push(ModuleDecl {
                name: cval.ok_or_else(|| missing("md_cval"))?,
            });
        }
        MDT_VERSION => {
            let data = md_data.ok_or_else(|| missing("md_data"))?;
            md.versions.push(ModuleVersion {
                name: cval.ok_or_else(|| missing("md_cval"))?,
                version: r.read_i32(data)?,
            });
        }
        MDT_DEPEND => {
            let data = md_data.ok_or_else(|| missing("md_data"))?;
            md.depends.push(ModuleDepend {
                name: cval.ok_or_else(|| missing("md_cval"))?,
                minimum: r.read_i32(data)?,
                preferred: r.read_i32(data.add(4)?)?,
                maximum: r.read_i32(data.add(8)?)?,
            });
        }
        _ => md.other.push(OtherMetadata { md_type, cval }),
    }
    Ok(())
}

/// A location in the file: section index and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    section: usize,
    offset: u64,
}

impl Place {
    fn add(self, n: u64) -> Result<Self> {
        Ok(Self {
            section: self.section,
            offset: self
                .offset
                .checked_add(n)
                .ok_or_else(|| Error::Metadata("offset overflow".into()))?,
        })
    }
}

/// Follows relocations to resolve pointers stored in the file.
struct Resolver<'a, 'data> {
    obj: &'a Object<'data>,
    relocs: HashMap<(usize, u64), Reloc>,
}

impl<'a, 'data> Resolver<'a, 'data> {
    fn new(obj: &'a Object<'data>) -> Result<Self> {
        let relocs = obj
            .relocations()?
            .into_iter()
            .map(|r| ((r.target, r.offset), r))
            .collect();
        Ok(Self { obj, relocs })
    }

    /// `section+0xoffset`.
    fn describe(&self, place: Place) -> String {
        format!(
            "{}+{:#x}",
            self.obj.section_name(place.section),
            place.offset
        )
    }

    fn bytes<const N: usize>(&self, place: Place) -> Result<[u8; N]> {
        let data = self.obj.section_data(place.section)?;
        usize::try_from(place.offset)
            .ok()
            .and_then(|start| data.get(start..start.checked_add(N)?))
            .and_then(|b| <[u8; N]>::try_from(b).ok())
            .ok_or_else(|| {
                Error::Metadata(format!(
                    "{}: reading {N} bytes runs past the end of the section's contents",
                    self.describe(place)
                ))
            })
    }

    fn read_i32(&self, place: Place) -> Result<i32> {
        Ok(i32::from_le_bytes(self.bytes::<4>(place)?))
    }

    /// Reads a NUL-terminated string.
    fn read_cstr(&self, place: Place) -> Result<String> {
        let data = self.obj.section_data(place.section)?;
        let tail = usize::try_from(place.offset)
            .ok()
            .and_then(|o| data.get(o..))
            .ok_or_else(|| {
                Error::Metadata(format!(
                    "{}: string outside its section",
                    self.describe(place)
                ))
            })?;
        let len = tail.iter().position(|&b| b == 0).ok_or_else(|| {
            Error::Metadata(format!("{}: unterminated string", self.describe(place)))
        })?;
        let bytes = tail.get(..len).unwrap_or_default();
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    /// Resolves the 8-byte pointer stored at `place`: `None` for NULL.
    fn pointer(&self, place: Place) -> Result<Option<Place>> {
        let Some(reloc) = self.relocs.get(&(place.section, place.offset)) else {
            return if self.bytes::<8>(place)? == [0; 8] {
                Ok(None)
            } else {
                Err(Error::Metadata(format!(
                    "{}: pointer has no relocation",
                    self.describe(place)
                )))
            };
        };
        if reloc.r_type != elf::R_X86_64_64 {
            return Err(Error::Metadata(format!(
                "{}: pointer has relocation {}, expected R_X86_64_64",
                self.describe(place),
                crate::reloc::describe(reloc.r_type)
            )));
        }
        let addend = match reloc.addend {
            Some(a) => a,
            None => i64::from_le_bytes(self.bytes::<8>(place)?),
        };
        let Some(section) = self.obj.symbol_section(reloc.symbol)? else {
            return Err(Error::Metadata(format!(
                "{}: pointer refers to `{}`, which is not defined in this file",
                self.describe(place),
                self.obj.symbol_display_name(reloc.symbol)
            )));
        };
        let value = self.obj.st_value(self.obj.symbol(reloc.symbol)?);
        let offset = value.checked_add_signed(addend).ok_or_else(|| {
            Error::Metadata(format!(
                "{}: pointer target out of range",
                self.describe(place)
            ))
        })?;
        Ok(Some(Place { section, offset }))
    }
}
