//! The workloads of the performance issue, one module each. Every figure is taken once per
//! round, and each round interleaves the baselines with the measured runs, so a noisy minute
//! hits both.

pub mod commands;
pub mod delivery;
pub mod pages;
pub mod peer;
pub mod replay;
