//! The store-level comparison with the peer a user would pick instead: `SQLite` (WAL,
//! `synchronous=FULL`) through rusqlite, holding the very same encoded events in a hand-rolled
//! event table, against rollbook's `Store` doing the same work. Each operation runs in its own
//! process (`store-peer`, pinned like the server) and prints one JSON line.
//!
//! Appends: the first N events of a generated rollbook file, appended to a fresh database one
//! per transaction (durable) or in batches, both engines in one process taking turns. rollbook
//! appends them through `Store::commit` (its real append path: each event with its hash-chain
//! link, and the stream index); `SQLite` gets the same stored bytes (link and envelope). Scans: every event in position order, raw (bytes touched) or decoded by
//! rollbook's codec.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use redb::{ReadableDatabase as _, ReadableTable as _, TableDefinition};
use rollbook::store::{Batch, Envelope, Store, StoreOptions, StreamAppend};
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::codec_bridge;

/// rollbook's events table, by its frozen name and types (`src/store/tables.rs`).
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

/// The `SQLite` schema: a hand-rolled event table, its position the rowid, and a unique
/// (stream, version) index for per-stream reads and optimistic concurrency.
const SQLITE_SCHEMA: &str = "
    CREATE TABLE events(
        position INTEGER PRIMARY KEY,
        stream BLOB NOT NULL,
        version INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE UNIQUE INDEX events_stream_version ON events(stream, version);";

/// One stored event: its bytes as rollbook stored them, and their decoding.
pub struct Row {
    /// The value of rollbook's events table.
    pub bytes: Vec<u8>,
    /// The same, decoded.
    pub envelope: Envelope,
}

/// Reads the first `limit` events of a rollbook file, raw, and decodes them.
pub fn load_rows(path: &Path, limit: u64) -> anyhow::Result<Vec<Row>> {
    let db = redb::Database::builder()
        .open_read_only(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let txn = db.begin_read()?;
    let table = txn.open_table(EVENTS)?;
    let mut rows = Vec::new();
    for entry in table.iter()?.take(limit as usize) {
        let (_, value) = entry?;
        let bytes = value.value().to_vec();
        let envelope = codec_bridge::decode(codec_bridge::envelope_bytes(&bytes)?)?;
        rows.push(Row { bytes, envelope });
    }
    anyhow::ensure!(
        rows.len() as u64 == limit || limit == u64::MAX,
        "{} holds only {} events, {limit} wanted",
        path.display(),
        rows.len()
    );
    Ok(rows)
}

/// Opens a `SQLite` database the way the peer runs: WAL, `synchronous=FULL`, a 64 MiB page
/// cache like rollbook's redb cache.
pub fn open_sqlite(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    Ok(conn)
}

fn fresh(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn rate(events: usize, seconds: f64) -> f64 {
    events as f64 / seconds
}

/// Appends to a fresh rollbook store through `Store::commit`, one durable commit per call.
pub struct RollbookAppender {
    store: Store,
}

impl RollbookAppender {
    /// Creates the store at `path` (replacing any file there).
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        fresh(path)?;
        Ok(Self {
            store: Store::open(path, &StoreOptions::default())?,
        })
    }

    /// Appends `rows` (one event each, to their own streams) in one durable commit.
    pub fn commit(&self, rows: &[Row]) -> anyhow::Result<()> {
        let batch = Batch {
            appends: rows
                .iter()
                .map(|row| StreamAppend {
                    cohort: row.envelope.cohort,
                    expected_version: row.envelope.version - 1,
                    events: vec![row.envelope.event.clone()],
                    occurred_at: row.envelope.occurred_at,
                    meta: row.envelope.meta.clone(),
                    idempotency: None,
                })
                .collect(),
            ..Batch::default()
        };
        self.store.commit(&batch, jiff::Timestamp::now())?;
        Ok(())
    }
}

/// Appends the same stored bytes to a fresh `SQLite` peer, one transaction per call.
pub struct SqliteAppender {
    conn: Connection,
}

impl SqliteAppender {
    /// Creates the database at `path` (replacing any file there) with the event table.
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        fresh(path)?;
        let conn = open_sqlite(path)?;
        conn.execute_batch(SQLITE_SCHEMA)?;
        Ok(Self { conn })
    }

    /// Inserts `rows` in one transaction (`BEGIN IMMEDIATE … COMMIT`).
    pub fn commit(&self, rows: &[Row]) -> anyhow::Result<()> {
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO events(position, stream, version, data) VALUES (?1, ?2, ?3, ?4)",
        )?;
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        for row in rows {
            let e = &row.envelope;
            insert.execute(rusqlite::params![
                i64::try_from(e.position)?,
                e.cohort.0.as_bytes().as_slice(),
                i64::try_from(e.version)?,
                row.bytes.as_slice()
            ])?;
        }
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Closes the connection (checkpointing the WAL into the file).
    pub fn close(self) -> anyhow::Result<()> {
        self.conn.close().map_err(|(_, e)| e)?;
        Ok(())
    }
}

/// Appends `rows` to a fresh rollbook store and a fresh `SQLite` peer in `dir`, `batch` events per
/// durable transaction. The two engines take turns every `slice` transactions (alternating who
/// goes first) and each one's time is summed, so a disk whose fsync rate swings from minute to
/// minute slows both alike.
pub fn append_pair(rows: &[Row], dir: &Path, batch: usize, slice: usize) -> anyhow::Result<Value> {
    let rollbook_path = dir.join("peer-append-rollbook.redb");
    let sqlite_path = dir.join("peer-append-sqlite.db");
    let rollbook = RollbookAppender::create(&rollbook_path)?;
    let sqlite = SqliteAppender::create(&sqlite_path)?;
    let batches: Vec<&[Row]> = rows.chunks(batch).collect();
    let (mut rollbook_time, mut sqlite_time) = (Duration::ZERO, Duration::ZERO);
    for (k, turn) in batches.chunks(slice.max(1)).enumerate() {
        for first in [k % 2 == 0, k % 2 == 1] {
            let started = Instant::now();
            if first {
                for b in turn {
                    rollbook.commit(b)?;
                }
                rollbook_time += started.elapsed();
            } else {
                for b in turn {
                    sqlite.commit(b)?;
                }
                sqlite_time += started.elapsed();
            }
        }
    }
    drop(rollbook);
    sqlite.close()?;
    let rollbook_bytes = std::fs::metadata(&rollbook_path)?.len();
    let sqlite_bytes = std::fs::metadata(&sqlite_path)?.len();
    fresh(&rollbook_path)?;
    fresh(&sqlite_path)?;
    let summary = |time: Duration, bytes: u64| {
        json!({
            "seconds": time.as_secs_f64(),
            "events_per_second": rate(rows.len(), time.as_secs_f64()),
            "file_bytes": bytes,
        })
    };
    Ok(json!({
        "events": rows.len(), "commits": batches.len(),
        "rollbook": summary(rollbook_time, rollbook_bytes),
        "sqlite": summary(sqlite_time, sqlite_bytes),
    }))
}

/// Reads every event of a rollbook file: raw (the bytes touched, like `rollbook scan`) or
/// decoded through `Reader::for_each_event` (the replay's read path).
pub fn scan_rollbook(path: &Path, decode: bool) -> anyhow::Result<Value> {
    let (events, bytes, seconds) = if decode {
        let store = Store::open(path, &StoreOptions::default())?;
        let started = Instant::now();
        let (mut events, mut bytes) = (0u64, 0u64);
        store.read()?.for_each_event(|e| {
            events += 1;
            bytes += std::hint::black_box(e).version;
        })?;
        (events, bytes, started.elapsed().as_secs_f64())
    } else {
        let db = redb::Database::builder()
            .set_cache_size(StoreOptions::default().cache_size)
            .open_read_only(path)?;
        let started = Instant::now();
        let txn = db.begin_read()?;
        let table = txn.open_table(EVENTS)?;
        let (mut events, mut bytes, mut touched) = (0u64, 0u64, 0u8);
        for entry in table.iter()? {
            let (_, value) = entry?;
            let value = value.value();
            touched = value.iter().fold(touched, |a, b| a.wrapping_add(*b));
            events += 1;
            bytes += value.len() as u64;
        }
        std::hint::black_box(touched);
        (events, bytes, started.elapsed().as_secs_f64())
    };
    Ok(json!({
        "engine": "rollbook", "decode": decode, "events": events, "checksum": bytes,
        "seconds": seconds, "events_per_second": events as f64 / seconds,
    }))
}

/// Reads every row of the `SQLite` peer in position order: raw (bytes touched) or decoded with
/// rollbook's codec.
pub fn scan_sqlite(path: &Path, decode: bool) -> anyhow::Result<Value> {
    let conn = open_sqlite(path)?;
    let started = Instant::now();
    let mut statement = conn.prepare("SELECT position, data FROM events ORDER BY position")?;
    let mut rows = statement.query([])?;
    let (mut events, mut sum, mut touched) = (0u64, 0u64, 0u8);
    while let Some(row) = rows.next()? {
        let position: i64 = row.get(0)?;
        let data = row.get_ref(1)?.as_blob()?;
        if decode {
            let envelope = codec_bridge::decode(codec_bridge::envelope_bytes(data)?)?;
            if envelope.position != position as u64 {
                bail!("row {position} holds event {}", envelope.position);
            }
            sum += std::hint::black_box(envelope).version;
        } else {
            touched = data.iter().fold(touched, |a, b| a.wrapping_add(*b));
            sum += data.len() as u64;
        }
        events += 1;
    }
    std::hint::black_box(touched);
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "engine": "sqlite", "decode": decode, "events": events, "checksum": sum,
        "seconds": seconds, "events_per_second": events as f64 / seconds,
    }))
}

/// Builds the `SQLite` peer of a whole rollbook file (10,000 rows per transaction).
pub fn prepare(src: &Path, out: &Path) -> anyhow::Result<Value> {
    let rows = load_rows(src, u64::MAX)?;
    let started = Instant::now();
    let sqlite = SqliteAppender::create(out)?;
    for chunk in rows.chunks(10_000) {
        sqlite.commit(chunk)?;
    }
    sqlite.close()?;
    Ok(json!({
        "events": rows.len(), "seconds": started.elapsed().as_secs_f64(),
        "file_bytes": std::fs::metadata(out)?.len(), "decoder_checked": true,
    }))
}

/// `store-peer OP …`: parses the arguments of one operation and prints its JSON line.
pub fn main_with_args(args: &[String]) -> anyhow::Result<()> {
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| -> anyhow::Result<&str> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
            .with_context(|| format!("{name} is required"))
    };
    let engine = || value("--engine");
    let result = match args.first().map(String::as_str) {
        Some("prepare") => prepare(Path::new(value("--src")?), Path::new(value("--out")?))?,
        Some("append") => {
            let events: u64 = value("--events")?.parse()?;
            let batch: usize = value("--batch")?.parse()?;
            let slice: usize = value("--slice")?.parse()?;
            let rows = load_rows(Path::new(value("--src")?), events)?;
            append_pair(&rows, Path::new(value("--dir")?), batch, slice)?
        }
        Some("scan") => {
            let file = Path::new(value("--file")?);
            match engine()? {
                "rollbook" => scan_rollbook(file, flag("--decode"))?,
                "sqlite" => scan_sqlite(file, flag("--decode"))?,
                other => bail!("unknown engine {other:?}"),
            }
        }
        Some("versions") => json!({
            "sqlite": rusqlite::version(), "decoder": codec_bridge::DECODER,
        }),
        _ => bail!(
            "usage: store-peer prepare --src ROLLBOOK --out SQLITE\n\
             \x20      store-peer append --src ROLLBOOK --events N --batch B --slice S --dir DIR\n\
             \x20      store-peer scan --engine rollbook|sqlite --file FILE [--decode]\n\
             \x20      store-peer versions"
        ),
    };
    println!("{result}");
    Ok(())
}
