//! Workload 3: the HTML pages staff use, on the largest generated history, at 16 and 64
//! clients — dashboard, a cohort page, a learner timeline, the event browser, the seat chart —
//! each round next to the baseline (the same server's smallest authenticated GET).
//!
//! Pages need a session: the driver logs in once as the bench account and hands the cookie to
//! wrk. Every page is fetched once first and must answer 200 (wrk counts a redirect to the
//! login page as a success, so this check is what makes the figures mean something).

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::context::Ctx;
use crate::datasets::{ACCOUNT, Dataset, PASSWORD};
use crate::http::{self, encode_form, encode_segment};
use crate::process::Server;
use crate::wrk;

/// The smallest authenticated GET: one cohort summary, no store read. The "plain rps" baseline
/// of pages and commands.
pub const PLAIN_PATH: &str = "/api/v1/cohorts?limit=1";

/// Runs the page rounds.
pub fn run(ctx: &mut Ctx, ds: &Dataset) -> anyhow::Result<()> {
    let log = ctx.work("serve-pages.log");
    let mut server = Server::start(&ctx.rollbook, ctx.pin.server, &ds.path, &[], &log)?;
    server.wait_ready(Duration::from_mins(15))?;
    let (port, pid) = (server.port, server.pid());
    let cookie = login(port)?;
    let pages = pick_pages(port, &ds.token, ds.cohorts)?;
    for (name, path) in &pages {
        let bytes = check_page(port, &cookie, path)?;
        ctx.results.fact(format!("pages.{name}.path"), path.clone());
        ctx.results
            .fact(format!("pages.{name}.bytes"), bytes.to_string());
    }
    ctx.results.fact("pages.events", ds.events.to_string());
    let base = format!("http://127.0.0.1:{port}");
    let cookie_header = format!("Cookie: {cookie}");
    let auth = format!("Authorization: Bearer {}", ds.token);
    // Warm-up, not recorded.
    page_run(ctx, &base, &cookie_header, "/", 16, 2)?;
    ctx.rounds("pages", |ctx, round| {
        if round > 1 {
            ctx.quiet_check(&format!("pages.round{round}"));
        }
        for &c in &ctx.sizes.page_concurrency.clone() {
            let spec = wrk::Spec {
                connections: c,
                seconds: ctx.sizes.wrk_seconds,
                url: format!("{base}{PLAIN_PATH}"),
                headers: vec![auth.clone()],
                script: None,
            };
            let plain = ctx.on_server_core(pid, |ctx| wrk::run(ctx.pin.load, &spec))?;
            ctx.results.push(format!("pages.plain.c{c}.rps"), plain.rps);
            ctx.results
                .push(format!("pages.plain.c{c}.p99_ms"), plain.p99_ms);
            let mut line = format!("round {round}, c={c}: plain {:.0} rps", plain.rps);
            for (name, path) in &pages {
                let seconds = ctx.sizes.wrk_seconds;
                let o = ctx.on_server_core(pid, |ctx| {
                    page_run(ctx, &base, &cookie_header, path, c, seconds)
                })?;
                ctx.results.push(format!("pages.{name}.c{c}.rps"), o.rps);
                ctx.results
                    .push(format!("pages.{name}.c{c}.p50_ms"), o.p50_ms);
                ctx.results
                    .push(format!("pages.{name}.c{c}.p99_ms"), o.p99_ms);
                let _ = write!(line, ", {name} {:.0} rps p99 {:.2} ms", o.rps, o.p99_ms);
            }
            ctx.say(&line);
        }
        Ok(())
    })?;
    // The session must still be good, or the runs above measured redirects.
    for (_, path) in &pages {
        check_page(port, &cookie, path)?;
    }
    server.stop()
}

fn page_run(
    ctx: &Ctx,
    base: &str,
    cookie_header: &str,
    path: &str,
    connections: u32,
    seconds: u32,
) -> anyhow::Result<wrk::Outcome> {
    wrk::run(
        ctx.pin.load,
        &wrk::Spec {
            connections,
            seconds,
            url: format!("{base}{path}"),
            headers: vec![cookie_header.to_owned()],
            script: None,
        },
    )
}

/// Logs in as the bench account; returns `rollbook_session=…`.
pub fn login(port: u16) -> anyhow::Result<String> {
    let body = format!(
        "name={}&password={}&next=%2F",
        encode_form(ACCOUNT),
        encode_form(PASSWORD)
    );
    let response = http::request(
        port,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )?;
    let cookie = response
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next())
        .find(|c| c.starts_with("rollbook_session=") && c.len() > "rollbook_session=".len())
        .with_context(|| {
            format!(
                "login as {ACCOUNT} failed ({}): {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            )
        })?;
    Ok(cookie.to_owned())
}

/// The pages measured: (name, path). The cohort is one from the middle of the catalog; the
/// learner is someone enrolled in it.
fn pick_pages(port: u16, token: &str, cohorts: u64) -> anyhow::Result<Vec<(String, String)>> {
    let auth = format!("Bearer {token}");
    let list = http::request(
        port,
        "GET",
        &format!("/api/v1/cohorts?limit=1&offset={}", cohorts / 2),
        &[("Authorization", &auth)],
        b"",
    )?
    .json()?;
    let id = list["cohorts"][0]["id"]
        .as_str()
        .with_context(|| format!("no cohort in {list}"))?
        .to_owned();
    let detail = http::request(
        port,
        "GET",
        &format!("/api/v1/cohorts/{id}"),
        &[("Authorization", &auth)],
        b"",
    )?
    .json()?;
    let learner = detail["enrolled"]
        .as_array()
        .into_iter()
        .chain(detail["waitlist"].as_array())
        .flatten()
        .find_map(|p| p["learner"].as_str())
        .with_context(|| format!("cohort {id} has nobody enrolled: {detail}"))?
        .to_owned();
    Ok(vec![
        ("dashboard".into(), "/".into()),
        ("cohort".into(), format!("/cohorts/{id}")),
        (
            "learner".into(),
            format!("/learners/{}", encode_segment(&learner)),
        ),
        ("events".into(), "/events".into()),
        ("seats".into(), "/reports/seats".into()),
    ])
}

/// Fetches a page with the session; it must answer 200 with HTML. Returns its size.
fn check_page(port: u16, cookie: &str, path: &str) -> anyhow::Result<usize> {
    let response = http::request(port, "GET", path, &[("Cookie", cookie)], b"")?;
    if response.status != 200 {
        bail!(
            "GET {path} with the session answered {} (location {:?})",
            response.status,
            response.header("location")
        );
    }
    Ok(response.body.len())
}
