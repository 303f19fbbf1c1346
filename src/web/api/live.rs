//! The live feed, `GET /api/v1/events/stream`: the global feed as Server-Sent Events. Each
//! stream first sends the history after `after` (or `Last-Event-ID`) from the store, page by
//! page, then joins the hub, which reads each commit's events once, after the projections have
//! applied them, and hands them to every stream whose filters let them through.
//!
//! Bounded everywhere: a stream holds at most `buffer` events waiting for its client; one that
//! would need more is cut with a final `event: error` (`slow_consumer`) and its client can
//! resume with `Last-Event-ID`; if it does not take what is left (the events it was sent and
//! that last event) within `cut_grace`, because it reads nothing at all, the server closes its
//! connection ([`CloseConnection`]), so its stream's place and memory are released. At most
//! `max_streams` are open at once. The writer is never
//! waited on: the hub learns of commits from a `watch` of the applied position, and hands
//! events on without waiting, under a lock held for no await.
//!
//! Each event's SSE text (`id:`, `event:`, `data:`) is rendered once, and a stream is handed
//! one chunk of bytes per page of commits holding every event it wants: the streams that
//! want the whole page share one concatenation, so the cost per stream is per page, not per
//! event. A stream's bound stays counted in events (a semaphore of event permits).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot, watch};

use super::super::AppState;
use super::super::error::ApiError;
use super::event_json;
use super::feed::FeedParams;
use crate::projections::ReadModel;
use crate::serve::CloseConnection;
use crate::store::{Envelope, History};

/// Events read from the store at a time, for the history and for the hub.
const PAGE: usize = 256;

/// The live feed's limits.
#[derive(Clone, Copy, Debug)]
pub struct LiveFeedOptions {
    /// The most streams open at once; one more is refused (503 `too_many_streams`).
    pub max_streams: usize,
    /// The most events one stream holds for a client that has not taken them yet; a client
    /// that falls further behind is cut.
    pub buffer: usize,
    /// A `: keep-alive` comment is sent after this long without an event.
    pub heartbeat: Duration,
    /// How long the client of a stream the server cut has to take what is left (the events
    /// already handed to it and the reason) before its connection is closed.
    pub cut_grace: Duration,
}

impl Default for LiveFeedOptions {
    fn default() -> Self {
        Self {
            max_streams: 1000,
            buffer: 8192,
            heartbeat: Duration::from_secs(15),
            cut_grace: Duration::from_secs(30),
        }
    }
}

/// Why a stream was ended by the server, sent as its last event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    /// The client did not take its events fast enough.
    SlowConsumer,
    /// The server is stopping.
    ShuttingDown,
}

impl Cut {
    fn code(self) -> &'static str {
        match self {
            Self::SlowConsumer => "slow_consumer",
            Self::ShuttingDown => "shutting_down",
        }
    }

    fn message(self, buffer: usize) -> String {
        match self {
            Self::SlowConsumer => format!(
                "the client fell more than {buffer} events behind; reconnect with Last-Event-ID \
                 to resume after the last event received"
            ),
            Self::ShuttingDown => "the server is stopping; reconnect with Last-Event-ID to \
                                   resume after the last event received"
                .to_owned(),
        }
    }
}

/// Why a stream was cut, once it is, and a signal to its watchdog when that happens.
#[derive(Debug, Default)]
struct CutSignal {
    reason: OnceLock<Cut>,
    set: Notify,
}

impl CutSignal {
    /// Records the first reason a stream is cut for (its channel's sender is dropped next).
    fn cut(&self, reason: Cut) {
        if self.reason.set(reason).is_ok() {
            self.set.notify_one();
        }
    }

    fn reason(&self) -> Option<Cut> {
        self.reason.get().copied()
    }
}

/// Some events' SSE text, one after the other, handed to a stream at once.
struct Chunk {
    bytes: Bytes,
    /// How many events `bytes` holds.
    events: usize,
}

/// The sending side of one stream: its chunks, and its room in events (a permit per event
/// that may wait for its client; the stream gives the permits back as it takes chunks).
struct Outbox {
    chunks: mpsc::UnboundedSender<Chunk>,
    room: Arc<Semaphore>,
}

/// One stream as the hub knows it, once its history is sent.
struct Subscriber {
    /// It has been sent every event up to here.
    from: u64,
    params: FeedParams,
    outbox: Outbox,
    cut: Arc<CutSignal>,
}

#[derive(Default)]
struct Hub {
    /// The hub has handed on every event up to here.
    position: u64,
    subscribers: Vec<Subscriber>,
    closed: bool,
}

/// The live feed: its limits, the streams open and the hub.
pub struct LiveFeed {
    options: LiveFeedOptions,
    open: AtomicUsize,
    hub: Mutex<Hub>,
    /// Streams cut as slow consumers, and events handed to connections (for `/metrics`).
    cut_slow: AtomicU64,
    frames_sent: AtomicU64,
}

impl std::fmt::Debug for LiveFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFeed")
            .field("options", &self.options)
            .field("open", &self.open.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for LiveFeed {
    fn default() -> Self {
        Self::new(LiveFeedOptions::default())
    }
}

impl LiveFeed {
    /// A live feed with these limits whose hub starts after `position` (what the projections
    /// have applied when the server starts); [`LiveFeed::run`] serves it.
    #[must_use]
    pub fn starting_at(options: LiveFeedOptions, position: u64) -> Self {
        let live = Self::new(options);
        live.hub().position = position;
        live
    }

    /// A live feed with these limits, its hub starting at position 0.
    #[must_use]
    pub fn new(options: LiveFeedOptions) -> Self {
        Self {
            options: LiveFeedOptions {
                max_streams: options.max_streams.max(1),
                buffer: options.buffer.clamp(1, Semaphore::MAX_PERMITS),
                ..options
            },
            open: AtomicUsize::new(0),
            hub: Mutex::default(),
            cut_slow: AtomicU64::new(0),
            frames_sent: AtomicU64::new(0),
        }
    }

    fn hub(&self) -> std::sync::MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Streams open now.
    #[must_use]
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Its counts since the start, for `/metrics`.
    #[must_use]
    pub fn counts(&self) -> crate::metrics::LiveFeedCounts {
        crate::metrics::LiveFeedCounts {
            open: self.open_streams() as u64,
            cut_slow: self.cut_slow.load(Ordering::Relaxed),
            frames_sent: self.frames_sent.load(Ordering::Relaxed),
        }
    }

    /// Ends every stream (each gets a final `shutting_down` event) and refuses new ones: at
    /// shutdown, so the server's graceful stop does not wait on them.
    pub fn close(&self) {
        let mut hub = self.hub();
        hub.closed = true;
        for subscriber in hub.subscribers.drain(..) {
            subscriber.cut.cut(Cut::ShuttingDown);
        }
    }

    /// The hub: from the position it was made at, reads each commit's events once
    /// (after the projections have applied them, off the async threads) and hands them to the
    /// streams, until `stop` turns true.
    pub async fn run(
        self: Arc<Self>,
        read: Arc<ReadModel>,
        history: History,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut applied = read.applied_positions();
        // Streams may join before this task first runs: they join at the hub's position, so
        // the hub goes on from there, not from what has been applied since.
        let mut position = self.hub().position;
        loop {
            let head = *applied.borrow_and_update();
            {
                // No stream to hand events to: nothing to read (a stream joining later reads
                // its history up to the hub's position itself).
                let mut hub = self.hub();
                if hub.subscribers.is_empty() {
                    hub.position = hub.position.max(head);
                    position = hub.position;
                }
            }
            while position < head {
                let after = position;
                let history = history.clone();
                let read_page =
                    tokio::task::spawn_blocking(move || history.read()?.events_after(after, PAGE))
                        .await;
                let envelopes = match read_page {
                    Ok(Ok(envelopes)) => envelopes,
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "live feed: cannot read committed events");
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "live feed: read task failed");
                        break;
                    }
                };
                let envelopes: Vec<Envelope> = envelopes
                    .into_iter()
                    .take_while(|e| e.position <= head)
                    .collect();
                let Some(last) = envelopes.last().map(|e| e.position) else {
                    break;
                };
                let frames: Vec<Bytes> = {
                    let read = read.read();
                    envelopes
                        .iter()
                        .map(|e| frame(e, &read.directory))
                        .collect()
                };
                self.hand_on(&envelopes, &frames, last);
                position = last;
            }
            tokio::select! {
                changed = applied.changed() => if changed.is_err() { break },
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        self.close();
    }

    /// Hands `envelopes` (with their `frames`) to every stream that wants them, one chunk per
    /// stream; cuts those whose buffer is full and forgets those whose client has gone.
    fn hand_on(&self, envelopes: &[Envelope], frames: &[Bytes], last: u64) {
        let buffer = self.options.buffer;
        // The whole page, built once for every stream that wants all of it.
        let mut whole: Option<Bytes> = None;
        let mut wanted: Vec<usize> = Vec::with_capacity(frames.len());
        let mut hub = self.hub();
        hub.subscribers.retain(|s| {
            wanted.clear();
            wanted.extend(
                envelopes
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.position > s.from && s.params.matches(e))
                    .map(|(i, _)| i),
            );
            if wanted.is_empty() {
                return !s.outbox.chunks.is_closed();
            }
            // Only the hub takes permits once a stream has joined it: what is free now stays free.
            let fits = wanted.len().min(s.outbox.room.available_permits());
            if fits > 0 {
                let bytes = if fits == frames.len() {
                    whole.get_or_insert_with(|| concat(frames.iter())).clone()
                } else {
                    concat(wanted[..fits].iter().map(|&i| &frames[i]))
                };
                // Cannot fail (only the hub takes permits now); were it to, the stream is cut
                // rather than given events its room does not count.
                let Ok(permits) = s.outbox.room.try_acquire_many(permit_count(fits)) else {
                    s.cut.cut(Cut::SlowConsumer);
                    self.cut_slow.fetch_add(1, Ordering::Relaxed);
                    return false;
                };
                permits.forget();
                let chunk = Chunk {
                    bytes,
                    events: fits,
                };
                if s.outbox.chunks.send(chunk).is_err() {
                    return false;
                }
            }
            if fits < wanted.len() {
                tracing::info!(buffer, "live feed: a client fell behind; stream cut");
                s.cut.cut(Cut::SlowConsumer);
                self.cut_slow.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            !s.outbox.chunks.is_closed()
        });
        hub.position = hub.position.max(last);
    }
}

/// `n` events' permits (a stream's buffer is at most [`Semaphore::MAX_PERMITS`]; a chunk
/// holds at most a page, or the buffer, of events).
fn permit_count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The frames one after the other, in one buffer (one frame is shared, not copied).
fn concat<'a>(frames: impl Iterator<Item = &'a Bytes> + Clone) -> Bytes {
    let mut count = frames.clone();
    if let (Some(only), None) = (count.next(), count.next()) {
        return only.clone();
    }
    let len = frames.clone().map(Bytes::len).sum();
    let mut all = Vec::with_capacity(len);
    for frame in frames {
        all.extend_from_slice(frame);
    }
    Bytes::from(all)
}

/// An event as the live feed sends it: `id:` its position, `event:` its type, `data:` the
/// feed's JSON of it (one line: JSON text has its line breaks escaped), then a blank line.
fn frame(envelope: &Envelope, directory: &crate::projections::Directory) -> Bytes {
    let data = serde_json::to_string(&event_json(envelope, directory))
        .unwrap_or_else(|_| String::from("{}"));
    event_text(Some(envelope.position), envelope.event.type_name(), &data)
}

/// The text of one SSE event, as axum's `Sse` writes it: `id: `, `event: `, `data: ` lines
/// (`data` must hold no line break), then an empty line.
fn event_text(id: Option<u64>, event: &str, data: &str) -> Bytes {
    debug_assert!(!data.contains(['\r', '\n']) && !event.contains(['\r', '\n']));
    let mut text = String::with_capacity(data.len() + event.len() + 40);
    if let Some(id) = id {
        text.push_str("id: ");
        text.push_str(&id.to_string());
        text.push('\n');
    }
    text.push_str("event: ");
    text.push_str(event);
    text.push_str("\ndata: ");
    text.push_str(data);
    text.push_str("\n\n");
    Bytes::from(text)
}

/// The comment sent after a heartbeat without an event.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// A place among the open streams, given back when the stream ends.
struct Place(Arc<LiveFeed>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the client receives: the chunks handed to its outbox, a `: keep-alive` comment after
/// each heartbeat without one, then, if the server cut the stream, one `error` event saying why.
struct LiveStream {
    chunks: mpsc::UnboundedReceiver<Chunk>,
    room: Arc<Semaphore>,
    cut: Arc<CutSignal>,
    buffer: usize,
    done: bool,
    place: Place,
    heartbeat: Duration,
    quiet: Pin<Box<tokio::time::Sleep>>,
    /// Dropped with the stream: its watchdog stops.
    _ended: oneshot::Sender<()>,
}

impl LiveStream {
    fn sent_something(&mut self) {
        let next = tokio::time::Instant::now() + self.heartbeat;
        self.quiet.as_mut().reset(next);
    }
}

impl futures_core::Stream for LiveStream {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.chunks.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => {
                self.room.add_permits(chunk.events);
                self.place
                    .0
                    .frames_sent
                    .fetch_add(chunk.events as u64, Ordering::Relaxed);
                self.sent_something();
                Poll::Ready(Some(Ok(chunk.bytes)))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(self.cut.reason().map(|cut| {
                    let data = json!({"code": cut.code(), "message": cut.message(self.buffer)});
                    Ok(event_text(None, "error", &data.to_string()))
                }))
            }
            Poll::Pending => {
                if self.quiet.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.sent_something();
                Poll::Ready(Some(Ok(Bytes::from_static(KEEP_ALIVE))))
            }
        }
    }
}

/// `GET /api/v1/events/stream`.
pub(in crate::web) async fn stream(
    State(state): State<AppState>,
    closer: Option<Extension<CloseConnection>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut params = FeedParams::parse(query.as_deref())?;
    if let Some(last) = headers.get("last-event-id") {
        params.after = last
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_parameter",
                    "Last-Event-ID: must be the id (a position) of an event this feed sent",
                )
            })?;
    }
    let live = state.live.clone();
    if live.hub().closed {
        return Err(unavailable(
            "shutting_down",
            "the server is stopping".to_owned(),
        ));
    }
    let max = live.options.max_streams;
    if live.open.fetch_add(1, Ordering::Relaxed) >= max {
        live.open.fetch_sub(1, Ordering::Relaxed);
        return Err(unavailable(
            "too_many_streams",
            format!("{max} live streams are open, the most this server serves; try again later"),
        ));
    }
    let place = Place(live.clone());
    let (sender, chunks) = mpsc::unbounded_channel();
    let room = Arc::new(Semaphore::new(live.options.buffer));
    let outbox = Outbox {
        chunks: sender,
        room: room.clone(),
    };
    let cut = Arc::new(CutSignal::default());
    let (ended, stream_ended) = oneshot::channel();
    // Without the server's accept loop (a router tested alone) there is no connection to close.
    if let Some(Extension(closer)) = closer {
        tokio::spawn(watchdog(
            cut.clone(),
            stream_ended,
            closer,
            live.options.cut_grace,
        ));
    }
    tokio::spawn(send_history(state, params, outbox, cut.clone()));
    let heartbeat = live.options.heartbeat;
    let body = LiveStream {
        chunks,
        room,
        cut,
        buffer: live.options.buffer,
        done: false,
        place,
        heartbeat,
        quiet: Box::pin(tokio::time::sleep(heartbeat)),
        _ended: ended,
    };
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies that buffer answers (nginx) pass this one on as it comes.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// Once the stream is cut, gives its client `grace` to take what is left; then, if the stream
/// is still there (its client reads nothing, so the answer cannot be written and hyper does not
/// ask the stream for more), closes the connection, which drops the stream and its place.
async fn watchdog(
    cut: Arc<CutSignal>,
    mut ended: oneshot::Receiver<()>,
    closer: CloseConnection,
    grace: Duration,
) {
    tokio::select! {
        () = cut.set.notified() => {}
        _ = &mut ended => return,
    }
    tokio::select! {
        () = tokio::time::sleep(grace) => {
            tracing::info!(
                grace_seconds = grace.as_secs_f64(),
                "live feed: a cut stream's client took nothing; connection closed"
            );
            closer.close();
        }
        _ = ended => {}
    }
}

fn unavailable(code: &'static str, message: String) -> ApiError {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code,
        message,
    }
}

/// Sends the history after `params.after` up to what the projections have applied, then hands
/// the stream to the hub at the position it reached (the hub sends only what comes after).
async fn send_history(state: AppState, params: FeedParams, outbox: Outbox, cut: Arc<CutSignal>) {
    let live = state.live.clone();
    let mut from = params.after;
    loop {
        let head = state.read.read().position;
        while from < head {
            if live.hub().closed {
                cut.cut(Cut::ShuttingDown);
                return;
            }
            let (envelopes, reached) = match history_page(&state, &params, from, head).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "live feed: cannot read the history");
                    return;
                }
            };
            let frames: Vec<Bytes> = {
                let read = state.read.read();
                envelopes
                    .iter()
                    .map(|e| frame(e, &read.directory))
                    .collect()
            };
            for part in frames.chunks(live.options.buffer) {
                // The history waits for a slow client (it is in the store, not in memory), but
                // not forever, and not for a client that has gone.
                let room = tokio::select! {
                    room = tokio::time::timeout(
                        live.options.heartbeat * 2,
                        outbox.room.acquire_many(permit_count(part.len())),
                    ) => room,
                    () = outbox.chunks.closed() => return,
                };
                match room {
                    Ok(Ok(permits)) => permits.forget(),
                    Ok(Err(_)) => return,
                    Err(_) => {
                        cut.cut(Cut::SlowConsumer);
                        live.cut_slow.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
                let chunk = Chunk {
                    bytes: concat(part.iter()),
                    events: part.len(),
                };
                if outbox.chunks.send(chunk).is_err() {
                    return;
                }
            }
            from = reached;
        }
        let mut hub = live.hub();
        if hub.closed {
            cut.cut(Cut::ShuttingDown);
            return;
        }
        if hub.position <= from {
            hub.subscribers.push(Subscriber {
                from,
                params,
                outbox,
                cut,
            });
            return;
        }
    }
}

/// The events of the history after `from` up to `head` that `params` lets through, a page at a
/// time, and the position the page reached.
async fn history_page(
    state: &AppState,
    params: &FeedParams,
    from: u64,
    head: u64,
) -> Result<(Vec<Envelope>, u64), super::super::ReadError> {
    if params.is_filtered() {
        let positions =
            state
                .read
                .read()
                .feed_positions(from, &params.kinds, &params.cohorts, PAGE);
        let reached = if positions.len() < PAGE {
            head
        } else {
            positions.last().copied().unwrap_or(head)
        };
        let positions: Vec<u64> = positions.into_iter().filter(|p| *p <= head).collect();
        let envelopes = state
            .read_store(move |s| s.read()?.events_at(&positions))
            .await?;
        Ok((envelopes, reached.min(head)))
    } else {
        let mut envelopes = state
            .read_store(move |s| s.read()?.events_after(from, PAGE))
            .await?;
        envelopes.retain(|e| e.position <= head);
        let reached = envelopes.last().map_or(head, |e| e.position);
        Ok((envelopes, reached))
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use axum::response::sse::{Event as SseEvent, Sse};
    use jiff::Timestamp;
    use uuid::Uuid;

    use super::*;
    use crate::domain::{Capacity, CohortCreated, CohortId, Event};
    use crate::store::{Actor, CommandMeta};

    fn envelope(position: u64, cohort: u128) -> Envelope {
        let at: Timestamp = "2026-03-01T09:00:00Z".parse().unwrap();
        Envelope {
            position,
            cohort: CohortId(Uuid::from_u128(cohort)),
            version: 1,
            schema_version: 1,
            event: Event::CohortCreated(CohortCreated {
                name: "P".to_owned(),
                course: "C".to_owned(),
                instructor: "I".to_owned(),
                capacity: Capacity::new(1).unwrap(),
                starts_at: at,
                enrollment_deadline: at,
                withdrawal_deadline: at,
                ends_at: None,
            }),
            occurred_at: at,
            recorded_at: at,
            meta: CommandMeta {
                actor: Actor::local(),
                command_id: Uuid::from_u128(position.into()),
                correlation_id: Uuid::from_u128(position.into()),
                causation_id: Uuid::from_u128(position.into()),
            },
        }
    }

    type Item = Result<SseEvent, std::convert::Infallible>;

    /// A stream of the events given.
    struct Events(std::vec::IntoIter<Item>);

    impl futures_core::Stream for Events {
        type Item = Item;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Item>> {
            Poll::Ready(self.0.next())
        }
    }

    /// The text the feed writes is what axum's `Sse` wrote for the same events and heartbeat.
    #[tokio::test]
    async fn events_and_heartbeats_are_written_byte_for_byte_as_axum_wrote_them() {
        let data = r#"{"position":42,"type":"cohort.created","data":{"name":"a \"b\"\nc"}}"#;
        let error = r#"{"code":"slow_consumer","message":"m"}"#;
        let events: Vec<Item> = vec![
            Ok(SseEvent::default()
                .id("42")
                .event("cohort.created")
                .data(data)),
            Ok(SseEvent::default().comment("keep-alive")),
            Ok(SseEvent::default().event("error").data(error)),
        ];
        let axum = Sse::new(Events(events.into_iter())).into_response();
        let axum = axum::body::to_bytes(axum.into_body(), usize::MAX)
            .await
            .unwrap();
        let ours = [
            event_text(Some(42), "cohort.created", data),
            Bytes::from_static(KEEP_ALIVE),
            event_text(None, "error", error),
        ]
        .concat();
        assert_eq!(
            std::str::from_utf8(&ours).unwrap(),
            std::str::from_utf8(&axum).unwrap()
        );
    }

    fn subscriber(feed: &LiveFeed, params: FeedParams) -> mpsc::UnboundedReceiver<Chunk> {
        let (chunks, receiver) = mpsc::unbounded_channel();
        feed.hub().subscribers.push(Subscriber {
            from: 0,
            params,
            outbox: Outbox {
                chunks,
                room: Arc::new(Semaphore::new(feed.options.buffer)),
            },
            cut: Arc::new(CutSignal::default()),
        });
        receiver
    }

    /// A page of commits reaches each stream as one chunk: the whole page, shared by the
    /// streams that want all of it, or the frames a filtered stream wants, in order.
    #[test]
    fn a_page_reaches_each_stream_as_one_chunk_of_its_frames() {
        let feed = LiveFeed::new(LiveFeedOptions::default());
        let mut whole = subscriber(&feed, FeedParams::default());
        let mut also_whole = subscriber(&feed, FeedParams::default());
        let mut cohort_2 = subscriber(
            &feed,
            FeedParams {
                cohorts: vec![CohortId(Uuid::from_u128(2))],
                ..FeedParams::default()
            },
        );
        let envelopes = [
            envelope(1, 1),
            envelope(2, 2),
            envelope(3, 1),
            envelope(4, 2),
        ];
        let frames: Vec<Bytes> = envelopes
            .iter()
            .map(|e| event_text(Some(e.position), "cohort.created", "{}"))
            .collect();
        feed.hand_on(&envelopes, &frames, 4);

        let chunk = whole.try_recv().unwrap();
        assert_eq!(chunk.events, 4);
        assert_eq!(chunk.bytes, frames.concat());
        assert!(whole.try_recv().is_err(), "one chunk for the page");
        let other = also_whole.try_recv().unwrap();
        assert_eq!(
            other.bytes.as_ptr(),
            chunk.bytes.as_ptr(),
            "shared, not copied"
        );

        let chunk = cohort_2.try_recv().unwrap();
        assert_eq!(chunk.events, 2);
        assert_eq!(chunk.bytes, [frames[1].clone(), frames[3].clone()].concat());
        assert!(cohort_2.try_recv().is_err(), "one chunk for the page");
    }

    /// The buffer is counted in events, not chunks: a page that does not fit is sent as far as
    /// it fits, then the stream is cut.
    #[test]
    fn a_stream_with_less_room_than_the_page_gets_what_fits_and_is_cut() {
        let feed = LiveFeed::new(LiveFeedOptions {
            buffer: 3,
            ..LiveFeedOptions::default()
        });
        let mut stream = subscriber(&feed, FeedParams::default());
        let envelopes = [envelope(1, 1), envelope(2, 1)];
        let frames: Vec<Bytes> = envelopes
            .iter()
            .map(|e| event_text(Some(e.position), "cohort.created", "{}"))
            .collect();
        feed.hand_on(&envelopes, &frames, 2);
        assert_eq!(stream.try_recv().unwrap().events, 2);
        // The client took nothing: one event of room is left for a page of two.
        let envelopes = [envelope(3, 1), envelope(4, 1)];
        feed.hand_on(&envelopes, &frames, 4);
        let chunk = stream.try_recv().unwrap();
        assert_eq!(chunk.events, 1);
        assert_eq!(chunk.bytes, frames[0]);
        assert!(matches!(
            stream.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        assert_eq!(feed.counts().cut_slow, 1);
        assert!(feed.hub().subscribers.is_empty());
    }
}
