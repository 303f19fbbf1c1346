//! Offer links in the database: the key their signatures are made with (32 random bytes, made
//! once) and the offers answered through a link (by the position of their `waitlist.offered`).
//! Beside the events, never in them. The [`OfferLinkStore`] trait is the boundary: callers see
//! a key and used records, never redb.
//!
//! Both tables hold fixed-width values in redb's own encoding (an array, a tuple of integers):
//! no codec record, so nothing here has a frozen bincode format.

use jiff::Timestamp;
use redb::{Durability, ReadableTable};

use super::tables::{OFFER_LINK_KEY, OFFER_LINKS_USED};
use super::{Store, StoreError};

/// The row of [`OFFER_LINK_KEY`] holding the HMAC-SHA256 key of version-1 tokens.
const KEY_V1: &str = "hmac-sha256-v1";

/// What a used offer link did, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsedOfferLink {
    /// Accepted (`true`) or declined (`false`).
    pub accepted: bool,
    /// When the answer was recorded.
    pub at: Timestamp,
}

/// Where the offer links' key and used records are kept. The server's open [`Store`] is one; a
/// second backend (`PostgreSQL`) implements the same methods.
pub trait OfferLinkStore: Send + Sync {
    /// The signing key: the stored one, or `fresh` stored durably first when there is none yet
    /// (so a key is made once per database and every later call answers the same).
    fn offer_link_key(&self, fresh: [u8; 32]) -> Result<[u8; 32], StoreError>;

    /// Whether the offer at `offer_position` was answered through a link, and how.
    fn offer_link_used(&self, offer_position: u64) -> Result<Option<UsedOfferLink>, StoreError>;

    /// Records, durably, that the offer at `offer_position` was answered through a link; a
    /// record already there is kept (the first answer is the one that counted). Whether this
    /// call stored it.
    fn mark_offer_link_used(
        &self,
        offer_position: u64,
        used: UsedOfferLink,
    ) -> Result<bool, StoreError>;
}

impl OfferLinkStore for Store {
    fn offer_link_key(&self, fresh: [u8; 32]) -> Result<[u8; 32], StoreError> {
        {
            let reader = self.read()?;
            if let Some(key) = reader.txn.open_table(OFFER_LINK_KEY)?.get(KEY_V1)? {
                return Ok(key.value());
            }
        }
        let db = self.database();
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let key = {
            let mut table = txn.open_table(OFFER_LINK_KEY)?;
            // Looked up again inside the write: two callers racing store one key.
            let stored = table.get(KEY_V1)?.map(|k| k.value());
            if let Some(key) = stored {
                key
            } else {
                table.insert(KEY_V1, fresh)?;
                fresh
            }
        };
        txn.commit()?;
        Ok(key)
    }

    fn offer_link_used(&self, offer_position: u64) -> Result<Option<UsedOfferLink>, StoreError> {
        let reader = self.read()?;
        let table = reader.txn.open_table(OFFER_LINKS_USED)?;
        let Some(row) = table.get(offer_position)? else {
            return Ok(None);
        };
        let (action, at) = row.value();
        Ok(Some(UsedOfferLink {
            accepted: action == ACCEPTED,
            at: Timestamp::from_microsecond(at).unwrap_or(Timestamp::UNIX_EPOCH),
        }))
    }

    fn mark_offer_link_used(
        &self,
        offer_position: u64,
        used: UsedOfferLink,
    ) -> Result<bool, StoreError> {
        let db = self.database();
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let stored = {
            let mut table = txn.open_table(OFFER_LINKS_USED)?;
            if table.get(offer_position)?.is_some() {
                false
            } else {
                let action = if used.accepted { ACCEPTED } else { DECLINED };
                table.insert(offer_position, (action, used.at.as_microsecond()))?;
                true
            }
        };
        txn.commit()?;
        Ok(stored)
    }
}

/// The stored action codes.
const ACCEPTED: u8 = 1;
const DECLINED: u8 = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[test]
    fn the_key_is_made_once_and_survives_a_reopen_and_a_backup_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("links.redb");
        let first = {
            let store = Store::open(&path, &StoreOptions::default()).unwrap();
            let first = store.offer_link_key([1; 32]).unwrap();
            assert_eq!(first, [1; 32]);
            // A second call keeps the first key, whatever it is offered.
            assert_eq!(store.offer_link_key([2; 32]).unwrap(), first);
            first
        };
        let store = Store::open(&path, &StoreOptions::default()).unwrap();
        assert_eq!(store.offer_link_key([3; 32]).unwrap(), first);
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let used = UsedOfferLink { accepted: true, at };
        assert!(store.mark_offer_link_used(42, used).unwrap());

        let copy = dir.path().join("copy.redb");
        store.copy_to(&copy).unwrap();
        drop(store);
        let reopened = Store::open(&copy, &StoreOptions::default()).unwrap();
        assert_eq!(reopened.offer_link_key([4; 32]).unwrap(), first);
        assert_eq!(reopened.offer_link_used(42).unwrap(), Some(used));
    }

    #[test]
    fn a_used_record_is_kept_as_first_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("u.redb"), &StoreOptions::default()).unwrap();
        assert_eq!(store.offer_link_used(7).unwrap(), None);
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let declined = UsedOfferLink {
            accepted: false,
            at,
        };
        assert!(store.mark_offer_link_used(7, declined).unwrap());
        let later = UsedOfferLink {
            accepted: true,
            at: Timestamp::from_second(1_800_000_100).unwrap(),
        };
        assert!(!store.mark_offer_link_used(7, later).unwrap());
        assert_eq!(store.offer_link_used(7).unwrap(), Some(declined));
        assert_eq!(store.offer_link_used(8).unwrap(), None);
    }
}
