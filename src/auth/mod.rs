//! Who may act: staff accounts and their roles, password logins with sessions, API tokens, and
//! login throttling. Kept in memory for fast checks on every request and written through to
//! the store's account tables; never part of the event history.
//!
//! Password hashing is slow on purpose: `create_account`, `set_password` and `login` block, and
//! the web layer calls them on the blocking pool. Every hash runs under one [`HashLimiter`]:
//! a login that finds it full is refused ([`LoginError::Busy`]) without hashing.

mod limiter;
mod password;
mod role;
pub mod secret;
mod throttle;
mod write_back;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

pub use limiter::{Busy, HashLimiter, HashStats, Permit};
pub use password::{Passwords, WeakPassword};
pub use role::{Role, UnknownRole};
use throttle::Throttle;
use write_back::{SessionWrite, WriteBack};

use crate::clock::Clock;
use crate::store::{AccountRecord, AccountStore, Actor, SessionRecord, StoreError, TokenRecord};

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Account id.
    pub account: Uuid,
    /// Account name.
    pub name: String,
    /// What the account may do.
    pub role: Role,
    /// The session it came through (pages), with the CSRF secret its forms carry.
    pub session: Option<SessionRef>,
}

/// The session a principal came through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRef {
    /// SHA-256 of the session id.
    pub key: [u8; 32],
    /// The CSRF token (hex) the session's forms carry.
    pub csrf: String,
}

impl Principal {
    /// The actor recorded on events.
    #[must_use]
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.account,
            name: self.name.clone(),
        }
    }
}

/// An account as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountView {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Role (accounts with an unreadable role are listed as viewers).
    pub role: Role,
    /// Disabled?
    pub disabled: bool,
    /// Created.
    pub created_at: Timestamp,
    /// Last login.
    pub last_login: Option<Timestamp>,
}

/// A token as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenView {
    /// Id, for revocation.
    pub id: Uuid,
    /// The account it acts as.
    pub account: String,
    /// Its label.
    pub label: String,
    /// Created.
    pub created_at: Timestamp,
}

/// What account administration can refuse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No account of that name.
    #[error("no account named {0:?}")]
    NoSuchAccount(String),
    /// The name is taken.
    #[error("an account named {0:?} already exists")]
    NameTaken(String),
    /// The name is not usable.
    #[error("account names are 1 to 64 letters, digits, dots, dashes or underscores")]
    BadName,
    /// The name rollbook records its own actions under (an offer expiring), which no person
    /// may take: history would not tell them apart.
    #[error("the name {0:?} is reserved: rollbook records what it does on its own under it")]
    ReservedName(String),
    /// The password is too weak.
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    /// No token with that id.
    #[error("no token with id {0}")]
    NoSuchToken(String),
    /// The labels is too long or has control characters.
    #[error("token labels are at most 100 printable characters")]
    BadLabel,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a login failed. Says nothing about whether the account exists.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong name or password (or a disabled account).
    #[error("wrong name or password")]
    Invalid,
    /// Too many failures: wait.
    #[error("too many failed logins; try again in {} s", .0.as_secs().max(1))]
    Throttled(SignedDuration),
    /// Too many password checks at once: nothing was checked; try again in a moment.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Default)]
struct State {
    accounts: HashMap<Uuid, AccountRecord>,
    by_name: HashMap<String, Uuid>,
    tokens: HashMap<Uuid, TokenRecord>,
    token_by_hash: HashMap<[u8; 32], Uuid>,
    /// Sessions, with the last-seen time last written to the store.
    sessions: HashMap<[u8; 32], (SessionRecord, Timestamp)>,
}

/// Accounts, tokens and sessions, in memory and in the store.
pub struct Auth {
    store: Arc<dyn AccountStore>,
    passwords: Passwords,
    clock: Arc<dyn Clock>,
    idle_timeout: SignedDuration,
    /// Hash checked for unknown names, so they cost what a wrong password costs.
    dummy_hash: String,
    state: RwLock<State>,
    throttle: Mutex<Throttle>,
    /// Where a request's session writes go, off its thread.
    write_back: WriteBack,
}

/// How often a session's last-seen time is written back (it is kept exactly in memory).
const TOUCH_EVERY: SignedDuration = SignedDuration::from_mins(1);

/// Account names: what may be typed.
fn normalise_name(raw: &str) -> Result<String, AuthError> {
    let name = raw.trim().to_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(name)
    } else {
        Err(AuthError::BadName)
    }
}

impl Auth {
    /// Loads every account, token and session from `store`: the server's open store, or an
    /// [`crate::store::OfflineStore`] for the `user` and `token` subcommands. Only the account
    /// tables are written through it.
    pub fn load(
        store: Arc<dyn AccountStore>,
        passwords: Passwords,
        clock: Arc<dyn Clock>,
        idle_timeout: SignedDuration,
    ) -> Result<Self, StoreError> {
        let snapshot = store.load_accounts()?;
        let write_back = WriteBack::start(store.clone()).map_err(|source| StoreError::Io {
            path: store.path().to_owned(),
            source,
        })?;
        let mut state = State::default();
        for (id, account) in snapshot.accounts {
            state.by_name.insert(account.name.clone(), id);
            state.accounts.insert(id, account);
        }
        for (id, token) in snapshot.tokens {
            state.token_by_hash.insert(token.hash, id);
            state.tokens.insert(id, token);
        }
        for (key, session) in snapshot.sessions {
            let seen = session.last_seen;
            state.sessions.insert(key, (session, seen));
        }
        let dummy_hash = passwords.hash("not a password anyone has");
        Ok(Self {
            store,
            passwords,
            clock,
            idle_timeout,
            dummy_hash,
            state: RwLock::new(state),
            throttle: Mutex::new(Throttle::default()),
            write_back,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Timestamp {
        let now = self.clock.now();
        Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }

    /// Whether any account exists.
    #[must_use]
    pub fn has_accounts(&self) -> bool {
        !self.read().accounts.is_empty()
    }

    /// Creates an account (blocking: hashes the password).
    pub fn create_account(
        &self,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<Uuid, AuthError> {
        let name = normalise_name(name)?;
        if name == crate::store::Actor::system().name {
            return Err(AuthError::ReservedName(name));
        }
        Passwords::check(password)?;
        if self.read().by_name.contains_key(&name) {
            return Err(AuthError::NameTaken(name));
        }
        let record = AccountRecord {
            name: name.clone(),
            role: role.as_str().to_owned(),
            password_hash: self.passwords.hash(password),
            disabled: false,
            created_at: self.now(),
            last_login: None,
        };
        let id = Uuid::now_v7();
        let mut state = self.write();
        if state.by_name.contains_key(&name) {
            return Err(AuthError::NameTaken(name));
        }
        self.store.put_account(id, &record)?;
        state.by_name.insert(name, id);
        state.accounts.insert(id, record);
        Ok(id)
    }

    fn account_id(&self, name: &str) -> Result<Uuid, AuthError> {
        let name = normalise_name(name).map_err(|_| AuthError::NoSuchAccount(name.to_owned()))?;
        self.read()
            .by_name
            .get(&name)
            .copied()
            .ok_or(AuthError::NoSuchAccount(name))
    }

    /// Updates an account and ends its sessions.
    fn update_account(
        &self,
        id: Uuid,
        change: impl FnOnce(&mut AccountRecord),
    ) -> Result<(), AuthError> {
        let mut state = self.write();
        let mut record = state
            .accounts
            .get(&id)
            .cloned()
            .ok_or_else(|| AuthError::NoSuchAccount(id.to_string()))?;
        change(&mut record);
        let ended: Vec<[u8; 32]> = state
            .sessions
            .iter()
            .filter(|(_, (s, _))| s.account == id)
            .map(|(k, _)| *k)
            .collect();
        self.store.put_account(id, &record)?;
        self.store.delete_sessions(&ended)?;
        for key in &ended {
            state.sessions.remove(key);
        }
        state.accounts.insert(id, record);
        Ok(())
    }

    /// Sets a new password (blocking: hashes it) and ends the account's sessions.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AuthError> {
        let id = self.account_id(name)?;
        Passwords::check(password)?;
        let hash = self.passwords.hash(password);
        self.update_account(id, |a| a.password_hash = hash)
    }

    /// Disables (or re-enables) an account; disabling ends its sessions and revokes its tokens,
    /// so that enabling it again does not bring them back.
    pub fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), AuthError> {
        let id = self.account_id(name)?;
        // Disabled first: its tokens stop working at once, even if a deletion below fails.
        self.update_account(id, |a| a.disabled = disabled)?;
        if disabled {
            let tokens: Vec<Uuid> = {
                let state = self.read();
                state
                    .tokens
                    .iter()
                    .filter(|(_, t)| t.account == id)
                    .map(|(token, _)| *token)
                    .collect()
            };
            for token in tokens {
                self.revoke_token(&token.to_string())?;
            }
        }
        Ok(())
    }

    /// What the password-hash limiter has seen (for `/metrics` and tests).
    #[must_use]
    pub fn hash_stats(&self) -> HashStats {
        self.passwords.stats()
    }

    /// Every account, by name.
    #[must_use]
    pub fn accounts(&self) -> Vec<AccountView> {
        let state = self.read();
        let mut out: Vec<AccountView> = state
            .accounts
            .iter()
            .map(|(id, a)| AccountView {
                id: *id,
                name: a.name.clone(),
                role: a.role.parse().unwrap_or(Role::Viewer),
                disabled: a.disabled,
                created_at: a.created_at,
                last_login: a.last_login,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Creates an API token acting as `account`; returns its id and its secret, which is shown
    /// once and never stored.
    pub fn create_token(&self, account: &str, label: &str) -> Result<(Uuid, String), AuthError> {
        let account = self.account_id(account)?;
        let label = label.trim();
        if label.chars().count() > 100 || label.chars().any(char::is_control) {
            return Err(AuthError::BadLabel);
        }
        let secret = format!("rb_{}", secret::hex(&secret::random_bytes()));
        let record = TokenRecord {
            account,
            label: label.to_owned(),
            hash: secret::digest(&secret),
            created_at: self.now(),
        };
        let id = Uuid::now_v7();
        let mut state = self.write();
        self.store.put_token(id, &record)?;
        state.token_by_hash.insert(record.hash, id);
        state.tokens.insert(id, record);
        Ok((id, secret))
    }

    /// Revokes a token, effective for the very next request.
    pub fn revoke_token(&self, id: &str) -> Result<(), AuthError> {
        let uuid = Uuid::parse_str(id.trim()).map_err(|_| AuthError::NoSuchToken(id.to_owned()))?;
        let mut state = self.write();
        let Some(record) = state.tokens.remove(&uuid) else {
            return Err(AuthError::NoSuchToken(id.to_owned()));
        };
        state.token_by_hash.remove(&record.hash);
        if let Err(e) = self.store.delete_token(uuid) {
            state.token_by_hash.insert(record.hash, uuid);
            state.tokens.insert(uuid, record);
            return Err(e.into());
        }
        Ok(())
    }

    /// Every token, newest first.
    #[must_use]
    pub fn tokens(&self) -> Vec<TokenView> {
        let state = self.read();
        let mut out: Vec<TokenView> = state
            .tokens
            .iter()
            .map(|(id, t)| TokenView {
                id: *id,
                account: state
                    .accounts
                    .get(&t.account)
                    .map_or_else(|| t.account.to_string(), |a| a.name.clone()),
                label: t.label.clone(),
                created_at: t.created_at,
            })
            .collect();
        out.sort_by_key(|t| std::cmp::Reverse(t.created_at));
        out
    }

    fn principal(state: &State, account: Uuid, session: Option<SessionRef>) -> Option<Principal> {
        let record = state.accounts.get(&account)?;
        if record.disabled {
            return None;
        }
        Some(Principal {
            account,
            name: record.name.clone(),
            role: record.role.parse().ok()?,
            session,
        })
    }

    /// The caller behind an API token, if it is valid and its account enabled.
    #[must_use]
    pub fn authenticate_token(&self, token: &str) -> Option<Principal> {
        let hash = secret::digest(token.trim());
        let state = self.read();
        let id = state.token_by_hash.get(&hash)?;
        let record = state.tokens.get(id)?;
        Self::principal(&state, record.account, None)
    }

    /// The caller behind a session cookie, if the session is live. Refreshes its last-seen time;
    /// returns whether that time is due to be written back ([`Auth::persist_session`]).
    #[must_use]
    pub fn authenticate_session(&self, cookie: &str) -> Option<(Principal, bool)> {
        let key = secret::digest(cookie.trim());
        let now = self.now();
        let mut state = self.write();
        let (session, persisted) = state.sessions.get_mut(&key)?;
        if now.duration_since(session.last_seen) > self.idle_timeout {
            state.sessions.remove(&key);
            drop(state);
            // Deleted by the write-back thread: no store write on the request's thread.
            self.write_back.send(SessionWrite::Delete(key));
            return None;
        }
        session.last_seen = now;
        let due = now.duration_since(*persisted) > TOUCH_EVERY;
        let account = session.account;
        let csrf = secret::hex(&session.csrf);
        let principal = Self::principal(&state, account, Some(SessionRef { key, csrf }))?;
        Some((principal, due))
    }

    /// Queues a session's last-seen time to be written back (not durably: it rides on the next
    /// commit). Never blocks on the store: safe on an async thread.
    pub fn persist_session(&self, key: [u8; 32]) {
        let record = {
            let mut state = self.write();
            let Some((session, persisted)) = state.sessions.get_mut(&key) else {
                return;
            };
            *persisted = session.last_seen;
            session.clone()
        };
        self.write_back.send(SessionWrite::Touch(key, record));
    }

    /// Writes what the write-back thread has queued and stops it, waiting for it (blocking).
    /// Sessions touched afterwards are no longer written back: for shutdown.
    pub fn stop_write_back(&self) {
        self.write_back.stop();
    }

    /// Checks a name and password (blocking: verifies the hash) and opens a new session,
    /// ending `previous` if given. Returns the new session's cookie value and the principal.
    pub fn login(
        &self,
        name: &str,
        password: &str,
        address: IpAddr,
        previous: Option<&str>,
    ) -> Result<(String, Principal), LoginError> {
        let name = name.trim().to_lowercase();
        let now = self.now();
        {
            let mut throttle = self.throttle();
            if let Some(wait) = throttle.wait(&name, address, now) {
                return Err(LoginError::Throttled(wait));
            }
            // Counted before the check: a burst cannot pass the throttle before it counts.
            throttle.failed(&name, address, now);
        }
        let found = {
            let state = self.read();
            state.by_name.get(&name).and_then(|id| {
                state
                    .accounts
                    .get(id)
                    .map(|a| (*id, a.password_hash.clone(), a.disabled))
            })
        };
        // Unknown names verify against a dummy hash: they cost what a wrong password costs.
        let hash = found
            .as_ref()
            .map_or(self.dummy_hash.as_str(), |(_, h, _)| h.as_str());
        let verified = match self.passwords.verify(password, hash) {
            Ok(verified) => verified,
            Err(busy) => {
                // Nothing was checked: the attempt does not count.
                self.throttle().undo(&name, address);
                return Err(busy.into());
            }
        };
        let Some((account, _, false)) = found.filter(|_| verified) else {
            return Err(LoginError::Invalid);
        };
        self.throttle().succeeded(&name, address);

        let cookie = secret::hex(&secret::random_bytes());
        let key = secret::digest(&cookie);
        let session = SessionRecord {
            account,
            csrf: secret::random_bytes(),
            created_at: now,
            last_seen: now,
        };
        self.store.put_session(key, &session, true)?;
        let mut state = self.write();
        let mut account_record = state
            .accounts
            .get(&account)
            .cloned()
            .ok_or(LoginError::Invalid)?;
        account_record.last_login = Some(now);
        if let Err(e) = self.store.put_account(account, &account_record) {
            tracing::warn!(error = %e, "could not record the last login time");
        } else {
            state.accounts.insert(account, account_record);
        }
        let csrf = secret::hex(&session.csrf);
        state.sessions.insert(key, (session, now));
        let previous_key = previous.map(|p| secret::digest(p.trim()));
        if let Some(old) = previous_key.filter(|k| state.sessions.remove(k).is_some()) {
            drop(state);
            if let Err(e) = self.store.delete_sessions(&[old]) {
                tracing::warn!(error = %e, "could not delete the replaced session");
            }
            let state = self.read();
            let principal = Self::principal(&state, account, Some(SessionRef { key, csrf }))
                .ok_or(LoginError::Invalid)?;
            return Ok((cookie, principal));
        }
        let principal = Self::principal(&state, account, Some(SessionRef { key, csrf }))
            .ok_or(LoginError::Invalid)?;
        Ok((cookie, principal))
    }

    /// Ends a session.
    pub fn logout(&self, key: [u8; 32]) -> Result<(), StoreError> {
        self.write().sessions.remove(&key);
        self.store.delete_sessions(&[key])
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Auth {
    /// Queued session writes are committed before the store is let go.
    fn drop(&mut self) {
        self.write_back.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::path::Path;
    use std::sync::Arc;

    use jiff::SignedDuration;

    use super::*;
    use crate::clock::FixedClock;
    use crate::store::{Store, StoreOptions};

    const PASSWORD: &str = "a long enough password";

    fn auth(db: &Path, clock: &Arc<FixedClock>, passwords: Passwords) -> Auth {
        let store = Arc::new(Store::open(db, &StoreOptions::default()).unwrap());
        Auth::load(
            store,
            passwords,
            clock.clone(),
            SignedDuration::from_hours(1),
        )
        .unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn no_account_may_pass_for_the_system_actor() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new("2026-03-01T09:00:00Z".parse().unwrap()));
        let auth = auth(
            &dir.path().join("t.redb"),
            &clock,
            Passwords::cheap_for_tests(),
        );
        for name in ["system", " System "] {
            assert!(matches!(
                auth.create_account(name, Role::Admin, PASSWORD),
                Err(AuthError::ReservedName(n)) if n == "system"
            ));
        }
        auth.create_account("systems", Role::Staff, PASSWORD)
            .unwrap();
    }

    #[test]
    fn a_session_s_last_use_is_written_back_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.redb");
        let start: Timestamp = "2026-03-01T09:00:00Z".parse().unwrap();
        let clock = Arc::new(FixedClock::new(start));
        let first = auth(&db, &clock, Passwords::cheap_for_tests());
        first.create_account("ana", Role::Staff, PASSWORD).unwrap();
        let (cookie, _) = first.login("ana", PASSWORD, ip("10.0.0.1"), None).unwrap();
        clock.set(start + SignedDuration::from_mins(50));
        let (principal, due) = first.authenticate_session(&cookie).unwrap();
        assert!(due, "the last use is due to be written back");
        first.persist_session(principal.session.unwrap().key);
        drop(first);

        // 100 minutes after the login, 50 after the last use: still signed in after a restart.
        let second = auth(&db, &clock, Passwords::cheap_for_tests());
        clock.set(start + SignedDuration::from_mins(100));
        assert!(second.authenticate_session(&cookie).is_some());
        clock.set(start + SignedDuration::from_mins(161));
        assert!(
            second.authenticate_session(&cookie).is_none(),
            "idle too long"
        );
    }

    /// An expired session is deleted by the write-back thread, durably, and stopping the
    /// write-back commits what was queued and lets go of the store.
    #[test]
    fn an_expired_session_is_deleted_through_the_write_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.redb");
        let start: Timestamp = "2026-03-01T09:00:00Z".parse().unwrap();
        let clock = Arc::new(FixedClock::new(start));
        let store = Arc::new(Store::open(&db, &StoreOptions::default()).unwrap());
        let auth = Auth::load(
            store.clone(),
            Passwords::cheap_for_tests(),
            clock.clone(),
            SignedDuration::from_hours(1),
        )
        .unwrap();
        auth.create_account("ana", Role::Staff, PASSWORD).unwrap();
        let (cookie, _) = auth.login("ana", PASSWORD, ip("10.0.0.1"), None).unwrap();
        assert_eq!(store.load_accounts().unwrap().sessions.len(), 1);
        clock.set(start + SignedDuration::from_mins(61));
        assert!(auth.authenticate_session(&cookie).is_none(), "expired");
        auth.stop_write_back();
        assert!(store.load_accounts().unwrap().sessions.is_empty());
        drop(auth);
        drop(store);
        // Nothing holds the file any more.
        Store::open(&db, &StoreOptions::default()).unwrap();
    }

    #[test]
    fn a_login_refused_as_busy_is_not_checked_and_not_counted() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new("2026-03-01T09:00:00Z".parse().unwrap()));
        let passwords = Passwords::cheap_for_tests().with_limit(1, 0);
        let auth = auth(&dir.path().join("t.redb"), &clock, passwords.clone());
        auth.create_account("ana", Role::Staff, PASSWORD).unwrap();
        let hashed = passwords.stats().hashed;
        let held = passwords.limiter().try_acquire().unwrap();
        for _ in 0..20 {
            let refused = auth.login("ana", "wrong password", ip("10.0.0.1"), None);
            assert!(matches!(refused, Err(LoginError::Busy(_))), "{refused:?}");
        }
        assert_eq!(passwords.stats().hashed, hashed, "nothing hashed");
        drop(held);
        // None of the twenty counted: the right password gets in at once.
        assert!(auth.login("ana", PASSWORD, ip("10.0.0.1"), None).is_ok());
    }

    #[test]
    fn disabling_revokes_the_account_s_tokens_and_only_its() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new("2026-03-01T09:00:00Z".parse().unwrap()));
        let auth = auth(
            &dir.path().join("t.redb"),
            &clock,
            Passwords::cheap_for_tests(),
        );
        auth.create_account("ana", Role::Staff, PASSWORD).unwrap();
        auth.create_account("ben", Role::Staff, PASSWORD).unwrap();
        let (_, ana) = auth.create_token("ana", "").unwrap();
        let (_, ben) = auth.create_token("ben", "").unwrap();
        auth.set_disabled("ana", true).unwrap();
        auth.set_disabled("ana", false).unwrap();
        assert!(auth.authenticate_token(&ana).is_none());
        assert!(auth.authenticate_token(&ben).is_some());
        assert_eq!(auth.tokens().len(), 1);
    }
}
