//! Integration tests: the real store, writer, projections and HTTP server, on temporary
//! databases and port 0.

mod api;
mod auth;
mod backup;
mod bad_files;
mod browse;
mod browser;
mod cli;
mod crash;
mod demo;
mod dry_run;
mod edges;
mod erasure;
mod file_modes;
mod generate;
mod hardening;
mod helpers;
mod idempotency;
mod login_attacks;
mod logs;
mod maintenance;
mod metrics;
mod old_release;
mod openapi;
mod pages;
mod properties;
mod record;
mod reports;
mod restart;
mod store;
mod structure;
mod timezone;
mod transfer;
mod transfers;
mod verify;
