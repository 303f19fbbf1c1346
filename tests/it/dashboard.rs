//! The dashboard through real HTTP (issue 16 item 10): the phase filter (the status read with
//! the dates), sortable columns, the fill bar's words, times and card labels; and the
//! new-cohort form's duplicate warnings, suggestions and text time fields.

use serde_json::{Value, json};

use crate::helpers::*;

/// Creates a cohort through the API with `fields` over the usual body; returns its id.
async fn create(app: &TestApp, name: &str, capacity: u32, fields: &[(&str, &str)]) -> String {
    let mut body = cohort_body(name, capacity);
    for (field, value) in fields {
        body[*field] = Value::from(*value);
    }
    let (status, body) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// The cohort names of a dashboard page's list, in order.
fn listed(html: &str) -> Vec<String> {
    let Some(start) = html.find("<tbody>") else {
        return Vec::new();
    };
    let body = &html[start
        ..html[start..]
            .find("</tbody>")
            .map_or(html.len(), |e| start + e)];
    body.split(r#"<td data-label="Cohort"><a href="/cohorts/"#)
        .skip(1)
        .map(|cell| {
            let name = &cell[cell.find('>').expect("link") + 1..];
            name[..name.find("</a>").expect("end of link")].to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Phase filter
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_status_filter_reads_the_phase_not_the_stored_status() {
    let app = TestApp::spawn().await;
    // Taking enrollments until April.
    create(
        &app,
        "Taking Enrollments",
        2,
        &[
            ("enrollment_deadline", "2026-04-01T00:00:00Z"),
            ("starts_at", "2026-04-15T09:00:00Z"),
            ("withdrawal_deadline", "2026-04-20T00:00:00Z"),
        ],
    )
    .await;
    // Stored open, but its enrollment deadline (10 March) will have passed.
    create(&app, "Deadline Passed", 2, &[]).await;
    // Stored open, but its classes will have begun.
    create(
        &app,
        "Already Running",
        2,
        &[
            ("enrollment_deadline", "2026-03-05T00:00:00Z"),
            ("starts_at", "2026-03-11T09:00:00Z"),
            ("withdrawal_deadline", "2026-03-12T00:00:00Z"),
        ],
    )
    .await;
    let closed = create(
        &app,
        "Closed By Staff",
        2,
        &[
            ("enrollment_deadline", "2026-04-01T00:00:00Z"),
            ("starts_at", "2026-04-15T09:00:00Z"),
            ("withdrawal_deadline", "2026-04-20T00:00:00Z"),
        ],
    )
    .await;
    let (status, body) = app
        .post_json(&format!("/api/v1/cohorts/{closed}/close"), &json!(null))
        .await;
    assert_eq!(status, 200, "{body}");
    app.clock.set(ts("2026-03-11T12:00:00Z"));

    let cases: [(&str, &[&str]); 6] = [
        ("open", &["Taking Enrollments"]),
        ("enrollment_ended", &["Deadline Passed"]),
        ("running", &["Already Running"]),
        ("closed", &["Closed By Staff"]),
        ("cancelled", &[]),
        (
            "",
            &[
                "Closed By Staff",
                "Already Running",
                "Deadline Passed",
                "Taking Enrollments",
            ],
        ),
    ];
    for (phase, expected) in cases {
        let (status, html) = page(&app, &format!("/?status={phase}")).await;
        assert_eq!(status, 200, "{phase}: {html}");
        assert_eq!(listed(&html), expected, "status={phase}");
        if !phase.is_empty() {
            assert!(
                html.contains(&format!(r#"<option value="{phase}" selected>"#)),
                "{phase}: the filter shows what it filters by"
            );
        }
    }
    // The badge says the phase, the filter offers every phase by name.
    let (_, html) = page(&app, "/?status=enrollment_ended").await;
    assert!(
        html.contains(r#"<span class="status enrollment_ended">Enrollment ended</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"<option value="running">Running</option>"#));
    // The CSV download filters the same way and says the phase.
    let csv = app
        .get("/cohorts.csv?status=open")
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains(",Taking Enrollments,") && lines[1].contains(",open,open,"));
    // Paging links keep the phase.
    for i in 0..51 {
        create(&app, &format!("Later #{i:02}"), 1, &[]).await;
    }
    let (_, html) = page(&app, "/?status=enrollment_ended").await;
    assert!(html.contains("Showing 1–50 of 52 cohorts"), "{html}");
    assert!(
        html.contains(
            r#"<a href="/?instructor=&amp;status=enrollment_ended&amp;page=2">Older →</a>"#
        ),
        "{html}"
    );
}
