//! The real binary: its path, `rollbook serve` as a child process, and CLI runs.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_rollbook");

/// What launching `rollbook serve` led to.
pub enum Launch {
    /// It is serving.
    Serving(ServerProcess),
    /// It exited before serving.
    Exited { status: ExitStatus, log: String },
}

/// A `rollbook serve` child process, killed (SIGKILL) and reaped when dropped, so a failing
/// test leaves no server behind.
pub struct ServerProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// The log lines read so far.
    pub log: Vec<String>,
    /// `host:port` it listens on.
    pub addr: String,
}

impl ServerProcess {
    /// Starts `rollbook serve` on `db` and waits (on its log, not a timer) until it listens or
    /// exits. The timeout only guards against a hung test.
    pub fn launch(db: &Path) -> Launch {
        Self::launch_with(db, &[])
    }

    /// [`ServerProcess::launch`] through a wrapper command (e.g. `setpriv …` to run it as
    /// another user).
    pub fn launch_with(db: &Path, wrapper: &[&str]) -> Launch {
        Self::launch_with_args(db, wrapper, &[])
    }

    /// [`ServerProcess::launch_with`], running `rollbook serve ARGS`.
    pub fn launch_with_args(db: &Path, wrapper: &[&str], args: &[&str]) -> Launch {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(BIN);
                command
            }
            None => Command::new(BIN),
        };
        let mut child = command
            .arg("serve")
            .args(args)
            .env("ROLLBOOK_DB", db)
            .env("ROLLBOOK_LISTEN", "127.0.0.1:0")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("rollbook starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            lines,
            log: Vec::new(),
            addr: String::new(),
        };
        loop {
            match server.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let listening = line.split("listening on http://").nth(1).map(|rest| {
                        rest.chars()
                            .take_while(|c| !c.is_whitespace() && *c != '\u{1b}')
                            .collect::<String>()
                    });
                    server.log.push(line);
                    if let Some(addr) = listening {
                        server.addr = addr;
                        return Launch::Serving(server);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server.child.wait().expect("reaped");
                    let log = server.log.join("\n");
                    return Launch::Exited { status, log };
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("rollbook neither served nor exited; log: {:#?}", server.log)
                }
            }
        }
    }

    /// Starts `rollbook serve` on `db`, which must serve.
    pub fn start(db: &Path) -> Self {
        match Self::launch(db) {
            Launch::Serving(server) => server,
            Launch::Exited { status, log } => panic!("rollbook exited with {status}: {log}"),
        }
    }

    /// Starts `rollbook serve ARGS` on `db`, which must serve.
    pub fn start_with(db: &Path, args: &[&str]) -> Self {
        match Self::launch_with_args(db, &[], args) {
            Launch::Serving(server) => server,
            Launch::Exited { status, log } => panic!("rollbook exited with {status}: {log}"),
        }
    }

    /// Blocks until a log line contains `needle` (the process logs it; a generous timeout only
    /// guards against a hung test, it is not used for synchronisation).
    pub fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!("no log line with {needle:?}; log so far: {:#?}", self.log)
                });
            self.log.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Sends SIGTERM (a graceful stop).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit; returns how it ended.
    pub fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("reaped")
    }

    /// SIGKILL, then reap; returns how it ended.
    pub fn kill_9(&mut self) -> ExitStatus {
        // `Child::kill` sends SIGKILL on Unix: the same signal as `kill -KILL pid`, without the
        // milliseconds of spawning `kill` between the chosen moment and the signal.
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("reaped")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `rollbook ARGS --db DB` with `stdin` as standard input.
pub fn rollbook_cli(db: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rollbook runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("rollbook ends")
}

/// Adds the staff account `ops` with the CLI and returns an API token (labelled `label`) made
/// by the CLI.
pub fn staff_token(db: &Path, label: &str) -> String {
    let added = rollbook_cli(
        db,
        &["user", "add", "ops", "--role", "staff", "--password-stdin"],
        "a long enough password\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = rollbook_cli(db, &["token", "create", "ops", "--label", label], "");
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    String::from_utf8(token.stdout)
        .expect("token text")
        .trim()
        .to_owned()
}
