//! What the service forgets on its own, in the background of every instance: answered
//! idempotency keys once their retention has passed. Each pass is one short write; instances
//! sharing a database purge the same rows harmlessly.

use std::time::Duration;

use chrono::TimeDelta;

use crate::db::{self, DbPool, idempotency};

/// How often to purge: a tenth of the retention, so that a key outlives it by little, between a
/// second and ten minutes.
fn interval(retention: Duration) -> Duration {
    (retention / 10).clamp(Duration::from_secs(1), Duration::from_mins(10))
}

/// Purges for as long as the server runs.
pub async fn run(pool: DbPool, idempotency_retention: Duration) {
    let Ok(retention) = TimeDelta::from_std(idempotency_retention) else {
        log::error!("the idempotency retention is out of range: keys are kept");
        return;
    };
    let mut ticks = tokio::time::interval(interval(idempotency_retention));
    loop {
        ticks.tick().await;
        let before = db::now() - retention;
        match db::run_write(&pool, move |conn| Ok(idempotency::purge(conn, before)?)).await {
            Ok(0) => {}
            Ok(purged) => log::info!("purged {purged} idempotency keys older than {idempotency_retention:?}"),
            Err(error) => log::warn!("could not purge idempotency keys: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_outlives_its_retention_by_a_tenth_at_most_within_bounds() {
        assert_eq!(interval(Duration::from_hours(7 * 24)), Duration::from_mins(10));
        assert_eq!(interval(Duration::from_mins(50)), Duration::from_mins(5));
        assert_eq!(interval(Duration::from_secs(2)), Duration::from_secs(1));
    }
}
