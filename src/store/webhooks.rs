//! Webhook subscriptions in the database: each one's settings and signing secret, and apart from
//! them its position (the last event it delivered). Beside the events, never in them. The
//! [`WebhookStore`] trait is the boundary: callers see records and positions, never redb.

use redb::{Durability, ReadableTable};
use uuid::Uuid;

use super::codec::{self, WebhookRecord};
use super::tables::{WEBHOOK_POSITIONS, WEBHOOKS};
use super::{Store, StoreError};

/// A stored subscription with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredWebhook {
    /// Its id.
    pub id: Uuid,
    /// Its settings.
    pub record: WebhookRecord,
    /// The position of the last event it delivered (or skipped by a filter or a move).
    pub position: u64,
}

/// Where webhook subscriptions and their positions are kept. The server's open [`Store`] is
/// one; a second backend (`PostgreSQL`) implements the same methods.
pub trait WebhookStore: Send + Sync {
    /// Every subscription, by id.
    fn load_webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError>;

    /// Stores a new subscription and its starting position, durably, in one transaction.
    fn create_webhook(&self, webhook: &StoredWebhook) -> Result<(), StoreError>;

    /// Replaces a subscription's settings, durably; whether it existed (a deleted one is not
    /// brought back).
    fn update_webhook(&self, id: Uuid, record: &WebhookRecord) -> Result<bool, StoreError>;

    /// Sets a subscription's position, durably; whether it existed.
    fn set_webhook_position(&self, id: Uuid, position: u64) -> Result<bool, StoreError>;

    /// Deletes a subscription and its position, durably; whether it existed.
    fn delete_webhook(&self, id: Uuid) -> Result<bool, StoreError>;
}

impl WebhookStore for Store {
    fn load_webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError> {
        let reader = self.read()?;
        let txn = &reader.txn;
        let positions = txn.open_table(WEBHOOK_POSITIONS)?;
        let mut out = Vec::new();
        for row in txn.open_table(WEBHOOKS)?.iter()? {
            let (id, bytes) = row?;
            let id = id.value();
            let record =
                codec::decode_webhook(bytes.value()).map_err(|source| StoreError::Corrupt {
                    what: format!("webhook {id}"),
                    source,
                })?;
            let position = positions.get(id)?.map_or(0, |p| p.value());
            out.push(StoredWebhook {
                id,
                record,
                position,
            });
        }
        Ok(out)
    }

    fn create_webhook(&self, webhook: &StoredWebhook) -> Result<(), StoreError> {
        let bytes = codec::encode_webhook(&webhook.record).map_err(StoreError::Encode)?;
        self.write_webhooks(|txn| {
            txn.open_table(WEBHOOKS)?
                .insert(webhook.id, bytes.as_slice())?;
            txn.open_table(WEBHOOK_POSITIONS)?
                .insert(webhook.id, webhook.position)?;
            Ok(())
        })
    }

    fn update_webhook(&self, id: Uuid, record: &WebhookRecord) -> Result<bool, StoreError> {
        let bytes = codec::encode_webhook(record).map_err(StoreError::Encode)?;
        let mut existed = false;
        self.write_webhooks(|txn| {
            let mut table = txn.open_table(WEBHOOKS)?;
            existed = table.get(id)?.is_some();
            if existed {
                table.insert(id, bytes.as_slice())?;
            }
            Ok(())
        })?;
        Ok(existed)
    }

    fn set_webhook_position(&self, id: Uuid, position: u64) -> Result<bool, StoreError> {
        let mut existed = false;
        self.write_webhooks(|txn| {
            existed = txn.open_table(WEBHOOKS)?.get(id)?.is_some();
            if existed {
                txn.open_table(WEBHOOK_POSITIONS)?.insert(id, position)?;
            }
            Ok(())
        })?;
        Ok(existed)
    }

    fn delete_webhook(&self, id: Uuid) -> Result<bool, StoreError> {
        let mut existed = false;
        self.write_webhooks(|txn| {
            existed = txn.open_table(WEBHOOKS)?.remove(id)?.is_some();
            txn.open_table(WEBHOOK_POSITIONS)?.remove(id)?;
            Ok(())
        })?;
        Ok(existed)
    }
}

impl Store {
    /// One small durable write transaction of the webhook tables.
    fn write_webhooks(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let db = self.database();
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        f(&txn)?;
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    fn record(name: &str) -> WebhookRecord {
        WebhookRecord {
            name: name.to_owned(),
            url: "http://127.0.0.1:9/hook".to_owned(),
            event_types: vec!["student.enrolled".to_owned()],
            cohorts: Vec::new(),
            secret: vec![7; 24],
            paused: false,
            last_error: None,
            failing_since: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn subscriptions_and_positions_survive_a_reopen_and_deletes_remove_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hooks.redb");
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        {
            let store = Store::open(&path, &StoreOptions::default()).unwrap();
            for (id, name, position) in [(a, "a", 3), (b, "b", 0)] {
                store
                    .create_webhook(&StoredWebhook {
                        id,
                        record: record(name),
                        position,
                    })
                    .unwrap();
            }
            assert!(store.set_webhook_position(a, 5).unwrap());
            let mut paused = record("b");
            paused.paused = true;
            paused.last_error = Some("HTTP 500".to_owned());
            assert!(store.update_webhook(b, &paused).unwrap());
        }
        let store = Store::open(&path, &StoreOptions::default()).unwrap();
        let loaded = store.load_webhooks().unwrap();
        assert_eq!(loaded.len(), 2);
        let find = |id| loaded.iter().find(|w| w.id == id).unwrap();
        assert_eq!(find(a).position, 5);
        assert_eq!(find(a).record, record("a"));
        assert!(find(b).record.paused);
        assert_eq!(find(b).record.last_error.as_deref(), Some("HTTP 500"));

        assert!(store.delete_webhook(a).unwrap());
        assert!(!store.delete_webhook(a).unwrap());
        // A deleted subscription is not brought back by a late position or update.
        assert!(!store.set_webhook_position(a, 9).unwrap());
        assert!(!store.update_webhook(a, &record("a")).unwrap());
        let loaded = store.load_webhooks().unwrap();
        assert_eq!(loaded.iter().map(|w| w.id).collect::<Vec<_>>(), vec![b]);
    }

    #[test]
    fn a_backup_copy_carries_the_subscriptions() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.redb"), &StoreOptions::default()).unwrap();
        let webhook = StoredWebhook {
            id: Uuid::from_u128(3),
            record: record("crm"),
            position: 4,
        };
        store.create_webhook(&webhook).unwrap();
        let copy = dir.path().join("copy.redb");
        store.copy_to(&copy).unwrap();
        drop(store);
        let reopened = Store::open(&copy, &StoreOptions::default()).unwrap();
        assert_eq!(reopened.load_webhooks().unwrap(), vec![webhook]);
    }
}
