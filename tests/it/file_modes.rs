//! Every file rollbook creates is owner-only (0600; folders 0700): the database, backups and
//! their manifests, exports, import targets, upgrade copies, restored and rewritten files. The
//! real binary runs every flow under `umask 022`, which leaves a plain `File::create` readable
//! by every local user; then the whole folder is walked.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;

use crate::helpers::process::BIN;
use crate::helpers::process::{Launch, ServerProcess};

/// `sh -c` prefix that sets the umask every other program here runs with, then runs the rest.
const UMASK_022: &str = r#"umask 022; exec "$0" "$@""#;

/// Runs the real binary with `args` under `umask 022`.
fn rollbook(args: &[&std::ffi::OsStr], stdin: &str) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new("/bin/sh")
        .args(["-c", UMASK_022, BIN])
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "rollbook {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// Every file and folder under `dir`, with its mode.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, u32)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push((path.clone(), mode(&path)));
        if path.is_dir() {
            walk(&path, out);
        }
    }
}

/// Serves `db` with `backups` as its backup folder, writes a little history and a backup on
/// request, then kills the server.
async fn serve_and_back_up(db: &Path, backups: &Path, token: &str) {
    // Served, with a backup on request into the backup folder (which the server creates).
    let server_env = format!("ROLLBOOK_BACKUP_DIR={}", backups.display());
    let path = db.to_owned();
    let launched = tokio::task::spawn_blocking(move || {
        ServerProcess::launch_with(&path, &["env", &server_env, "/bin/sh", "-c", UMASK_022])
    })
    .await
    .unwrap();
    let mut server = match launched {
        Launch::Serving(server) => server,
        Launch::Exited { status, log } => panic!("rollbook exited with {status}: {log}"),
    };
    let client = reqwest::Client::new();
    let created = client
        .post(server.url("/api/v1/cohorts"))
        .bearer_auth(token)
        .json(&json!({
            "name": "Modes",
            "course": "MODE-600",
            "instructor": "Ada Lovelace",
            "capacity": 2,
            "starts_at": "2099-03-15T09:00:00Z",
            "enrollment_deadline": "2099-03-10T00:00:00Z",
            "withdrawal_deadline": "2099-03-20T00:00:00Z",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrolled = client
        .post(server.url(&format!("/api/v1/cohorts/{id}/enrollments")))
        .bearer_auth(token)
        .json(&json!({"learner": "lena@example.org", "name": "Lena"}))
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status(), 200);
    let backed_up = client
        .post(server.url("/api/v1/admin/backups"))
        .bearer_auth(token)
        .json(&json!({"name": "online.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(backed_up.status(), 201);
    server.kill_9();
}

/// Verify (a scratch copy), export, import, backup, restore into a new file and erase (which
/// rewrites the database) with the binary; returns the backup it made 0644 itself.
fn offline_flows(root: &Path, db: &Path) -> PathBuf {
    // Offline: verify (a scratch copy), export, import, backup, restore into a new file.
    rollbook(&[os("verify"), os("--db"), db.as_os_str()], "");
    let export = root.join("export.jsonl");
    rollbook(
        &[
            os("export"),
            os("--db"),
            db.as_os_str(),
            os("--out"),
            export.as_os_str(),
        ],
        "",
    );
    let imported = root.join("imported.redb");
    rollbook(
        &[
            os("import"),
            export.as_os_str(),
            os("--db"),
            imported.as_os_str(),
        ],
        "",
    );
    let offline = root.join("offline.redb");
    rollbook(
        &[
            os("backup"),
            os("--out"),
            offline.as_os_str(),
            os("--db"),
            db.as_os_str(),
        ],
        "",
    );
    // A restore copies the backup: its mode must not be carried over.
    std::fs::set_permissions(&offline, std::fs::Permissions::from_mode(0o644)).unwrap();
    let restored = root.join("restored.redb");
    rollbook(
        &[
            os("restore"),
            os("--from"),
            offline.as_os_str(),
            os("--db"),
            restored.as_os_str(),
        ],
        "",
    );
    // An erasure rewrites the database into a new file: the old mode is not carried over.
    std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o644)).unwrap();
    rollbook(
        &[
            os("learner"),
            os("erase"),
            os("lena@example.org"),
            os("--yes"),
            os("--db"),
            db.as_os_str(),
        ],
        "",
    );

    offline
}

/// An older format's database (copied 0644 from the fixture), upgraded after a backup copy of
/// it is written beside it; returns it.
fn upgraded_old_file(root: &Path) -> PathBuf {
    // A database of an older format (copied 0644 from the fixture) is upgraded after a backup
    // copy of it is written beside it.
    let old = root.join("old.redb");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/release-0.1.0/rollbook.redb"),
        &old,
    )
    .unwrap();
    assert_eq!(mode(&old), 0o644);
    rollbook(&[os("verify"), os("--db"), old.as_os_str()], "");
    rollbook(&[os("user"), os("list"), os("--db"), old.as_os_str()], "");

    old
}

#[tokio::test]
async fn every_file_the_binary_creates_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = root.join("rollbook.redb");
    let backups = root.join("backups");

    // The control: under this umask a file created the ordinary way is readable by all.
    let control = root.join("control");
    let status = Command::new("/bin/sh")
        .args(["-c", "umask 022; : > \"$0\"", control.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(mode(&control), 0o644, "umask 022 leaves a plain file 0644");

    // The database, created by the command line; a token for the API.
    rollbook(
        &[
            os("user"),
            os("add"),
            os("ops"),
            os("--role"),
            os("admin"),
            os("--password-stdin"),
            os("--db"),
            db.as_os_str(),
        ],
        "a long enough password\n",
    );
    let token = rollbook(
        &[
            os("token"),
            os("create"),
            os("ops"),
            os("--label"),
            os("modes"),
            os("--db"),
            db.as_os_str(),
        ],
        "",
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();

    serve_and_back_up(&db, &backups, &token).await;
    let offline = offline_flows(root, &db);
    let old = upgraded_old_file(root);

    let mut found = Vec::new();
    walk(root, &mut found);
    let names: Vec<String> = found
        .iter()
        .map(|(p, _)| p.strip_prefix(root).unwrap().display().to_string())
        .collect();
    for expected in [
        "rollbook.redb",
        "backups",
        "backups/online.redb",
        "backups/online.redb.manifest.json",
        "export.jsonl",
        "imported.redb",
        "offline.redb.manifest.json",
        "restored.redb",
        "old.redb.format1.backup",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} was made: {names:?}"
        );
    }
    // Files this test made or chmod-ed itself, not rollbook: the control, the fixture's copy
    // (upgraded in place, so it keeps its mode) and the backup made 0644 for the restore.
    let ours = [control, old, offline];
    let open: Vec<String> = found
        .iter()
        .filter(|(path, mode)| !ours.contains(path) && mode & 0o077 != 0)
        .map(|(path, mode)| format!("{} {mode:o}", path.display()))
        .collect();
    assert!(open.is_empty(), "readable or writable by others: {open:#?}");
    // No scratch or temporary file was left behind.
    assert!(
        names
            .iter()
            .all(|n| !n.contains("/.") && !n.starts_with('.')),
        "{names:?}"
    );
}
