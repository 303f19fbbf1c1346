//! Times in the zone the operator configures: shown with the zone named, and form times read in
//! it. A process-wide setting, so it has a test binary of its own.

#[allow(
    dead_code,
    unused_imports,
    reason = "the shared helpers serve several test binaries"
)]
#[path = "it/helpers/mod.rs"]
mod helpers;

use helpers::{TestApp, csrf_of};

#[tokio::test]
async fn pages_show_and_read_times_in_the_configured_zone() {
    assert!(
        rollbook::web::zone::configure("Mars/Olympus_Mons")
            .unwrap_err()
            .contains("unknown time zone")
    );
    rollbook::web::zone::configure("America/New_York").unwrap();
    let app = TestApp::spawn().await;

    let form = app.get("/cohorts/new").await.text().await.unwrap();
    assert!(form.contains("Starts (America/New_York)"), "{form}");
    assert!(form.contains("All times are shown in America/New_York."));
    let csrf = csrf_of(&form);
    // 2026-03-15 09:00 in New York is daylight time (UTC-4): 13:00 UTC.
    let created = app
        .client
        .post(app.url("/cohorts"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Zoned"),
            ("course", "TZ-1"),
            ("instructor", "Ada"),
            ("capacity", "3"),
            ("starts_at", "2026-03-15T09:00"),
            ("enrollment_deadline", "2026-03-06T23:59"),
            ("withdrawal_deadline", "2026-03-20T23:59"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let id = location.trim_start_matches("/cohorts/").to_owned();
    let cohort = app.cohort(&id).await;
    assert_eq!(cohort["starts_at"], "2026-03-15T13:00:00Z");
    // Standard time (UTC-5) before the change on March 8.
    assert_eq!(cohort["enrollment_deadline"], "2026-03-07T04:59:00Z");

    let page = app.get(&location).await.text().await.unwrap();
    assert!(page.contains("2026-03-15 09:00 EDT"), "{page}");
    assert!(page.contains("2026-03-06 23:59 EST"), "{page}");
    assert!(!page.contains(" UTC<"), "no time is shown in UTC: {page}");
}
