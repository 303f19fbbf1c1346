//! Offer links (issue 17, item 4): the signed, expiring, single-use accept and decline links a
//! learner receives with a waitlist offer, which work without an account.
//!
//! A token names one offer (its cohort, its learner, the position of its `waitlist.offered`
//! event and its expiry) and one action; it is those fields and an HMAC-SHA256 over them, made
//! with a key of 32 random bytes kept in the database ([`OfferLinkStore`]), in base64url without
//! padding. Verifying it compares the signature in constant time. What the link may still do
//! is never read from the token: [`OfferLinks::state`] asks the ledger (the projections) what
//! became of that offer — answered, expired, superseded by a later one, released — so a link
//! works once, for its own offer only, even without the record of its use that the store keeps
//! besides.
//!
//! This module owns the tokens and the reading of an offer's fate; it never appends (the web
//! layer submits the answer through the writer) and never holds personal data beyond the
//! learner's key it hands to that submission.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use jiff::Timestamp;
use uuid::Uuid;

use crate::domain::{CohortId, CohortStatus, Event, LearnerId};
use crate::projections::Projections;
use crate::store::{OfferLinkStore, StoreError, UsedOfferLink};

/// The longest token accepted in a path; anything longer is refused before it is decoded.
pub const MAX_TOKEN_LEN: usize = 128;
/// The token format this build makes and reads.
const VERSION: u8 = 1;
/// Version, action, cohort, learner, offer position, expiry (microseconds).
const PAYLOAD_LEN: usize = 1 + 1 + 16 + 16 + 8 + 8;
/// HMAC-SHA256.
const TAG_LEN: usize = 32;
/// Signed before the payload, so that no other signature made with the key could pass for a
/// token.
const DOMAIN: &[u8] = b"rollbook offer link\0";

/// The path of offer links: `/offers/{token}`.
pub const PATH_PREFIX: &str = "/offers/";

/// What a link does when confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfferAction {
    /// Take the seat (`offer.accepted`).
    Accept,
    /// Turn it down (`offer.declined`).
    Decline,
}

impl OfferAction {
    /// `accept` or `decline`, as forms post it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Decline => "decline",
        }
    }

    /// Reads [`OfferAction::as_str`].
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "accept" => Some(Self::Accept),
            "decline" => Some(Self::Decline),
            _ => None,
        }
    }

    /// The other action.
    #[must_use]
    pub const fn other(self) -> Self {
        match self {
            Self::Accept => Self::Decline,
            Self::Decline => Self::Accept,
        }
    }

    const fn code(self) -> u8 {
        match self {
            Self::Accept => 1,
            Self::Decline => 2,
        }
    }
}

/// What a verified token says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfferLink {
    /// The cohort of the offer.
    pub cohort: CohortId,
    /// The learner offered the seat.
    pub learner: LearnerId,
    /// The position of the offer's `waitlist.offered` event.
    pub offer_position: u64,
    /// What the link does.
    pub action: OfferAction,
    /// When the offer lapses (the offer's own `expires_at`).
    pub expires_at: Timestamp,
}

impl OfferLink {
    /// The same link for the other action.
    #[must_use]
    pub const fn other(self) -> Self {
        Self {
            action: self.action.other(),
            ..self
        }
    }
}

/// Why a token was refused. Every case is the same to the person holding it: the link is not a
/// link rollbook made (or not whole).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Longer than [`MAX_TOKEN_LEN`].
    #[error("the token is too long")]
    TooLong,
    /// Not base64url, or not the length of a token.
    #[error("the token is malformed")]
    Malformed,
    /// The signature does not match: changed, cut, or made with another key.
    #[error("the token's signature does not match")]
    BadSignature,
    /// Signed, but of a format this build does not read.
    #[error("the token is of an unknown version {0}")]
    UnknownVersion(u8),
}

/// A `--public-url` that cannot be the base of links people follow.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "--public-url {url:?}: {reason}; give the absolute http(s) address people use to reach \
     rollbook, e.g. https://rollbook.example.org"
)]
pub struct PublicUrlError {
    /// What was given.
    pub url: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks `--public-url` and returns it as the base links are made from (without a trailing
/// `/`): `http://` or `https://`, a host, an optional port and path, and nothing a link could
/// not carry (user info, a query, a fragment, spaces or control characters).
pub fn public_base(url: &str) -> Result<String, PublicUrlError> {
    let refuse = |reason| {
        Err(PublicUrlError {
            url: url.to_owned(),
            reason,
        })
    };
    let trimmed = url.trim();
    if trimmed.len() > 2048 {
        return refuse("longer than 2048 bytes");
    }
    if trimmed
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return refuse("it contains a space, a control character or a backslash");
    }
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return refuse("it must start with http:// or https://");
    };
    if scheme != "http" && scheme != "https" {
        return refuse("it must start with http:// or https://");
    }
    if rest.contains(['?', '#']) {
        return refuse("it may not have a query or a fragment");
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return refuse("it may not carry a user name or password");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => return refuse("its IPv6 address has no closing ]"),
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return refuse("it has no host");
    }
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return refuse("its port is not a number from 0 to 65535");
    }
    Ok(format!(
        "{scheme}://{authority}{}",
        path.trim_end_matches('/')
    ))
}

/// The two links of one offer, as the offer e-mail carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferLinkUrls {
    /// Opens the page that asks to confirm taking the seat.
    pub accept: String,
    /// Opens the page that asks to confirm turning it down.
    pub decline: String,
}

/// Making and checking offer links, and reading what became of their offers. Cheap to clone.
#[derive(Clone)]
pub struct OfferLinks {
    key: Arc<[u8; 32]>,
    /// `--public-url` without a trailing `/`; links need it.
    base: Option<Arc<str>>,
    /// Where used links are recorded (`None`: a maker of links only, see
    /// [`OfferLinks::from_key`]).
    store: Option<Arc<dyn OfferLinkStore>>,
}

impl fmt::Debug for OfferLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("OfferLinks")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Why offer links could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfferLinksError {
    /// `--public-url` is unusable.
    #[error(transparent)]
    PublicUrl(#[from] PublicUrlError),
    /// The key could not be read or stored.
    #[error("cannot load the offer link key: {0}")]
    Store(#[from] StoreError),
}

impl OfferLinks {
    /// Loads the signing key from `store` (making and storing one on the first call for a
    /// database), with links based at `public_url` (`None`: no links are made, and
    /// [`OfferLinks::urls`] answers `None`). Blocking: a store read, and a write the first time.
    pub fn load(
        store: Arc<dyn OfferLinkStore>,
        public_url: Option<&str>,
    ) -> Result<Self, OfferLinksError> {
        // The address is checked before anything is stored.
        Self::from_key([0; 32], public_url)?;
        let key = store.offer_link_key(crate::auth::secret::random_bytes())?;
        Ok(Self {
            store: Some(store),
            ..Self::from_key(key, public_url)?
        })
    }

    /// Links made and checked with `key` (as [`OfferLinkStore::offer_link_key`] gave it), based
    /// at `public_url`, without a store: nothing is recorded of their use. For tools and tests
    /// that read the key from a database no server holds open, and make the links a running
    /// server will take.
    pub fn from_key(key: [u8; 32], public_url: Option<&str>) -> Result<Self, PublicUrlError> {
        let base = public_url
            .filter(|u| !u.trim().is_empty())
            .map(public_base)
            .transpose()?
            .map(Arc::from);
        Ok(Self {
            key: Arc::new(key),
            base,
            store: None,
        })
    }

    /// The accept and decline links of the offer of `learner` in `cohort` made by the
    /// `waitlist.offered` event at `offer_position`, valid until `expires_at` (the offer's own);
    /// `None` when `--public-url` is not set.
    #[must_use]
    pub fn urls(
        &self,
        cohort: CohortId,
        learner: LearnerId,
        offer_position: u64,
        expires_at: Timestamp,
    ) -> Option<OfferLinkUrls> {
        let base = self.base.as_deref()?;
        let link = OfferLink {
            cohort,
            learner,
            offer_position,
            action: OfferAction::Accept,
            expires_at,
        };
        let url = |link: OfferLink| format!("{base}{PATH_PREFIX}{}", self.token(link));
        Some(OfferLinkUrls {
            accept: url(link),
            decline: url(link.other()),
        })
    }

    /// The token of `link`.
    #[must_use]
    pub fn token(&self, link: OfferLink) -> String {
        let payload = payload(&link);
        let mut bytes = Vec::with_capacity(PAYLOAD_LEN + TAG_LEN);
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&self.mac(&payload).finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks a token's signature (in constant time) and reads it. Says nothing of whether
    /// its offer may still be answered: see [`OfferLinks::state`].
    pub fn verify(&self, token: &str) -> Result<OfferLink, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Malformed)?;
        if bytes.len() != PAYLOAD_LEN + TAG_LEN {
            return Err(TokenError::Malformed);
        }
        let (payload, tag) = bytes.split_at(PAYLOAD_LEN);
        self.mac(payload)
            .verify_slice(tag)
            .map_err(|_| TokenError::BadSignature)?;
        read_payload(payload)
    }

    fn mac(&self, payload: &[u8]) -> hmac::Hmac<sha2::Sha256> {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(self.key.as_slice())
            .expect("HMAC takes a key of any length");
        mac.update(DOMAIN);
        mac.update(payload);
        mac
    }

    /// Whether the offer at `offer_position` was answered through a link (blocking).
    pub fn used(&self, offer_position: u64) -> Result<Option<UsedOfferLink>, StoreError> {
        match &self.store {
            Some(store) => store.offer_link_used(offer_position),
            None => Ok(None),
        }
    }

    /// Records that the offer at `offer_position` was answered through a link (blocking,
    /// durable; the first record stays).
    pub fn mark_used(&self, offer_position: u64, used: UsedOfferLink) -> Result<bool, StoreError> {
        match &self.store {
            Some(store) => store.mark_offer_link_used(offer_position, used),
            None => Ok(false),
        }
    }

    /// What became of `link`'s offer, read from the ledger at `now`.
    #[must_use]
    pub fn state(read: &Projections, link: &OfferLink, now: Timestamp) -> OfferState {
        offer_state(read, link, now)
    }
}

fn payload(link: &OfferLink) -> [u8; PAYLOAD_LEN] {
    let mut out = [0u8; PAYLOAD_LEN];
    out[0] = VERSION;
    out[1] = link.action.code();
    out[2..18].copy_from_slice(link.cohort.0.as_bytes());
    out[18..34].copy_from_slice(link.learner.0.as_bytes());
    out[34..42].copy_from_slice(&link.offer_position.to_be_bytes());
    out[42..50].copy_from_slice(&link.expires_at.as_microsecond().to_be_bytes());
    out
}

fn read_payload(payload: &[u8]) -> Result<OfferLink, TokenError> {
    let field = |range: std::ops::Range<usize>| payload.get(range).ok_or(TokenError::Malformed);
    let version = *payload.first().ok_or(TokenError::Malformed)?;
    if version != VERSION {
        return Err(TokenError::UnknownVersion(version));
    }
    let action = match payload.get(1) {
        Some(1) => OfferAction::Accept,
        Some(2) => OfferAction::Decline,
        _ => return Err(TokenError::Malformed),
    };
    let uuid = |bytes: &[u8]| {
        <[u8; 16]>::try_from(bytes)
            .map(Uuid::from_bytes)
            .map_err(|_| TokenError::Malformed)
    };
    let eight = |bytes: &[u8]| <[u8; 8]>::try_from(bytes).map_err(|_| TokenError::Malformed);
    let expires = i64::from_be_bytes(eight(field(42..50)?)?);
    Ok(OfferLink {
        action,
        cohort: CohortId(uuid(field(2..18)?)?),
        learner: LearnerId(uuid(field(18..34)?)?),
        offer_position: u64::from_be_bytes(eight(field(34..42)?)?),
        expires_at: Timestamp::from_microsecond(expires).map_err(|_| TokenError::Malformed)?,
    })
}

/// What became of an offer a link names, as the ledger tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferState {
    /// Still held for the learner: the link may answer it.
    Open(OpenOffer),
    /// The learner took the seat (through a link, or staff for them) at this time.
    Accepted {
        /// The cohort's name.
        cohort_name: String,
        /// When.
        at: Timestamp,
    },
    /// The offer was turned down at this time.
    Declined {
        /// The cohort's name.
        cohort_name: String,
        /// When.
        at: Timestamp,
        /// Where the seat went then (no one's name).
        seat: SeatWent,
    },
    /// The hold ran out (recorded, or due and about to be).
    Expired {
        /// The cohort's name.
        cohort_name: String,
        /// When it lapsed.
        at: Timestamp,
    },
    /// The cohort was cancelled.
    Cancelled {
        /// The cohort's name.
        cohort_name: String,
        /// When.
        at: Timestamp,
    },
    /// The learner left the offer some other way (moved to another cohort by staff), at this
    /// time.
    Ended {
        /// The cohort's name.
        cohort_name: String,
        /// When.
        at: Timestamp,
    },
    /// The learner's personal data was erased: their links no longer work.
    Erased,
    /// No such offer: the cohort, the offer or the learner is not (or no longer) on file.
    Unknown,
}

/// An offer a link may still answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOffer {
    /// The cohort's name.
    pub cohort_name: String,
    /// Its course.
    pub course: String,
    /// Its first session.
    pub starts_at: Timestamp,
    /// When the offer lapses.
    pub expires_at: Timestamp,
    /// The cohort's stream version the answer must be decided at (nothing changed since).
    pub version: u64,
    /// The learner's key, as the writer's request names the learner.
    pub learner_key: String,
    /// What a decline now would do with the seat.
    pub seat_if_declined: SeatWent,
}

/// What happens (or happened) to a seat given up, in words that name nobody.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeatWent {
    /// The head of the waitlist takes it.
    Promoted,
    /// It is offered to the head of the waitlist.
    Offered,
    /// It stays empty: enrollment is closed.
    Closed,
    /// It stays free: nobody is waiting.
    Free,
}

impl SeatWent {
    fn of_event(event: Option<&Event>, open: bool) -> Self {
        match event {
            Some(Event::WaitlistPromoted { .. }) => Self::Promoted,
            Some(Event::WaitlistOffered { .. }) => Self::Offered,
            _ if !open => Self::Closed,
            _ => Self::Free,
        }
    }

    fn of_type(event_type: Option<&str>) -> Self {
        match event_type {
            Some("waitlist.promoted") => Self::Promoted,
            Some("waitlist.offered") => Self::Offered,
            _ => Self::Free,
        }
    }

    /// In words, after "the seat …".
    #[must_use]
    pub const fn words(self) -> &'static str {
        match self {
            Self::Promoted => "goes to the next person on the waitlist",
            Self::Offered => "is offered to the next person on the waitlist",
            Self::Closed => "stays empty: enrollment in this cohort is closed",
            Self::Free => "stays free for someone else to take",
        }
    }
}

fn offer_state(read: &Projections, link: &OfferLink, now: Timestamp) -> OfferState {
    if read.directory.is_erased(link.learner) {
        return OfferState::Erased;
    }
    let Some(view) = read.catalog.get(link.cohort) else {
        return OfferState::Unknown;
    };
    let cohort_name = view.state.name.clone();
    let index = &read.events;
    // The token's position must be this learner's offer in this cohort.
    let made = index.event(link.offer_position);
    if !made.is_some_and(|e| {
        e.event_type == "waitlist.offered"
            && e.cohort == link.cohort
            && e.learner == Some(link.learner)
    }) {
        return OfferState::Unknown;
    }
    // The first event about the learner in this cohort after the offer ends it, whatever it
    // is: the offer is the learner's only standing there until then.
    let ended = read
        .timelines
        .of(link.learner)
        .iter()
        .filter(|p| *p > link.offer_position)
        .filter_map(|p| index.event(p))
        .find(|e| e.cohort == link.cohort);
    if let Some(end) = ended {
        let at = end.occurred_at;
        return match end.event_type {
            "offer.accepted" => OfferState::Accepted { cohort_name, at },
            "offer.declined" => {
                // The seat's fate is the next event of the same command, if any.
                let next = index
                    .event(end.position + 1)
                    .filter(|n| n.cohort == link.cohort && n.correlation == end.correlation);
                OfferState::Declined {
                    cohort_name,
                    at,
                    seat: SeatWent::of_type(next.map(|n| n.event_type)),
                }
            }
            "offer.expired" => OfferState::Expired { cohort_name, at },
            "student.released" => OfferState::Cancelled { cohort_name, at },
            _ => OfferState::Ended { cohort_name, at },
        };
    }
    let state = &view.state;
    if state.status == CohortStatus::Cancelled {
        return OfferState::Cancelled {
            cohort_name,
            at: now,
        };
    }
    let Some(offer) = state
        .offer_of(link.learner)
        .filter(|o| o.expires_at == link.expires_at)
    else {
        return OfferState::Unknown;
    };
    if offer.expires_at <= now {
        // Due: the offer scheduler records it at once; no answer is taken any more.
        return OfferState::Expired {
            cohort_name,
            at: offer.expires_at,
        };
    }
    let Some(entry) = read.directory.get(link.learner) else {
        return OfferState::Unknown;
    };
    // Declining frees the seat the offer held: it goes where a freed seat goes now.
    let seat_if_declined = SeatWent::of_event(
        state.freed_seat_goes(now).as_ref(),
        state.status == CohortStatus::Open,
    );
    OfferState::Open(OpenOffer {
        cohort_name,
        course: state.course.clone(),
        starts_at: state.starts_at,
        expires_at: offer.expires_at,
        version: view.version,
        learner_key: entry.key.clone(),
        seat_if_declined,
    })
}

/// `path` as it may be logged: an offer link's token replaced by `…` (a token is a capability).
#[must_use]
pub fn redacted_path(path: &str) -> std::borrow::Cow<'_, str> {
    if path.starts_with(PATH_PREFIX) {
        std::borrow::Cow::Owned(format!("{PATH_PREFIX}…"))
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store that holds a fixed key and nothing else.
    struct KeyOnly;

    impl OfferLinkStore for KeyOnly {
        fn offer_link_key(&self, _fresh: [u8; 32]) -> Result<[u8; 32], StoreError> {
            Ok([9; 32])
        }
        fn offer_link_used(&self, _: u64) -> Result<Option<UsedOfferLink>, StoreError> {
            Ok(None)
        }
        fn mark_offer_link_used(&self, _: u64, _: UsedOfferLink) -> Result<bool, StoreError> {
            Ok(true)
        }
    }

    fn links(url: Option<&str>) -> OfferLinks {
        OfferLinks::load(Arc::new(KeyOnly), url).unwrap()
    }

    fn link() -> OfferLink {
        OfferLink {
            cohort: CohortId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)),
            learner: LearnerId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002)),
            offer_position: 1234,
            action: OfferAction::Accept,
            expires_at: "2026-03-03T09:00:00.123456Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_token_reads_back_as_made_and_is_bounded() {
        let links = links(None);
        let token = links.token(link());
        assert!(token.len() <= MAX_TOKEN_LEN, "{}", token.len());
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{token}"
        );
        assert_eq!(links.verify(&token), Ok(link()));
        let decline = links.token(link().other());
        assert_ne!(decline, token);
        assert_eq!(links.verify(&decline).unwrap().action, OfferAction::Decline);
    }

    #[test]
    fn a_changed_cut_or_foreign_token_is_refused() {
        let links = links(None);
        let token = links.token(link());
        // Every single character changed is caught.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(links.verify(&changed).is_err(), "changed at {i}");
        }
        // The action byte swapped, re-encoded without a new signature.
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        raw[1] = 2;
        assert_eq!(
            links.verify(&URL_SAFE_NO_PAD.encode(&raw)),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            links.verify(&token[..token.len() - 1]),
            Err(TokenError::Malformed)
        );
        assert_eq!(links.verify(""), Err(TokenError::Malformed));
        assert_eq!(links.verify("not base64!"), Err(TokenError::Malformed));
        assert_eq!(
            links.verify(&"A".repeat(MAX_TOKEN_LEN + 1)),
            Err(TokenError::TooLong)
        );
        // Another key's token.
        let other = OfferLinks {
            key: Arc::new([8; 32]),
            ..links.clone()
        };
        assert_eq!(
            links.verify(&other.token(link())),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn urls_need_a_public_url_and_sit_under_it() {
        assert_eq!(
            links(None).urls(link().cohort, link().learner, 5, link().expires_at),
            None
        );
        let links = links(Some("https://rollbook.example.org/app/"));
        let urls = links
            .urls(link().cohort, link().learner, 5, link().expires_at)
            .unwrap();
        for (url, action) in [
            (&urls.accept, OfferAction::Accept),
            (&urls.decline, OfferAction::Decline),
        ] {
            let token = url
                .strip_prefix("https://rollbook.example.org/app/offers/")
                .unwrap();
            let read = links.verify(token).unwrap();
            assert_eq!(read.action, action);
            assert_eq!(read.offer_position, 5);
        }
    }

    #[test]
    fn the_public_url_must_be_an_absolute_http_address() {
        assert_eq!(
            public_base("https://rollbook.example.org/").as_deref(),
            Ok("https://rollbook.example.org")
        );
        assert_eq!(
            public_base(" http://127.0.0.1:8080 ").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert_eq!(
            public_base("https://[::1]:8443/r").as_deref(),
            Ok("https://[::1]:8443/r")
        );
        for bad in [
            "rollbook.example.org",
            "ftp://rollbook.example.org",
            "https://",
            "https:///path",
            "https://user:pw@rollbook.example.org",
            "https://rollbook.example.org/?q=1",
            "https://rollbook.example.org/#top",
            "https://rollbook.example.org:99999",
            "https://rollbook.example.org:port",
            "https://rollbook example.org",
            "https://rollbook.example.org\\x",
        ] {
            let error = public_base(bad).unwrap_err();
            assert!(error.to_string().starts_with("--public-url"), "{error}");
        }
    }

    #[test]
    fn offer_link_paths_are_redacted_for_logs() {
        assert_eq!(redacted_path("/offers/abcDEF"), "/offers/…");
        assert_eq!(redacted_path("/cohorts/1"), "/cohorts/1");
    }
}
