// SPDX-License-Identifier: BSD-2-Clause
//! The `printf` command's formatting.

/// printf(1)'s escapes and conversions (`%s`, `%d`, `%x`, `%c`, `%%`).
pub(super) fn printf1(fmt: &str, args: &[String]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            },
            '%' => {
                let mut spec = String::new();
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_digit() || n == '-' || n == '.' {
                        spec.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                let arg = args.next().cloned().unwrap_or_default();
                let width: usize = spec
                    .trim_start_matches('-')
                    .split('.')
                    .next()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0);
                let left = spec.starts_with('-');
                let s = match chars.next() {
                    Some('%') => String::from("%"),
                    Some('s') => arg,
                    Some('d' | 'i') => arg.trim().parse::<i64>().unwrap_or(0).to_string(),
                    Some('u') => arg.trim().parse::<u64>().unwrap_or(0).to_string(),
                    Some('x') => format!("{:x}", arg.trim().parse::<u64>().unwrap_or(0)),
                    Some('c') => arg.chars().next().map(String::from).unwrap_or_default(),
                    Some(o) => format!("%{spec}{o}"),
                    None => String::from("%"),
                };
                if s.len() < width {
                    let pad = " ".repeat(width - s.len());
                    if left {
                        out.push_str(&s);
                        out.push_str(&pad);
                    } else {
                        out.push_str(&pad);
                        out.push_str(&s);
                    }
                } else {
                    out.push_str(&s);
                }
            }
            _ => out.push(c),
        }
    }
    out
}
