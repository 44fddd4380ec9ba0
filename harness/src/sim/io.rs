// SPDX-License-Identifier: BSD-2-Clause
//! Data commands: output and its redirection (`echo`, `printf`), `cat`
//! and `dd`.

use super::{Shell, errtext};

impl Shell<'_> {
    /// Writes command output to stdout, a pipe or a redirection target.
    pub(super) fn emit(
        &mut self,
        name: &str,
        data: Vec<u8>,
        redirect: Option<&(String, bool)>,
        capture: bool,
    ) -> (i32, Option<Vec<u8>>) {
        match redirect {
            None if capture => (0, Some(data)),
            None => {
                drop(self.out.write_all(&data));
                (0, None)
            }
            Some((path, append)) => {
                let flags = crate::O_WRONLY | if *append { sys::O_APPEND } else { 0 };
                let fd = match self.k.open(path, flags) {
                    Ok(fd) => fd,
                    Err(e) => {
                        self.warn(&format!("sh: cannot create {path}: {}", errtext(&e)));
                        return (2, None);
                    }
                };
                let r = self.k.write(fd, &data);
                let c = self.k.close(fd);
                match r.and(c) {
                    Ok(()) => (0, None),
                    Err(e) => {
                        self.warn(&format!("{name}: write error: {}", errtext(&e)));
                        (1, None)
                    }
                }
            }
        }
    }

    pub(super) fn cat(&mut self, args: &[String], capture: bool) -> (i32, Option<Vec<u8>>) {
        let mut st = 0;
        let mut captured = Vec::new();
        for path in args {
            let fd = match self.k.open(path, crate::O_RDONLY) {
                Ok(fd) => fd,
                Err(e) => {
                    self.warn(&format!("cat: {path}: {}", errtext(&e)));
                    st = 1;
                    continue;
                }
            };
            let mut buf = vec![0u8; 4096];
            loop {
                match self.k.read(fd, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if capture {
                            captured.extend_from_slice(&buf[..n]);
                        } else {
                            drop(self.out.write_all(&buf[..n]));
                        }
                    }
                    Err(e) => {
                        self.warn(&format!("cat: {path}: {}", errtext(&e)));
                        st = 1;
                        break;
                    }
                }
            }
            drop(self.k.close(fd));
        }
        (st, capture.then_some(captured))
    }

    pub(super) fn dd(
        &mut self,
        args: &[String],
        input: Option<Vec<u8>>,
        capture: bool,
    ) -> (i32, Option<Vec<u8>>) {
        let mut ifile = None;
        let mut ofile = None;
        let mut bs = 512usize;
        let mut count = None;
        for a in args {
            let Some((key, v)) = a.split_once('=') else {
                self.warn(&format!("dd: unknown operand {a}"));
                return (1, None);
            };
            match key {
                "if" => ifile = Some(v.to_owned()),
                "of" => ofile = Some(v.to_owned()),
                "bs" | "ibs" | "obs" => match parse_size(v) {
                    Some(n) if n > 0 => bs = n,
                    _ => {
                        self.warn(&format!("dd: {key}: illegal numeric value"));
                        return (1, None);
                    }
                },
                "count" => count = v.parse::<usize>().ok(),
                _ => {
                    self.warn(&format!("dd: unknown operand {key}"));
                    return (1, None);
                }
            }
        }
        let start = std::time::Instant::now();
        // Input records.
        let mut records: Vec<Vec<u8>> = Vec::new();
        let mut records_in = Records::default();
        match &ifile {
            Some(p) if p.starts_with("/dev/") => {
                let fd = match self.k.open(p, crate::O_RDONLY) {
                    Ok(fd) => fd,
                    Err(e) => {
                        self.warn(&format!("dd: {p}: {}", errtext(&e)));
                        return (1, None);
                    }
                };
                let mut buf = vec![0u8; bs];
                while count.is_none_or(|c| records.len() < c) {
                    match self.k.read(fd, &mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            records_in.count(n, bs);
                            records.push(buf[..n].to_vec());
                        }
                        Err(e) => {
                            self.warn(&format!("dd: {p}: {}", errtext(&e)));
                            drop(self.k.close(fd));
                            return (1, None);
                        }
                    }
                }
                drop(self.k.close(fd));
            }
            other => {
                let data = match other {
                    Some(p) => match std::fs::read(p) {
                        Ok(d) => d,
                        Err(e) => {
                            self.warn(&format!("dd: {p}: {e}"));
                            return (1, None);
                        }
                    },
                    None => input.unwrap_or_default(),
                };
                for c in data.chunks(bs) {
                    if count.is_some_and(|n| records.len() >= n) {
                        break;
                    }
                    records_in.count(c.len(), bs);
                    records.push(c.to_vec());
                }
            }
        }
        let mut records_out = Records::default();
        let mut bytes = 0u64;
        let mut captured = Vec::new();
        match &ofile {
            Some(p) if p.starts_with("/dev/") => {
                let fd = match self.k.open(p, crate::O_WRONLY) {
                    Ok(fd) => fd,
                    Err(e) => {
                        self.warn(&format!("dd: {p}: {}", errtext(&e)));
                        return (1, None);
                    }
                };
                for r in &records {
                    match self.k.write(fd, r) {
                        Ok(n) => {
                            records_out.count(n, bs);
                            bytes += n as u64;
                        }
                        Err(e) => {
                            self.warn(&format!("dd: {p}: {}", errtext(&e)));
                            drop(self.k.close(fd));
                            return (1, None);
                        }
                    }
                }
                drop(self.k.close(fd));
            }
            _ => {
                for r in &records {
                    records_out.count(r.len(), bs);
                    bytes += r.len() as u64;
                    if capture {
                        captured.extend_from_slice(r);
                    } else {
                        drop(self.out.write_all(r));
                    }
                }
            }
        }
        let secs = start.elapsed().as_secs_f64().max(1e-6);
        self.warn(&format!(
            "{records_in} records in\n{records_out} records out\n{bytes} bytes transferred in {secs:.6} secs ({:.0} bytes/sec)",
            bytes as f64 / secs
        ));
        (0, capture.then_some(captured))
    }
}

fn parse_size(s: &str) -> Option<usize> {
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1024),
        'm' | 'M' => (&s[..s.len() - 1], 1024 * 1024),
        'b' => (&s[..s.len() - 1], 512),
        _ => (s, 1),
    };
    num.parse::<usize>().ok().map(|n| n * mult)
}

/// dd(1)'s record count: whole blocks and partial ones (`N+M records`).
#[derive(Default)]
struct Records {
    full: u64,
    partial: u64,
}

impl Records {
    /// Counts a record of `len` bytes, with blocks of `bs`.
    fn count(&mut self, len: usize, bs: usize) {
        if len == bs {
            self.full += 1;
        } else {
            self.partial += 1;
        }
    }
}

impl core::fmt::Display for Records {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}+{}", self.full, self.partial)
    }
}
