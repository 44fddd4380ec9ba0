// SPDX-License-Identifier: BSD-2-Clause
//! `print_line!`: the format string of `kern::println!`/`kern::print!`,
//! parsed at compile time into calls to `kern::print`'s traits, so a line
//! is formatted without `core::fmt` (whose precompiled code writes x18 on
//! arm64, the kernel's per-CPU pointer).

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitBool, LitStr, Token};

/// What `print_line!` is given: `$crate, newline, "format", args...`.
struct Input {
    /// The path to `kern` (`$crate` of the calling macro).
    krate: TokenTree,
    /// Whether the line ends with a newline (`println!`).
    newline: LitBool,
    /// The format string.
    format: LitStr,
    /// The arguments, in order.
    args: Vec<Arg>,
}

/// One argument: an expression, maybe named (`name = expr`).
struct Arg {
    name: Option<Ident>,
    expr: Expr,
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some(name)
        } else {
            None
        };
        Ok(Self {
            name,
            expr: input.parse()?,
        })
    }
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate = input.parse()?;
        input.parse::<Token![,]>()?;
        let newline = input.parse()?;
        input.parse::<Token![,]>()?;
        let format = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "kern::println!: the first argument must be a string literal",
            )
        })?;
        let mut args = Vec::new();
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
            let rest = Punctuated::<Arg, Token![,]>::parse_terminated(input)?;
            args.extend(rest);
        }
        Ok(Self {
            krate,
            newline,
            format,
            args,
        })
    }
}

/// How a placeholder formats its argument.
#[derive(Clone, Copy)]
enum Spec {
    /// `{}`: `Print`.
    Display,
    /// `{:x}` (false) or `{:#x}` (true): `PrintHex`.
    Hex(bool),
    /// `{:?}`: `PrintDebug`.
    Debug,
}

/// Which argument a placeholder takes.
enum Which {
    /// `{}`: the next positional one.
    Next,
    /// `{0}`.
    Index(usize),
    /// `{name}`: a named argument, or a variable captured by name.
    Name(String),
}

/// A piece of the format string.
enum Piece {
    /// Text, with `{{` and `}}` unescaped.
    Text(String),
    /// A placeholder.
    Hole(Which, Spec),
}

/// The supported placeholders, for error messages.
const SUPPORTED: &str = "kern::println! supports {}, {:x}, {:#x} and {:?} \
     (with an optional argument index or name), and {{ and }}";

/// Splits `format` into text and placeholders.
fn parse_format(format: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '}' => return Err(format!("unmatched `}}` in the format string; {SUPPORTED}")),
            '{' => {
                let mut inside = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => inside.push(c),
                        None => {
                            return Err(format!("unclosed `{{` in the format string; {SUPPORTED}"));
                        }
                    }
                }
                let (arg, spec) = inside.split_once(':').unwrap_or((&inside, ""));
                let spec = match spec {
                    "" => Spec::Display,
                    "x" => Spec::Hex(false),
                    "#x" => Spec::Hex(true),
                    "?" => Spec::Debug,
                    other => {
                        return Err(format!(
                            "unsupported format spec `{{:{other}}}`; {SUPPORTED}"
                        ));
                    }
                };
                let arg = arg.trim();
                let which = if arg.is_empty() {
                    Which::Next
                } else if let Ok(i) = arg.parse() {
                    Which::Index(i)
                } else if arg.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
                    && !arg.starts_with(|c: char| c.is_ascii_digit())
                {
                    Which::Name(arg.to_owned())
                } else {
                    return Err(format!("invalid argument `{arg}`; {SUPPORTED}"));
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(core::mem::take(&mut text)));
                }
                pieces.push(Piece::Hole(which, spec));
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Expands `print_line!($crate, newline, "format", args...)`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input: Input = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    match expand_input(&input) {
        Ok(t) => t,
        Err(e) => e.to_compile_error(),
    }
}

fn expand_input(input: &Input) -> syn::Result<TokenStream> {
    let span = input.format.span();
    let err = |msg: String| syn::Error::new(span, msg);
    let pieces = parse_format(&input.format.value()).map_err(err)?;
    let krate = &input.krate;
    let newline = &input.newline;

    // Positional arguments come before named ones, as for format_args!.
    let positional = input.args.iter().take_while(|a| a.name.is_none()).count();
    if let Some(a) = input
        .args
        .iter()
        .skip(positional)
        .find(|a| a.name.is_none())
    {
        return Err(syn::Error::new_spanned(
            &a.expr,
            "kern::println!: positional arguments cannot follow named arguments",
        ));
    }
    // Each argument expression, then the variables captured by name.
    let mut exprs: Vec<TokenStream> = input
        .args
        .iter()
        .map(|a| {
            let e = &a.expr;
            quote!(&(#e))
        })
        .collect();
    // The buffer, with the macro's own hygiene: no clash with the caller's
    // names.
    let line = Ident::new("line", Span::mixed_site());
    let mut used = vec![false; input.args.len()];
    let mut captured: Vec<String> = Vec::new();
    let mut next = 0usize;
    let mut body = Vec::new();
    for piece in &pieces {
        match piece {
            Piece::Text(t) => body.push(quote!(#line.push_str(#t);)),
            Piece::Hole(which, spec) => {
                let index = match which {
                    Which::Next => {
                        let i = next;
                        next += 1;
                        if i >= positional {
                            return Err(err(format!(
                                "kern::println!: {} placeholders but {positional} positional arguments",
                                pieces
                                    .iter()
                                    .filter(|p| matches!(p, Piece::Hole(Which::Next, _)))
                                    .count()
                            )));
                        }
                        i
                    }
                    Which::Index(i) => {
                        if *i >= positional {
                            return Err(err(format!(
                                "kern::println!: argument {i} does not exist ({positional} positional arguments)"
                            )));
                        }
                        *i
                    }
                    Which::Name(n) => {
                        if let Some(i) = input
                            .args
                            .iter()
                            .position(|a| a.name.as_ref().is_some_and(|id| id == n))
                        {
                            i
                        } else if let Some(c) = captured.iter().position(|c| c == n) {
                            input.args.len() + c
                        } else {
                            captured.push(n.clone());
                            let id = Ident::new(n, span);
                            exprs.push(quote!(&#id));
                            input.args.len() + captured.len() - 1
                        }
                    }
                };
                if let Some(u) = used.get_mut(index) {
                    *u = true;
                }
                let arg = format_ident!("arg{index}", span = Span::mixed_site());
                body.push(match spec {
                    Spec::Display => quote!(#krate::print::Print::print(#arg, #line);),
                    Spec::Hex(alt) => {
                        quote!(#krate::print::PrintHex::print_hex(#arg, #line, #alt);)
                    }
                    Spec::Debug => quote!(#krate::print::PrintDebug::print_debug(#arg, #line);),
                });
            }
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        let unused = input.args.get(i).map(|a| &a.expr);
        return Err(syn::Error::new_spanned(
            unused,
            "kern::println!: argument never used in the format string",
        ));
    }

    if exprs.is_empty() {
        // A constant line: one printf(9) call, no buffer.
        let text: String = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.as_str(),
                Piece::Hole(..) => "",
            })
            .collect();
        return Ok(quote!(#krate::print::print_str(#text, #newline)));
    }
    let names: Vec<Ident> = (0..exprs.len())
        .map(|i| format_ident!("arg{i}", span = Span::mixed_site()))
        .collect();
    Ok(quote! {
        {
            // Each argument evaluated once, in order, borrowed for the line
            // (temporaries live to the end of the block).
            let (#(#names,)*) = (#(#exprs,)*);
            #krate::print::print_with(#newline, &mut |#line: &mut #krate::print::Line| {
                #(#body)*
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{Piece, Spec, Which, parse_format};

    /// The pieces of `format`, as a string: text as is, placeholders as
    /// `<which:spec>`.
    fn shape(format: &str) -> Result<String, String> {
        Ok(parse_format(format)?
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Hole(which, spec) => {
                    let which = match which {
                        Which::Next => String::new(),
                        Which::Index(i) => i.to_string(),
                        Which::Name(n) => n.clone(),
                    };
                    let spec = match spec {
                        Spec::Display => "",
                        Spec::Hex(false) => "x",
                        Spec::Hex(true) => "#x",
                        Spec::Debug => "?",
                    };
                    format!("<{which}:{spec}>")
                }
            })
            .collect())
    }

    #[test]
    fn placeholders_and_escapes() {
        assert_eq!(shape("a {} b").unwrap(), "a <:> b");
        assert_eq!(
            shape("{:x}{:#x}{:?}{0}{name:#x}").unwrap(),
            "<:x><:#x><:?><0:><name:#x>"
        );
        assert_eq!(shape("{{}} {{{}}}").unwrap(), "{} {<:>}");
        assert_eq!(shape("").unwrap(), "");
    }

    #[test]
    fn unsupported_formats_are_errors() {
        for bad in [
            "{:>8}", "{:X}", "{:08x}", "{:.3}", "{", "}", "a { b", "{a-b}", "{0x}",
        ] {
            let err = shape(bad).unwrap_err();
            assert!(err.contains("kern::println! supports"), "{bad}: {err}");
        }
    }
}
