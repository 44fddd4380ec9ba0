// SPDX-License-Identifier: BSD-2-Clause
//! The reachability query: the call graph as nodes (functions, kernel
//! symbols, and one node per indirect-call target set) searched breadth
//! first from each entry, so that each path found is a shortest one.

use std::collections::{BTreeSet, VecDeque};

use super::{EntryClass, EntryReport, PathStep, ReachOptions, SinkPath, SinkSite, Via};
use crate::callgraph::{CallGraph, Callee};

/// An edge of the query graph.
#[derive(Debug, Clone, Copy)]
struct Edge {
    to: usize,
    via: Via,
    site: Option<u64>,
    /// Index into the caller's `calls`, for the location.
    call: Option<usize>,
}

/// The call graph as nodes: functions, then externals, then the two
/// indirect-call target sets.
pub(super) struct Query<'g> {
    graph: &'g CallGraph,
    edges: Vec<Vec<Edge>>,
    pub(super) sink: Vec<bool>,
    fmt_node: usize,
}

impl<'g> Query<'g> {
    pub(super) fn new(graph: &'g CallGraph, options: &ReachOptions) -> Self {
        let n_fn = graph.functions.len();
        let n_ext = graph.externals.len();
        let fmt_node = n_fn.saturating_add(n_ext);
        let any_node = fmt_node.saturating_add(1);
        let mut edges = vec![Vec::new(); any_node.saturating_add(1)];
        for (i, f) in graph.functions.iter().enumerate() {
            let Some(out) = edges.get_mut(i) else {
                continue;
            };
            for (c, call) in f.calls.iter().enumerate() {
                let (to, via) = match call.callee {
                    Callee::Function(g) => (g, if call.jump { Via::TailCall } else { Via::Call }),
                    Callee::External(e) => (
                        n_fn.saturating_add(e),
                        if call.jump { Via::TailCall } else { Via::Call },
                    ),
                    Callee::Indirect => (
                        if options.fmt_kind && f.fmt_caller {
                            fmt_node
                        } else {
                            any_node
                        },
                        if call.jump {
                            Via::IndirectJump
                        } else {
                            Via::IndirectCall
                        },
                    ),
                };
                out.push(Edge {
                    to,
                    via,
                    site: Some(call.offset.saturating_sub(f.start)),
                    call: Some(c),
                });
            }
        }
        let target = |to| Edge {
            to,
            via: Via::Target,
            site: None,
            call: None,
        };
        for (i, f) in graph.functions.iter().enumerate() {
            if !f.address_taken {
                continue;
            }
            if let Some(any) = edges.get_mut(any_node) {
                any.push(target(i));
            }
            if f.fmt_target
                && let Some(fmt) = edges.get_mut(fmt_node)
            {
                fmt.push(target(i));
            }
        }
        for (e, ext) in graph.externals.iter().enumerate() {
            if ext.address_taken
                && let Some(any) = edges.get_mut(any_node)
            {
                any.push(target(n_fn.saturating_add(e)));
            }
        }
        let mut sink = vec![false; edges.len()];
        for (i, f) in graph.functions.iter().enumerate() {
            if options.sinks.iter().any(|p| f.matches(p))
                && let Some(s) = sink.get_mut(i)
            {
                *s = true;
            }
        }
        for (e, ext) in graph.externals.iter().enumerate() {
            if options.external_sinks.contains(&ext.name)
                && let Some(s) = sink.get_mut(n_fn.saturating_add(e))
            {
                *s = true;
            }
        }
        Self {
            graph,
            edges,
            sink,
            fmt_node,
        }
    }

    pub(super) fn is_sink(&self, node: usize) -> bool {
        self.sink.get(node).copied().unwrap_or(false)
    }

    /// `(demangled, raw)` name of a node.
    pub(super) fn names(&self, node: usize) -> (String, String) {
        let n_fn = self.graph.functions.len();
        if let Some(f) = self.graph.functions.get(node) {
            return (f.name().to_owned(), f.symbol().to_owned());
        }
        if let Some(e) = node
            .checked_sub(n_fn)
            .and_then(|e| self.graph.externals.get(e))
        {
            return (e.name.clone(), e.name.clone());
        }
        let targets = self.edges.get(node).map_or(&[][..], Vec::as_slice);
        let kernel = targets.iter().filter(|e| e.to >= n_fn).count();
        let functions = targets.len().saturating_sub(kernel);
        let label = if node == self.fmt_node {
            format!("[any of {functions} address-taken formatting trait method(s)]")
        } else if kernel == 0 {
            format!("[any of {functions} address-taken function(s)]")
        } else {
            format!("[any of {functions} address-taken function(s) and {kernel} kernel symbol(s)]")
        };
        (label, String::new())
    }

    fn location(&self, node: usize, edge: &Edge) -> Option<String> {
        let f = self.graph.functions.get(node)?;
        f.calls.get(edge.call?)?.location.clone()
    }

    /// Breadth-first search from `entry`.
    pub(super) fn entry_report(&self, class: EntryClass, entry: usize) -> EntryReport {
        let mut parent: Vec<Option<(usize, Edge)>> = vec![None; self.edges.len()];
        let mut seen = vec![false; self.edges.len()];
        let mut queue = VecDeque::new();
        let mut sinks_found = Vec::new();
        let mut sites = BTreeSet::new();
        if let Some(s) = seen.get_mut(entry) {
            *s = true;
        }
        queue.push_back(entry);
        while let Some(node) = queue.pop_front() {
            if self.is_sink(node) {
                sinks_found.push(node);
                continue;
            }
            for edge in self.edges.get(node).into_iter().flatten() {
                if self.is_sink(edge.to) {
                    sites.insert(SinkSite {
                        caller: self.names(node).0,
                        offset: edge.site,
                        sink: self.names(edge.to).0,
                        location: self.location(node, edge),
                    });
                }
                let Some(s) = seen.get_mut(edge.to) else {
                    continue;
                };
                if !*s {
                    *s = true;
                    if let Some(p) = parent.get_mut(edge.to) {
                        *p = Some((node, *edge));
                    }
                    queue.push_back(edge.to);
                }
            }
        }
        let reachable_functions = seen
            .iter()
            .take(self.graph.functions.len())
            .filter(|&&s| s)
            .count();
        let mut paths: Vec<SinkPath> = sinks_found
            .into_iter()
            .map(|sink| self.path(&parent, sink))
            .collect();
        paths.sort_by(|a, b| a.sink.cmp(&b.sink));
        let (name, symbol) = self.names(entry);
        EntryReport {
            class,
            name,
            symbol,
            reachable_functions,
            paths,
            sites: sites.into_iter().collect(),
        }
    }

    fn path(&self, parent: &[Option<(usize, Edge)>], sink: usize) -> SinkPath {
        let mut steps = Vec::new();
        let mut location = None;
        let mut node = sink;
        loop {
            let (name, symbol) = self.names(node);
            let link = parent.get(node).copied().flatten();
            if node == sink {
                location = link.and_then(|(from, edge)| self.location(from, &edge));
            }
            steps.push(PathStep {
                name,
                symbol,
                via: link.map(|(_, e)| e.via),
                site: link.and_then(|(_, e)| e.site),
            });
            match link {
                Some((from, _)) if steps.len() <= self.edges.len() => node = from,
                _ => break,
            }
        }
        steps.reverse();
        SinkPath {
            sink: self.names(sink).0,
            steps,
            location,
        }
    }
}
