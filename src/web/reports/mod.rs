//! The support reports, one page per file: cohorts by instructor ([`instructors`]), recent
//! withdrawals ([`withdrawals`]) and seat changes per ISO week ([`seats`]), each with its CSV
//! download; here, what they share: paging, links between them, and chunked CSV copying.
//!
//! Handlers only read the report projections (`Instructors`, `Withdrawals`, `SeatWeeks` in
//! `crate::projections`) and copy out the rows a page shows; they never scan the
//! event log. CSV downloads stream in chunks, taking the read lock once per chunk, so a large
//! export neither sits in memory whole nor blocks the writer.

pub mod instructors;
pub mod seats;
pub mod withdrawals;

use std::sync::Arc;

use crate::projections::{Projections, ReadModel};

/// Rows per page of a report.
const PAGE_SIZE: usize = 50;
/// The last page number honoured; beyond it every page is empty anyway.
const MAX_PAGE: usize = 1 << 32;
/// Rows a CSV download copies out per hold of the read lock.
const CSV_CHUNK: usize = 1000;

fn page_number(raw: &str) -> usize {
    raw.trim().parse::<usize>().unwrap_or(1).clamp(1, MAX_PAGE)
}

fn query_link(path: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Copies out CSV rows a chunk at a time: `next_chunk` is called with the projections under the
/// read lock, resumes where it stopped, and returns no rows when done. Rows committed while a
/// download runs may or may not be in it.
struct Chunks<F> {
    read: Arc<ReadModel>,
    next_chunk: F,
    rows: std::vec::IntoIter<Vec<String>>,
    done: bool,
}

impl<F> Chunks<F> {
    fn new(read: Arc<ReadModel>, next_chunk: F) -> Self {
        Self {
            read,
            next_chunk,
            rows: Vec::new().into_iter(),
            done: false,
        }
    }
}

impl<F: FnMut(&Projections) -> Vec<Vec<String>>> Iterator for Chunks<F> {
    type Item = Vec<String>;

    fn next(&mut self) -> Option<Vec<String>> {
        loop {
            if let Some(row) = self.rows.next() {
                return Some(row);
            }
            if self.done {
                return None;
            }
            let chunk = (self.next_chunk)(&self.read.read());
            self.done = chunk.is_empty();
            self.rows = chunk.into_iter();
        }
    }
}

/// The links between the reports, shown on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// `/reports/instructors`.
    Instructors,
    /// `/reports/withdrawals`.
    Withdrawals,
    /// `/reports/seats`.
    Seats,
}

impl Tab {
    const ALL: [Self; 3] = [Self::Instructors, Self::Withdrawals, Self::Seats];

    const fn href(self) -> &'static str {
        match self {
            Self::Instructors => "/reports/instructors",
            Self::Withdrawals => "/reports/withdrawals",
            Self::Seats => "/reports/seats",
        }
    }

    const fn label(self) -> &'static str {
        match self {
            Self::Instructors => "Cohorts by instructor",
            Self::Withdrawals => "Recent withdrawals",
            Self::Seats => "Seat changes by week",
        }
    }

    /// Every report's (link, label, whether it is this one), for the tabs.
    fn links(self) -> [(&'static str, &'static str, bool); 3] {
        Self::ALL.map(|t| (t.href(), t.label(), t == self))
    }
}
