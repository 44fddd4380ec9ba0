//! Generates the FreeBSD kernel bindings (skeleton).
fn main() {}
