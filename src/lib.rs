//! rollbook: the enrollment history of live learning cohorts, as an event-sourced ledger.
//!
//! Layers, with dependencies pointing one way (`web → writer → {domain, store, projections}`):
//! - [`domain`]: the pure cohort aggregate (`decide` / `apply`);
//! - [`store`]: the redb event store;
//! - [`writer`]: the single appender, batching commands into durable commits;
//! - [`projections`]: in-memory read models rebuilt from the events;
//! - [`web`]: HTML pages, forms and the JSON API;
//! - [`app`]: wiring it all into a running server.

pub mod app;
pub mod auth;
pub mod backoff;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod generate;
pub mod learner_key;
pub mod logs;
pub mod mail;
pub mod metrics;
pub mod offer_expiry;
pub mod offer_links;
pub mod private_file;
pub mod projections;
pub mod serve;
pub mod store;
pub mod transfer;
pub mod web;
pub mod webhooks;
pub mod writer;
