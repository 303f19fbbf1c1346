//! Integration tests: the real store, writer, projections and HTTP server, on temporary
//! databases and port 0.

mod api;
mod auth;
mod cli;
mod hardening;
mod helpers;
mod pages;
mod properties;
mod restart;
mod store;
