// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask module-cycles`: no import cycle between sibling modules.
//!
//! A crate's modules form a tree. A child may use its parent (as
//! `harness/src/kpi/lock/mtx.rs` uses `kpi/lock.rs`) and a parent its
//! children, but two siblings must not use each other, directly or through
//! other siblings: when they do, neither can be read, tested or replaced
//! without the other, and the layering the crate documents is not the one
//! it has.
//!
//! The check reads every file of the crate with `syn`, follows `mod`
//! declarations (`x.rs`, `x/mod.rs`, `#[path]`, inline modules) and
//! resolves every path of two or more segments and every `use` — also the
//! paths inside macro invocations, token by token — to the module it
//! names, through `crate::`, `super::`, `self::`, child modules and the
//! names and globs a module imports (so a re-export in the crate root
//! does not hide where an item lives). A reference from module `a::b::c`
//! to module `a::x::y` is an edge between the siblings `b` and `x` under
//! `a`; every set of siblings is then searched for cycles (strongly
//! connected components), and each is reported with the line behind each
//! edge. Doc comments and string literals are not code and do not count.
//!
//! `--graph` prints, for each module, the modules it refers to.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// The crates checked when no folder is given.
pub(crate) const DEFAULT_CRATES: &[&str] = &["harness/src", "kolink/src"];

/// `cargo xtask module-cycles [--graph] [SRC_DIR...]`.
pub(crate) fn run(root: &Path, args: &[String]) -> crate::Result {
    let graph = args.iter().any(|a| a == "--graph");
    let dirs: Vec<PathBuf> = args
        .iter()
        .filter(|a| *a != "--graph")
        .map(|a| root.join(a))
        .collect();
    let dirs = if dirs.is_empty() {
        DEFAULT_CRATES.iter().map(|d| root.join(d)).collect()
    } else {
        dirs
    };
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for dir in &dirs {
        let shown = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
        for crate_root in crate_roots(dir)? {
            let tree = Tree::load(&crate_root, &Disk)?;
            if graph {
                print!("{}", tree.graph(&shown_path(root, &crate_root)));
            }
            let cycles = tree.cycles();
            summary.push(format!(
                "{} ({} modules)",
                shown_path(root, &crate_root),
                tree.modules.len()
            ));
            for c in cycles {
                failures.push(format!("{shown}: {}", c.describe(root)));
            }
        }
    }
    if failures.is_empty() {
        println!(
            "module-cycles: no cycle between sibling modules in {}",
            summary.join(", ")
        );
        Ok(())
    } else {
        Err(format!(
            "import cycles between sibling modules:\n{}",
            failures.join("\n")
        ))
    }
}

fn shown_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// The crate roots of a `src/` folder: `lib.rs`, `main.rs`, `bin/*.rs`.
fn crate_roots(dir: &Path) -> crate::Result<Vec<PathBuf>> {
    let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.is_file())
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir.join("bin")) {
        let mut bins: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        bins.sort();
        roots.extend(bins);
    }
    if roots.is_empty() {
        return Err(format!("{}: no lib.rs, main.rs or bin/*.rs", dir.display()));
    }
    Ok(roots)
}

/// Where source text comes from: the disk, or a table in the tests.
trait Sources {
    fn read(&self, path: &Path) -> Option<String>;
}

struct Disk;

impl Sources for Disk {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }
}

/// A path written in a module, with where it was written.
#[derive(Clone, Debug)]
struct Ref {
    segments: Vec<String>,
    line: usize,
}

/// One module of the tree.
#[derive(Debug, Default)]
struct Module {
    /// Names from the crate root (`["kpi", "lock"]`; the root is empty).
    path: Vec<String>,
    parent: Option<usize>,
    /// The file its items are written in.
    file: PathBuf,
    children: BTreeMap<String, usize>,
    /// Names a `use` brings in, with the path it names.
    imports: BTreeMap<String, Vec<String>>,
    /// Paths of `use ...::*`.
    globs: Vec<Vec<String>>,
    /// Every `use` and every path of two or more segments.
    refs: Vec<Ref>,
}

/// The module tree of one crate.
struct Tree {
    modules: Vec<Module>,
}

/// What a name resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// A module, which a longer path may go into.
    Module(usize),
    /// An item defined in (or imported into) a module: the path ends
    /// there.
    Item(usize),
}

/// Deep enough for any chain of re-exports; stops a `use` loop.
const MAX_DEPTH: u32 = 32;

impl Tree {
    /// Reads the crate whose root file is `root`.
    fn load(root: &Path, src: &dyn Sources) -> crate::Result<Tree> {
        let mut tree = Tree {
            modules: vec![Module {
                file: root.to_owned(),
                ..Module::default()
            }],
        };
        let dir = root.parent().unwrap_or(Path::new(".")).to_owned();
        tree.load_file(0, root, &dir, src)?;
        Ok(tree)
    }

    /// Parses `file` as the body of module `m`, whose file-backed children
    /// are looked for in `child_dir`.
    fn load_file(
        &mut self,
        m: usize,
        file: &Path,
        child_dir: &Path,
        src: &dyn Sources,
    ) -> crate::Result {
        let text = src
            .read(file)
            .ok_or_else(|| format!("{}: cannot read", file.display()))?;
        let parsed = syn::parse_file(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        self.load_items(m, &parsed.items, file, child_dir, src)
    }

    fn load_items(
        &mut self,
        m: usize,
        items: &[syn::Item],
        file: &Path,
        child_dir: &Path,
        src: &dyn Sources,
    ) -> crate::Result {
        let mut collect = Collector::default();
        for item in items {
            collect.visit_item(item);
        }
        let module = &mut self.modules[m];
        module.refs.extend(collect.refs);
        for (name, path) in collect.imports {
            module.imports.insert(name, path);
        }
        module.globs.extend(collect.globs);
        for item in items {
            let syn::Item::Mod(decl) = item else {
                continue;
            };
            let name = decl.ident.to_string();
            let mut path = self.modules[m].path.clone();
            path.push(name.clone());
            let child = self.modules.len();
            self.modules.push(Module {
                path,
                parent: Some(m),
                file: file.to_owned(),
                ..Module::default()
            });
            self.modules[m].children.insert(name.clone(), child);
            let explicit = path_attr(&decl.attrs);
            match &decl.content {
                Some((_, inner)) => {
                    let dir = match explicit {
                        Some(p) => child_dir.join(p),
                        None => child_dir.join(&name),
                    };
                    self.load_items(child, inner, file, &dir, src)?;
                }
                None => {
                    let (child_file, grandchildren) = match explicit {
                        // `#[path]` is relative to the declaring file's
                        // folder; the file is then a non-mod-rs file
                        // unless it is called mod.rs.
                        Some(p) => {
                            let f = file.parent().unwrap_or(Path::new(".")).join(p);
                            let dir = children_dir(&f);
                            (f, dir)
                        }
                        None => {
                            let flat = child_dir.join(format!("{name}.rs"));
                            if src.read(&flat).is_some() {
                                (flat, child_dir.join(&name))
                            } else {
                                let nested = child_dir.join(&name).join("mod.rs");
                                (nested, child_dir.join(&name))
                            }
                        }
                    };
                    self.modules[child].file.clone_from(&child_file);
                    self.load_file(child, &child_file, &grandchildren, src)?;
                }
            }
        }
        Ok(())
    }

    /// What `name` means inside module `m`.
    fn lookup(&self, m: usize, name: &str, depth: u32) -> Option<Target> {
        if depth > MAX_DEPTH {
            return None;
        }
        let module = &self.modules[m];
        if let Some(&c) = module.children.get(name) {
            return Some(Target::Module(c));
        }
        if let Some(path) = module.imports.get(name) {
            return self.resolve(m, path, depth + 1);
        }
        module
            .globs
            .iter()
            .find_map(|g| match self.resolve(m, g, depth + 1)? {
                Target::Module(from) => self.lookup(from, name, depth + 1),
                Target::Item(_) => None,
            })
    }

    /// What `segments`, written in module `m`, names; `None` for a path
    /// outside the crate (`std::`, another crate) or a local item.
    fn resolve(&self, m: usize, segments: &[String], depth: u32) -> Option<Target> {
        let (first, rest) = segments.split_first()?;
        let mut cur = match first.as_str() {
            "crate" => Target::Module(0),
            "self" => Target::Module(m),
            "super" => Target::Module(self.modules[m].parent?),
            _ => self.lookup(m, first, depth)?,
        };
        for seg in rest {
            let Target::Module(at) = cur else {
                break;
            };
            cur = match seg.as_str() {
                "super" => Target::Module(self.modules[at].parent?),
                "self" => cur,
                _ => match self.lookup(at, seg, depth) {
                    Some(t) => t,
                    None => Target::Item(at),
                },
            };
        }
        Some(cur)
    }

    /// The sibling edges: `(parent, from child, to child)` with the
    /// references behind each.
    fn edges(&self) -> BTreeMap<(usize, usize, usize), Vec<(usize, Ref)>> {
        let mut edges: BTreeMap<(usize, usize, usize), Vec<(usize, Ref)>> = BTreeMap::new();
        for (m, module) in self.modules.iter().enumerate() {
            for r in &module.refs {
                let Some(t) = self.resolve(m, &r.segments, 0) else {
                    continue;
                };
                let (Target::Module(t) | Target::Item(t)) = t;
                if let Some(key) = self.sibling_edge(m, t) {
                    edges.entry(key).or_default().push((m, r.clone()));
                }
            }
        }
        edges
    }

    /// The ancestors of `m`, the root first, then `m` itself.
    fn lineage(&self, m: usize) -> Vec<usize> {
        let mut v = vec![m];
        let mut cur = m;
        while let Some(p) = self.modules[cur].parent {
            v.push(p);
            cur = p;
        }
        v.reverse();
        v
    }

    /// For a reference from `from` to `to`: the siblings it links, under
    /// their common parent; `None` when one contains the other.
    fn sibling_edge(&self, from: usize, to: usize) -> Option<(usize, usize, usize)> {
        let a = self.lineage(from);
        let b = self.lineage(to);
        let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let (&x, &y) = (a.get(common)?, b.get(common)?);
        Some((a[common - 1], x, y))
    }

    /// Every cycle between siblings, one per strongly connected set.
    fn cycles(&self) -> Vec<Cycle> {
        let edges = self.edges();
        let mut by_parent: BTreeMap<usize, BTreeMap<usize, BTreeSet<usize>>> = BTreeMap::new();
        for &(p, x, y) in edges.keys() {
            by_parent
                .entry(p)
                .or_default()
                .entry(x)
                .or_default()
                .insert(y);
        }
        let mut out = Vec::new();
        for (parent, graph) in &by_parent {
            for scc in strongly_connected(graph) {
                if scc.len() < 2 {
                    continue;
                }
                let nodes = cycle_through(graph, &scc);
                let steps = nodes
                    .iter()
                    .zip(nodes.iter().skip(1))
                    .map(|(&x, &y)| {
                        let evidence = edges
                            .get(&(*parent, x, y))
                            .and_then(|v| v.first())
                            .map(|(m, r)| (self.modules[*m].file.clone(), r.clone()));
                        Step {
                            from: self.name(x),
                            to: self.name(y),
                            evidence,
                        }
                    })
                    .collect();
                let mut members: Vec<String> = scc.iter().map(|&m| self.name(m)).collect();
                members.sort();
                out.push(Cycle {
                    parent: self.full_name(*parent),
                    members,
                    steps,
                });
            }
        }
        out
    }

    fn name(&self, m: usize) -> String {
        self.modules[m].path.last().cloned().unwrap_or_default()
    }

    fn full_name(&self, m: usize) -> String {
        let p = &self.modules[m].path;
        if p.is_empty() {
            String::from("crate")
        } else {
            format!("crate::{}", p.join("::"))
        }
    }

    /// One line per module: the modules it refers to (not itself, its
    /// ancestors or its descendants).
    fn graph(&self, crate_name: &str) -> String {
        let mut out = format!("{crate_name}:\n");
        for (m, module) in self.modules.iter().enumerate() {
            let mut targets = BTreeSet::new();
            for r in &module.refs {
                if let Some(Target::Module(t) | Target::Item(t)) = self.resolve(m, &r.segments, 0)
                    && self.sibling_edge(m, t).is_some()
                {
                    targets.insert(self.full_name(t).replacen("crate::", "", 1));
                }
            }
            let name = self.full_name(m).replacen("crate::", "", 1);
            let list: Vec<String> = targets.into_iter().collect();
            let _ = writeln!(out, "  {name}: {}", list.join(", "));
        }
        out
    }
}

/// One edge of a cycle: from, to, and the file and reference that make
/// it.
struct Step {
    from: String,
    to: String,
    evidence: Option<(PathBuf, Ref)>,
}

/// A set of siblings that use each other, and one cycle `a -> b -> ...
/// -> a` among them.
struct Cycle {
    parent: String,
    members: Vec<String>,
    steps: Vec<Step>,
}

impl Cycle {
    fn describe(&self, root: &Path) -> String {
        let mut names: Vec<&str> = self.steps.iter().map(|s| s.from.as_str()).collect();
        if let Some(last) = self.steps.last() {
            names.push(&last.to);
        }
        let mut s = format!(
            "cycle under {} among {{{}}}: {}",
            self.parent,
            self.members.join(", "),
            names.join(" -> ")
        );
        for step in &self.steps {
            if let Some((file, r)) = &step.evidence {
                let _ = write!(
                    s,
                    "\n    {} -> {}: {}:{} uses {}",
                    step.from,
                    step.to,
                    shown_path(root, file),
                    r.line,
                    r.segments.join("::")
                );
            }
        }
        s
    }
}

/// Tarjan's algorithm: the strongly connected components of `graph`.
fn strongly_connected(graph: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<Vec<usize>> {
    struct State<'g> {
        graph: &'g BTreeMap<usize, BTreeSet<usize>>,
        index: BTreeMap<usize, usize>,
        low: BTreeMap<usize, usize>,
        stack: Vec<usize>,
        on_stack: BTreeSet<usize>,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        let next: Vec<usize> = s.graph.get(&v).into_iter().flatten().copied().collect();
        for w in next {
            if !s.index.contains_key(&w) {
                visit(s, w);
                let lw = s.low[&w];
                let lv = s.low[&v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(&w) {
                let iw = s.index[&w];
                let lv = s.low[&v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[&v] == s.index[&v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                scc.push(w);
                if w == v {
                    break;
                }
            }
            scc.sort_unstable();
            s.out.push(scc);
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    let nodes: Vec<usize> = graph.keys().copied().collect();
    for v in nodes {
        if !s.index.contains_key(&v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// A shortest cycle through the first node of `scc`, as nodes with the
/// first repeated at the end.
fn cycle_through(graph: &BTreeMap<usize, BTreeSet<usize>>, scc: &[usize]) -> Vec<usize> {
    let start = scc[0];
    let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in graph.get(&v).into_iter().flatten() {
            if !scc.contains(&w) {
                continue;
            }
            if w == start {
                let mut path = vec![start, v];
                let mut cur = v;
                while let Some(&p) = prev.get(&cur) {
                    path.push(p);
                    cur = p;
                }
                // `path` holds the cycle backwards: start, v, ..., start.
                path.reverse();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(w) {
                e.insert(v);
                queue.push_back(w);
            }
        }
    }
    scc.to_vec()
}

/// The folder a non-inline module's children are in: beside `mod.rs`,
/// else in a folder named after the file.
fn children_dir(file: &Path) -> PathBuf {
    let parent = file.parent().unwrap_or(Path::new("."));
    if file.file_name().is_some_and(|n| n == "mod.rs") {
        parent.to_owned()
    } else {
        parent.join(file.file_stem().unwrap_or_default())
    }
}

/// The value of a `#[path = "..."]` attribute.
fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| {
        let syn::Meta::NameValue(nv) = &a.meta else {
            return None;
        };
        if !nv.path.is_ident("path") {
            return None;
        }
        match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        }
    })
}

/// Gathers the imports and references of one module's items (not those
/// of its child modules, which are modules of their own).
#[derive(Default)]
struct Collector {
    imports: Vec<(String, Vec<String>)>,
    globs: Vec<Vec<String>>,
    refs: Vec<Ref>,
}

impl Collector {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree, line: usize) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree, line);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                if name == "self" {
                    if let Some(last) = prefix.last() {
                        self.import(last.clone(), prefix.clone(), line);
                    }
                } else {
                    let mut path = prefix.clone();
                    path.push(name.clone());
                    self.import(name, path, line);
                }
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                let name = r.ident.to_string();
                if name != "self" {
                    path.push(name);
                }
                self.import(r.rename.to_string(), path, line);
            }
            syn::UseTree::Glob(_) => {
                self.globs.push(prefix.clone());
                self.refs.push(Ref {
                    segments: prefix.clone(),
                    line,
                });
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t, line);
                }
            }
        }
    }

    fn import(&mut self, name: String, path: Vec<String>, line: usize) {
        self.refs.push(Ref {
            segments: path.clone(),
            line,
        });
        if name != "_" {
            self.imports.push((name, path));
        }
    }

    /// Paths in a macro's tokens: `a::b` sequences.
    fn tokens(&mut self, tokens: TokenStream) {
        let list: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < list.len() {
            match &list[i] {
                TokenTree::Group(g) => {
                    self.tokens(g.stream());
                    i += 1;
                }
                TokenTree::Ident(id) => {
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    while let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(next)),
                    ) = (list.get(j), list.get(j + 1), list.get(j + 2))
                    {
                        if a.as_char() != ':' || a.spacing() != Spacing::Joint || b.as_char() != ':'
                        {
                            break;
                        }
                        segments.push(next.to_string());
                        j += 3;
                    }
                    if segments.len() > 1 {
                        self.refs.push(Ref {
                            segments,
                            line: id.span().start().line,
                        });
                    }
                    i = j;
                }
                _ => i += 1,
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {
        // A module of its own: loaded by `Tree::load_items`.
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let line = u.use_token.span.start().line;
        self.use_tree(&mut Vec::new(), &u.tree, line);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() && p.segments.len() > 1 {
            let segments = p.segments.iter().map(|s| s.ident.to_string()).collect();
            let line = p
                .segments
                .first()
                .map_or(0, |s| s.ident.span().start().line);
            self.refs.push(Ref { segments, line });
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.tokens(m.tokens.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crate held in memory: file name (under `src/`) to text.
    struct Files(BTreeMap<PathBuf, String>);

    impl Sources for Files {
        fn read(&self, path: &Path) -> Option<String> {
            self.0.get(path).cloned()
        }
    }

    fn tree(files: &[(&str, &str)]) -> Tree {
        let files = Files(
            files
                .iter()
                .map(|(n, t)| (Path::new("src").join(n), (*t).to_owned()))
                .collect(),
        );
        Tree::load(Path::new("src/lib.rs"), &files).unwrap()
    }

    fn cycles(files: &[(&str, &str)]) -> Vec<String> {
        tree(files)
            .cycles()
            .iter()
            .map(|c| c.describe(Path::new("")))
            .collect()
    }

    #[test]
    fn a_direct_cycle_is_found_and_named() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::X;\npub struct Y;\n"),
            ("b.rs", "pub struct X;\nfn f() -> crate::a::Y { todo!() }\n"),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("cycle under crate among {a, b}: a -> b -> a"),
            "{}",
            found[0]
        );
        assert!(
            found[0].contains("a -> b: src/a.rs:1 uses crate::b::X"),
            "{}",
            found[0]
        );
        assert!(
            found[0].contains("b -> a: src/b.rs:2 uses crate::a::Y"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn a_cycle_through_three_nested_siblings_is_found() {
        let found = cycles(&[
            ("lib.rs", "mod p;\n"),
            ("p.rs", "mod x;\nmod y;\nmod z;\n"),
            ("p/x.rs", "use super::y;\nfn f() { y::g(); }\n"),
            ("p/y.rs", "pub fn g() { super::z::h() }\n"),
            ("p/z/mod.rs", "pub fn h() { crate::p::x::k() }\n"),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("cycle under crate::p among {x, y, z}: x -> y -> z -> x"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn parents_and_children_may_use_each_other() {
        let found = cycles(&[
            ("lib.rs", "mod lock;\nmod state;\nuse lock::Table;\n"),
            (
                "lock.rs",
                "mod mtx;\nuse crate::state::Core;\npub struct Table;\nfn f() { mtx::init() }\n",
            ),
            (
                "lock/mtx.rs",
                "use super::Table;\npub fn init() { let _ = crate::lock::Table; }\n",
            ),
            (
                "state.rs",
                "pub struct Core;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::state::Core as C;\n}\n",
            ),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_re_export_does_not_hide_a_cycle() {
        // `a` names `b`'s item through the root's re-export.
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\npub use b::X;\n"),
            ("a.rs", "pub struct Y;\nfn f(_: crate::X) {}\n"),
            ("b.rs", "use crate::a;\npub struct X(a::Y);\n"),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn imported_module_names_and_globs_are_followed() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            ("a.rs", "use crate::c::*;\nfn f() { inner::g() }\n"),
            ("b.rs", "pub fn k() { crate::a::f2() }\n"),
            ("c.rs", "pub mod inner { pub fn g() {} }\n"),
        ]);
        assert!(found.is_empty(), "{found:?}");
        let g = tree(&[
            ("lib.rs", "mod a;\nmod c;\n"),
            ("a.rs", "use crate::c::*;\npub fn f() { inner::g() }\n"),
            ("c.rs", "pub mod inner { pub fn g() { crate::a::f() } }\n"),
        ]);
        assert_eq!(g.cycles().len(), 1);
    }

    #[test]
    fn paths_in_macros_count_but_comments_and_strings_do_not() {
        let base = [
            ("lib.rs", "mod a;\nmod b;\n"),
            ("b.rs", "use crate::a::Y;\n"),
        ];
        let with = |a: &'static str| {
            let mut v = base.to_vec();
            v.push(("a.rs", a));
            cycles(&v)
        };
        assert_eq!(with("fn f() { println!(\"{}\", crate::b::X); }\n").len(), 1);
        assert!(with("/// See [`crate::b::X`].\npub struct Y;\n// crate::b::X\n").is_empty());
        assert!(with("pub struct Y;\nconst S: &str = \"crate::b::X\";\n").is_empty());
    }

    #[test]
    fn path_attributes_and_inline_modules_are_followed() {
        let found = cycles(&[
            (
                "lib.rs",
                "#[path = \"elsewhere/a_impl.rs\"]\nmod a;\nmod b { pub fn g() { crate::a::f() } }\n",
            ),
            ("elsewhere/a_impl.rs", "pub fn f() { crate::b::g() }\n"),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn the_graph_lists_what_each_module_refers_to() {
        let g = tree(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "mod inner;\n"),
            ("a/inner.rs", "use crate::b::X;\nuse super::super::b;\n"),
            ("b.rs", "pub struct X;\n"),
        ])
        .graph("t");
        assert!(g.contains("  a::inner: b\n"), "{g}");
        assert!(g.contains("  b: \n"), "{g}");
    }
}
