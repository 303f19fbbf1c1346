//! Log output of the real binary: `--log-format json` (or `ROLLBOOK_LOG_FORMAT`) prints JSON
//! lines for every subcommand; text logs are coloured only on a terminal.

use std::process::Command;

use crate::helpers::process::BIN;
use serde_json::Value;

#[test]
fn log_format_json_prints_json_lines_and_text_has_no_colours_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "not a database").unwrap();

    let out = Command::new(BIN)
        .args(["--log-format", "json", "verify", "--db"])
        .arg(&path)
        .env_remove("ROLLBOOK_LOG_FORMAT")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let error = lines
        .iter()
        .find(|l| l["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no ERROR line in {stderr}"));
    assert!(
        error["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("is not a rollbook database"),
        "{error}"
    );

    // The environment variable does the same, after the subcommand too.
    let out = Command::new(BIN)
        .args(["verify", "--db"])
        .arg(&path)
        .env("ROLLBOOK_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "ERROR"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("is not a rollbook database"))),
        "the error, as a JSON line: {stderr}"
    );

    // Text (the default), to a pipe: no ANSI colour codes.
    let out = Command::new(BIN)
        .args(["verify", "--db"])
        .arg(&path)
        .env_remove("ROLLBOOK_LOG_FORMAT")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let error = stderr
        .lines()
        .find(|l| l.contains("ERROR"))
        .unwrap_or_else(|| panic!("no ERROR line: {stderr}"));
    assert!(error.contains("is not a rollbook database"), "{stderr}");
    assert!(
        serde_json::from_str::<Value>(error).is_err(),
        "text, not JSON: {error}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn the_flag_shows_in_help() {
    for subcommand in ["serve", "verify"] {
        let help = Command::new(BIN)
            .args([subcommand, "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        for flag in ["--log-format", "ROLLBOOK_LOG_FORMAT", "json"] {
            assert!(
                text.contains(flag),
                "{subcommand} --help mentions {flag}:\n{text}"
            );
        }
    }
}
