//! Times in the zone the operator configures: shown with the zone named, and form times read in
//! it. The zone is part of the application's configuration, so a zoned app runs beside the
//! others in this binary.

use rollbook::web::Zone;

use crate::helpers::{TestApp, csrf_of};

/// An app whose pages show and read times in New York.
async fn new_york() -> TestApp {
    TestApp::spawn_with(|config| config.zone = Zone::parse("America/New_York").unwrap()).await
}

#[tokio::test]
async fn pages_show_and_read_times_in_the_configured_zone() {
    assert!(
        Zone::parse("Mars/Olympus_Mons")
            .unwrap_err()
            .to_string()
            .contains("unknown time zone")
    );
    let app = new_york().await;

    let form = app.get("/cohorts/new").await.text().await.unwrap();
    assert!(
        form.contains("Starts (YYYY-MM-DD HH:MM, America/New_York)"),
        "{form}"
    );
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

#[tokio::test]
async fn error_pages_name_the_configured_zone_and_other_apps_keep_utc() {
    let zoned = new_york().await;
    let plain = TestApp::spawn().await;

    // A 404 from the router's fallback.
    let missing = zoned.get("/no/such/page").await;
    assert_eq!(missing.status(), 404);
    let html = missing.text().await.unwrap();
    assert!(
        html.contains("All times are shown in America/New_York."),
        "{html}"
    );
    // A 400 from the form check that runs outside the router.
    let bad_form = zoned
        .client
        .post(zoned.url("/cohorts"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"name=%FF".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(bad_form.status(), 400);
    let html = bad_form.text().await.unwrap();
    assert!(html.contains("is not valid UTF-8 text"), "{html}");
    assert!(
        html.contains("All times are shown in America/New_York."),
        "{html}"
    );

    // The zone belongs to one application, not to the process.
    let html = plain.get("/no/such/page").await.text().await.unwrap();
    assert!(html.contains("All times are shown in UTC."), "{html}");
    let form = plain.get("/cohorts/new").await.text().await.unwrap();
    assert!(form.contains("Starts (YYYY-MM-DD HH:MM, UTC)"), "{form}");
}
