//! rollbook's benchmark suite as a library: the driver (`rollbook-bench`), the store-level peer
//! comparison (`store-peer`) and the fsync probe (`fsync-probe`) are thin binaries over it.
//!
//! Nothing here runs in `cargo test` or CI of the main crate: this is its own workspace, run by
//! `bench/run.sh`.

pub mod charts;
pub mod codec_bridge;
pub mod config;
pub mod context;
pub mod datasets;
pub mod driver;
pub mod fsync;
pub mod http;
pub mod machine;
pub mod peer;
pub mod process;
pub mod report;
pub mod results;
pub mod stats;
pub mod svg;
pub mod workloads;
pub mod wrk;
