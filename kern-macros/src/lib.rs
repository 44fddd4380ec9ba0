// SPDX-License-Identifier: BSD-2-Clause
//! Procedural macros of `kern`, re-exported by it: use them as
//! `#[kern::vtable]` and `kern::println!`.

mod print;

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{ImplItem, ItemImpl, parse_macro_input};

/// The optional methods of `kern::cdev::CharacterDevice` and the constant
/// that installs each in the `cdevsw` (`poll` and `kqfilter` share one).
const CDEV_METHODS: &[(&str, &str)] = &[
    ("read", "HAS_READ"),
    ("write", "HAS_WRITE"),
    ("ioctl", "HAS_IOCTL"),
    ("close", "HAS_CLOSE"),
    ("purge", "HAS_PURGE"),
    ("poll", "HAS_POLL"),
    ("kqfilter", "HAS_POLL"),
];

/// On an `impl CharacterDevice for T` block: installs exactly the methods
/// the block implements. Each optional method defined in the block sets
/// its `HAS_*` constant; the block may not set one by hand, and the trait
/// refuses an impl without this attribute, so a method cannot be
/// implemented and then left uninstalled (a run-time `ENODEV`).
///
/// A block without `type Open` gets `type Open = ()` (no per-open state),
/// and a block without `type Open` and `open` also gets an `open` that
/// accepts every open: a device without per-open state writes neither.
///
/// ```ignore
/// #[kern::vtable]
/// impl CharacterDevice for Greeter {
///     const NAME: &'static CStr = c"greeter";
///     // `type Open = ()` and an `open` accepting every open are filled in.
///     fn read(&self, _: &File<'_, Self>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
///         uio.move_frombuf(b"hello\n", cx).map(drop)
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn vtable(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return error(
            proc_macro2::TokenStream::from(attr),
            "#[vtable] takes no arguments",
        );
    }
    let mut block = parse_macro_input!(item as ItemImpl);
    let is_cdev = block
        .trait_
        .as_ref()
        .and_then(|(_, path, _)| path.segments.last())
        .is_some_and(|s| s.ident == "CharacterDevice");
    if !is_cdev {
        return error(
            quote!(#block),
            "#[vtable] goes on an `impl CharacterDevice for T` block",
        );
    }
    let mut consts: Vec<&str> = Vec::new();
    let mut has_open_type = false;
    let mut has_open_fn = false;
    for item in &block.items {
        match item {
            ImplItem::Type(t) if t.ident == "Open" => has_open_type = true,
            ImplItem::Fn(f) if f.sig.ident == "open" => has_open_fn = true,
            ImplItem::Const(c) if c.ident.to_string().starts_with("HAS_") => {
                return error(
                    quote!(#c),
                    "#[vtable] sets the HAS_* constants from the methods implemented; remove this one",
                );
            }
            ImplItem::Fn(f) => {
                let name = f.sig.ident.to_string();
                if let Some((_, konst)) = CDEV_METHODS.iter().find(|(m, _)| *m == name)
                    && !consts.contains(konst)
                {
                    consts.push(konst);
                }
            }
            _ => {}
        }
    }
    for konst in consts {
        let ident = format_ident!("{konst}");
        block
            .items
            .push(syn::parse_quote!(const #ident: bool = true;));
    }
    // No per-open state: `type Open = ()`, and an `open` that accepts every
    // open when the block has neither (kern then allocates nothing per
    // open). A block with its own `type Open` writes its own `open`.
    if !has_open_type {
        block.items.push(syn::parse_quote!(
            type Open = ();
        ));
        if !has_open_fn {
            block.items.push(syn::parse_quote!(
                fn open(
                    &self,
                    _flags: ::kern::cdev::OpenFlags,
                    _cx: &mut ::kern::context::Sleepable,
                ) -> ::kern::error::Result<()> {
                    ::core::result::Result::Ok(())
                }
            ));
        }
    }
    block.items.push(syn::parse_quote!(
        const USE_VTABLE_ATTR: () = ();
    ));
    quote!(#block).into()
}

/// The body of `kern::println!` and `kern::print!`:
/// `print_line!($crate, newline, "format", args...)`. Parses the format
/// string at compile time and expands to calls of `kern::print`'s traits,
/// without `core::fmt`. Not an API: use the `kern` macros.
#[proc_macro]
pub fn print_line(input: TokenStream) -> TokenStream {
    print::expand(input.into()).into()
}

fn error(tokens: proc_macro2::TokenStream, msg: &str) -> TokenStream {
    syn::Error::new_spanned(tokens, msg)
        .to_compile_error()
        .into()
}
