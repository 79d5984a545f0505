#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! placeholder
use criterion::{Criterion, criterion_group, criterion_main};
fn bench(_c: &mut Criterion) {}
criterion_group!(benches, bench);
criterion_main!(benches);
