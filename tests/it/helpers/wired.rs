//! The web router wired by hand over a store the test holds (no socket, no accept loop), for
//! tests that reach behind the application: a fault-injecting backend, events committed behind
//! the projections' back. The one place in the tests that builds an `AppState` field by field
//! (`Application::build` does it for the real server, and `src/web/access.rs`'s unit tests do
//! it a third time): when `AppState` changes (as when its store handle became the read-only `History`), this follows.

use std::sync::Arc;

use jiff::SignedDuration;
use rollbook::auth::{Auth, Passwords, Role};
use rollbook::clock::FixedClock;
use rollbook::metrics::Metrics;
use rollbook::projections::ReadModel;
use rollbook::store::Store;
use rollbook::web::{self, AppState, CookiePolicy};
use rollbook::writer::{self, WriterOptions, WriterThread};

use super::password_of;

/// A router over a store, with what the test may need to reach.
pub struct Wired {
    /// The whole web application.
    pub router: axum::Router,
    /// The projections the router reads.
    pub read: Arc<ReadModel>,
    /// The writer thread (join it to drain the writer).
    pub writer: WriterThread,
    /// The API token of the account `staff` (role staff), labelled `label`.
    pub token: String,
}

/// Replays `store`, starts a writer over it, adds the account `staff` with a token labelled
/// `label`, and builds the router with the default cookie policy and metrics allow list.
pub fn wire(store: &Arc<Store>, clock: &Arc<FixedClock>, label: &str) -> Wired {
    let auth = Auth::load(
        store.clone(),
        Passwords::cheap_for_tests(),
        clock.clone(),
        SignedDuration::from_hours(12),
    )
    .expect("auth loads");
    auth.create_account("staff", Role::Staff, &password_of(Role::Staff))
        .expect("account");
    let (_, token) = auth.create_token("staff", label).expect("token");
    let (read, _) = ReadModel::rebuild(store).expect("replay");
    let read = Arc::new(read);
    let (handle, thread) = writer::spawn(
        store.clone(),
        read.clone(),
        clock.clone(),
        WriterOptions::default(),
    )
    .expect("writer");
    let webhooks = rollbook::webhooks::Webhooks::load(
        store.clone(),
        rollbook::store::History::new(store.clone()),
        read.clone(),
        clock.clone(),
        rollbook::webhooks::WebhookOptions::default(),
        web::feed_event_json,
    )
    .expect("webhooks");
    let offer_links = rollbook::offer_links::OfferLinks::load(store.clone(), None).expect("key");
    let state = AppState {
        offer_links,
        webhooks: Arc::new(webhooks),
        history: rollbook::store::History::new(store.clone()),
        read: read.clone(),
        writer: handle,
        clock: clock.clone(),
        auth: Arc::new(auth),
        cookies: CookiePolicy::default(),
        last_backup: Arc::default(),
        metrics: Arc::new(Metrics::new(writer::CommandKind::LABELS)),
        metrics_allow: web::AllowList::default(),
        zone: web::Zone::default(),
        live: Arc::default(),
        mail: None,
    };
    Wired {
        router: web::router(state),
        read,
        writer: thread,
        token,
    }
}
