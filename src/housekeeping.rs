//! What the service forgets on its own, in the background of every instance: answered
//! idempotency keys and bulk imports, and feed events, once their retention has passed. Each pass is short writes;
//! instances sharing a database purge the same rows harmlessly.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};

use crate::db::{self, DbConnection, DbPool, events, idempotency, observation_imports};

/// Feed events deleted per transaction: a pass after a long pause stays a series of short writes
/// that other writers slip between.
const EVENTS_PER_PURGE: i64 = 5_000;

/// How long each kind of record is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub idempotency_keys: Duration,
    pub feed: Duration,
}

/// How often to purge: a tenth of the retention, so that a record outlives it by little, between a
/// second and ten minutes.
fn interval(retention: Duration) -> Duration {
    (retention / 10).clamp(Duration::from_secs(1), Duration::from_mins(10))
}

/// Purges for as long as the server runs.
pub async fn run(pool: DbPool, retention: Retention) {
    // An import is followed as long as a retry of its request could be answered.
    let keys_and_imports = |conn: &mut DbConnection, before| {
        Ok(idempotency::purge(conn, before)? + observation_imports::purge(conn, before)?)
    };
    let feed = |conn: &mut DbConnection, before| events::purge(conn, before, EVENTS_PER_PURGE);
    tokio::join!(
        purge_every(pool.clone(), retention.idempotency_keys, "idempotency keys and bulk imports", keys_and_imports),
        purge_every(pool, retention.feed, "feed events", feed),
    );
}

/// Every tenth of `retention`, deletes what is older than it with `purge`, one short write after
/// another until a write deletes nothing.
async fn purge_every<F>(pool: DbPool, retention: Duration, what: &'static str, purge: F)
where
    F: Fn(&mut DbConnection, NaiveDateTime) -> diesel::QueryResult<usize> + Copy + Send + 'static,
{
    let Ok(kept) = TimeDelta::from_std(retention) else {
        log::error!("the retention of {what} is out of range: they are kept");
        return;
    };
    let mut ticks = tokio::time::interval(interval(retention));
    loop {
        ticks.tick().await;
        let before = db::now() - kept;
        let mut purged = 0;
        loop {
            match db::run_write(&pool, move |conn| Ok(purge(conn, before)?)).await {
                Ok(0) => break,
                Ok(deleted) => purged += deleted,
                Err(error) => {
                    log::warn!("could not purge {what}: {error}");
                    break;
                }
            }
        }
        if purged > 0 {
            log::info!("purged {purged} {what} older than {retention:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_outlives_its_retention_by_a_tenth_at_most_within_bounds() {
        assert_eq!(interval(Duration::from_hours(7 * 24)), Duration::from_mins(10));
        assert_eq!(interval(Duration::from_mins(50)), Duration::from_mins(5));
        assert_eq!(interval(Duration::from_secs(2)), Duration::from_secs(1));
    }
}
