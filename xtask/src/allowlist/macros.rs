// SPDX-License-Identifier: BSD-2-Clause
//! The macros defined at the end of a translation unit, read from the
//! preprocessor's output with `-E -dD`: every `#define` and `#undef` in
//! place, after line markers (`# LINE "FILE" FLAGS`) that say which file
//! the following lines come from.

use std::collections::HashMap;

/// A macro definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Macro {
    /// The file that defines it, as the line markers name it.
    pub(crate) file: String,
    /// What it expands to (the parameter list, if any, removed).
    pub(crate) expansion: String,
}

/// The macros still defined at the end of `output`, by name.
pub(crate) fn defined_macros(output: &str) -> HashMap<String, Macro> {
    let mut file = String::new();
    let mut macros = HashMap::new();
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("#define ") {
            let (name, expansion) = split_definition(rest);
            macros.insert(
                name.to_owned(),
                Macro {
                    file: file.clone(),
                    expansion: expansion.trim().to_owned(),
                },
            );
        } else if let Some(name) = line.strip_prefix("#undef ") {
            macros.remove(name.trim());
        } else if let Some(marker) = line_marker(line) {
            marker.clone_into(&mut file);
        }
    }
    macros
}

/// `NAME(PARAMS) BODY` or `NAME BODY`: the name and the body.
fn split_definition(rest: &str) -> (&str, &str) {
    let end = rest
        .find(|c: char| c == '(' || c.is_whitespace())
        .unwrap_or(rest.len());
    let (name, tail) = rest.split_at(end);
    let body = if tail.starts_with('(') {
        tail.find(')').map_or("", |close| &tail[close + 1..])
    } else {
        tail
    };
    (name, body)
}

/// The file of a line marker `# 12 "/path/file.h" 1`.
fn line_marker(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ")?;
    let (number, rest) = rest.split_once(' ')?;
    if !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let rest = rest.strip_prefix('"')?;
    rest.split_once('"').map(|(file, _)| file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_attributed_to_their_file_and_undef_removes_them() {
        let out = "\
# 1 \"tu.c\"
# 1 \"<built-in>\" 1
#define __STDC__ 1
# 1 \"/h/sys/systm.h\" 1
#define copystr(src,dst,len,outlen) ({ size_t __r; __r = strlcpy((dst), (src), (len)); })
#define bzero(buf,len) __builtin_memset((buf), 0, (len))
#define HZ 1000
#define GONE 1
void *memcpy(void *, const void *, unsigned long);
# 12 \"/h/sys/other.h\" 2
#undef GONE
#define EMPTY
";
        let m = defined_macros(out);
        assert_eq!(m["copystr"].file, "/h/sys/systm.h");
        assert!(
            m["copystr"].expansion.starts_with("({ size_t __r;"),
            "{:?}",
            m["copystr"]
        );
        assert_eq!(m["bzero"].expansion, "__builtin_memset((buf), 0, (len))");
        assert_eq!(m["HZ"].expansion, "1000");
        assert_eq!(m["__STDC__"].file, "<built-in>");
        assert!(!m.contains_key("GONE"));
        assert_eq!(m["EMPTY"].file, "/h/sys/other.h");
        assert_eq!(m["EMPTY"].expansion, "");
        assert!(!m.contains_key("memcpy"));
    }
}
