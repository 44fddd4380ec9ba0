// SPDX-License-Identifier: BSD-2-Clause
//! Word splitting: `;`, `|`, `>`/`>>`, quotes and comments, as sh(1)
//! splits the lines kldsim accepts.

/// A command line after word splitting.
pub(super) struct Cmd {
    pub(super) words: Vec<String>,
    pub(super) redirect: Option<(String, bool)>,
}

/// The command being split: its words so far, the word being read, and
/// its redirection.
#[derive(Default)]
struct Pending {
    words: Vec<String>,
    redirect: Option<(String, bool)>,
    /// After `>` (`false`) or `>>` (`true`): the next word is the target.
    want_target: Option<bool>,
    cur: String,
    /// Whether `cur` is a word (it may be empty: `''`).
    have: bool,
}

impl Pending {
    /// Ends the word being read, if any: a word, or the redirection's
    /// target.
    fn flush_word(&mut self) {
        if self.have {
            if let Some(app) = self.want_target.take() {
                self.redirect = Some((core::mem::take(&mut self.cur), app));
            } else {
                self.words.push(core::mem::take(&mut self.cur));
            }
            self.have = false;
        }
    }

    /// Ends the command (after [`flush_word`](Self::flush_word)): adds it
    /// to `pipeline` unless it has no words.
    fn end_command(&mut self, pipeline: &mut Vec<Cmd>) {
        if !self.words.is_empty() {
            pipeline.push(Cmd {
                words: core::mem::take(&mut self.words),
                redirect: self.redirect.take(),
            });
        }
    }
}

/// Splits a line into commands (`;`) and pipelines (`|`), honouring quotes.
pub(super) fn split(line: &str) -> Vec<Vec<Cmd>> {
    let mut pipelines = Vec::new();
    let mut pipeline: Vec<Cmd> = Vec::new();
    let mut p = Pending::default();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                p.have = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    p.cur.push(d);
                }
            }
            '"' => {
                p.have = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(&n) = chars.peek()
                                && matches!(n, '"' | '\\' | '$' | '`')
                            {
                                p.cur.push(n);
                                chars.next();
                            } else {
                                p.cur.push('\\');
                            }
                        }
                        _ => p.cur.push(d),
                    }
                }
            }
            '\\' => {
                p.have = true;
                if let Some(n) = chars.next() {
                    p.cur.push(n);
                }
            }
            '#' if !p.have => break,
            ' ' | '\t' => p.flush_word(),
            '>' => {
                p.flush_word();
                let append = chars.peek() == Some(&'>');
                if append {
                    chars.next();
                }
                p.want_target = Some(append);
            }
            ';' | '|' => {
                p.flush_word();
                p.end_command(&mut pipeline);
                if c == ';' && !pipeline.is_empty() {
                    pipelines.push(core::mem::take(&mut pipeline));
                }
            }
            _ => {
                p.have = true;
                p.cur.push(c);
            }
        }
    }
    p.flush_word();
    p.end_command(&mut pipeline);
    if !pipeline.is_empty() {
        pipelines.push(pipeline);
    }
    pipelines
}
