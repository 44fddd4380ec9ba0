// SPDX-License-Identifier: BSD-2-Clause
//! Writing a run's summary into the README (`make soak`), so that its
//! tables are generated, never pasted.
//!
//! The summary replaces what is between two marker lines:
//!
//! ```text
//! <!-- reliability:begin NAME -->
//! ...
//! <!-- reliability:end NAME -->
//! ```
//!
//! Everything else is kept byte for byte. A region that is missing, or
//! whose markers appear more than once or in the wrong order, is an error,
//! and the file is not written.

use std::path::Path;

/// `text` with region `name` replaced by `body`.
///
/// # Errors
/// A message naming the region if its markers are missing, repeated or out
/// of order.
pub fn replace_region(text: &str, name: &str, body: &str) -> Result<String, String> {
    let begin = format!("<!-- reliability:begin {name} -->\n");
    let end = format!("<!-- reliability:end {name} -->\n");
    let (Some(b), Some(e)) = (text.find(&begin), text.find(&end)) else {
        return Err(format!("no region `{name}` (its begin and end markers)"));
    };
    if text.matches(&begin).count() != 1 || text.matches(&end).count() != 1 || e < b {
        return Err(format!(
            "region `{name}`: one begin marker, then one end marker"
        ));
    }
    let start = b + begin.len();
    let mut out = String::with_capacity(text.len() + body.len());
    out.push_str(&text[..start]);
    out.push_str(body);
    if !body.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&text[e..]);
    Ok(out)
}

/// Replaces region `name` of the file at `path` with `body`.
///
/// # Errors
/// As [`replace_region`], or if the file cannot be read or written.
pub fn write_region(path: &Path, name: &str, body: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let new = replace_region(&text, name, body).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::write(path, new).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::replace_region;

    #[test]
    fn only_the_region_changes() {
        let doc = "a\n<!-- reliability:begin quick -->\nold\n<!-- reliability:end quick -->\nb\n";
        assert_eq!(
            replace_region(doc, "quick", "new\ntable").unwrap(),
            "a\n<!-- reliability:begin quick -->\nnew\ntable\n<!-- reliability:end quick -->\nb\n"
        );
    }

    #[test]
    fn bad_markers_are_refused() {
        let e = replace_region("a\n", "quick", "x").unwrap_err();
        assert!(e.contains("no region `quick`"), "{e}");
        let reversed = "<!-- reliability:end quick -->\n<!-- reliability:begin quick -->\n";
        assert!(replace_region(reversed, "quick", "x").is_err());
        let twice = "<!-- reliability:begin quick -->\n<!-- reliability:end quick -->\n\
                     <!-- reliability:begin quick -->\n<!-- reliability:end quick -->\n";
        assert!(replace_region(twice, "quick", "x").is_err());
    }
}
