//! `rollbook serve --demo`: an empty database seeded with a lively term, so that a first look
//! at rollbook has something to show. The term is a small run of `generate` (the real writer
//! and rules, with past timestamps over the 12 weeks ending now): about 40 cohorts across
//! several courses and instructors, a few hundred learners, enrollments, waitlists,
//! withdrawals with reasons, promotions, capacity changes and closings, offers accepted,
//! declined and expired, a reopening, a reschedule, a change of details and of policy, one
//! cancelled cohort, some cohorts near full
//! and some still open. The same seed and end give the same term.
//!
//! The staff the term's history names (its actors) become real accounts, so that the names on
//! the history pages are accounts an admin can find, enable and hand out: staff accounts,
//! **disabled and with a random password nobody is told** (never a default one, which anyone
//! who read this file could try). An admin who wants one enables it and sets its password on
//! the Admin page; until then nobody can log in as it.

use std::path::Path;

use anyhow::Context as _;
use jiff::Timestamp;

use crate::auth::{Auth, AuthError, Role, secret};
use crate::generate::{GenerateError, GenerateOptions, GenerateSummary, generate};
use crate::store::{Actor, OfflineStore, StoreOptions};

/// The seed of the demo term.
pub const SEED: u64 = 2026;

/// The demo term's size: cohorts, learners, events.
pub const SIZE: (u32, u32, u64) = (40, 500, 4000);

/// The options of the demo term ending at `end`.
#[must_use]
pub fn options(end: Timestamp) -> GenerateOptions {
    let (cohorts, learners, events) = SIZE;
    let mut options = GenerateOptions::new(cohorts, learners, events, SEED, end);
    // About a day of simulated time per writer call, as in a real term.
    options.batch = 64;
    options.courses = Some(8);
    options.instructors = Some(6);
    options
}

/// Seeds the demo term into `db`, which must hold no events, with a progress bar on a terminal.
pub fn seed(db: &Path, end: Timestamp) -> anyhow::Result<GenerateSummary> {
    let options = options(end);
    let bar = indicatif::ProgressBar::new(options.events);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "seeding the demo term [{bar:40}] {human_pos}/{human_len} events",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    let summary = generate(db, &options, &|written| bar.set_position(written));
    bar.finish_and_clear();
    match summary {
        Ok(summary) => Ok(summary),
        Err(GenerateError::NotEmpty { path, events }) => anyhow::bail!(
            "--demo seeds an empty database only, and {} already holds {events} events; start \
             without --demo, or give a new file with --db",
            path.display()
        ),
        Err(e) => {
            Err(e).with_context(|| format!("cannot seed the demo term into {}", db.display()))
        }
    }
}

/// The names of the people the history in `db` names as actors (rollbook's own `system` and
/// the `local` actor left out), sorted. Read from the events, so they are the generator's.
pub fn actors(db: &Path) -> anyhow::Result<Vec<String>> {
    let store = OfflineStore::open(db, &StoreOptions::default())
        .with_context(|| format!("cannot open {}", db.display()))?;
    let reader = store.read()?;
    let mut names = std::collections::BTreeSet::new();
    let mut after = 0;
    loop {
        let batch = reader.events_after(after, 1024)?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        for envelope in &batch {
            let actor = &envelope.meta.actor;
            if actor.id != Actor::SYSTEM_ID && actor.name != Actor::local().name {
                names.insert(actor.name.clone());
            }
        }
    }
    Ok(names.into_iter().collect())
}

/// Creates a staff account for each of `names` that has none yet: disabled, with a random
/// password that is neither stored in clear nor shown (blocking: hashes each). Returns the
/// names created.
pub fn create_accounts(auth: &Auth, names: &[String]) -> Result<Vec<String>, AuthError> {
    let mut created = Vec::new();
    for name in names {
        // 256 random bits, hex: nobody knows it, and nobody can guess it.
        let unusable = crate::store::chain::hex(&secret::random_bytes());
        match auth.create_account(name, Role::Staff, &unusable) {
            Ok(_) => {}
            Err(AuthError::NameTaken(_)) => continue,
            Err(e) => return Err(e),
        }
        auth.set_disabled(name, true)?;
        created.push(name.clone());
    }
    Ok(created)
}
