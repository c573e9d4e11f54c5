//! Where a file's checked rows wait before they are applied: a private SQLite file of its own, in
//! the temporary directory, removed when dropped. Staging takes no lock of the service's database,
//! so checking a large file never makes another caller's write wait; only the final apply does.
//!
//! The staging table is keyed like the observations, so a key given twice in one file is found
//! here, with the line that gave it first, whatever the file's size.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::sqlite::Sqlite;

use crate::domain::indicators::GeoLevel;
use crate::domain::observations::ValidRow;
use crate::error::{ApiError, ApiResult, FieldError};

/// The checked rows of one file, on disk.
pub struct Staging {
    _dir: tempfile::TempDir,
    path: PathBuf,
    conn: SqliteConnection,
    rows: u64,
}

impl Staging {
    pub fn create() -> ApiResult<Self> {
        let dir = tempfile::tempdir().map_err(ApiError::internal)?;
        let path = dir.path().join("staging.sqlite3");
        let url = path.to_str().ok_or_else(|| ApiError::internal("the temporary directory's path is not UTF-8"))?;
        let mut conn = SqliteConnection::establish(url).map_err(ApiError::internal)?;
        // A scratch file: a crash loses nothing that the file sent again would not rebuild.
        conn.batch_execute(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             CREATE TABLE rows (
                 indicator TEXT NOT NULL,
                 geo_level TEXT NOT NULL,
                 geo_code TEXT NOT NULL,
                 period TEXT NOT NULL,
                 value TEXT,
                 suppressed BOOLEAN NOT NULL,
                 source TEXT NOT NULL,
                 millesime TEXT,
                 line BIGINT NOT NULL,
                 PRIMARY KEY (indicator, geo_level, geo_code, period)
             ) WITHOUT ROWID;",
        )
        .map_err(ApiError::internal)?;
        Ok(Self { _dir: dir, path, conn, rows: 0 })
    }

    /// The file, for attaching it to a SQLite connection of the service's database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows staged so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Stages `rows` (whose keys differ from each other); each whose key an earlier line of the
    /// file already gave is left out and reported with that line. Batches of `full_batch` rows
    /// share one prepared statement.
    pub fn stage(&mut self, rows: &[ValidRow], full_batch: usize) -> ApiResult<Vec<FieldError>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let staged = StageRows { rows, cacheable: rows.len() == full_batch }
            .execute(&mut self.conn)
            .map_err(ApiError::internal)?;
        self.rows += staged as u64;
        if staged == rows.len() {
            return Ok(Vec::new());
        }
        let mut repeated = Vec::new();
        for row in rows {
            let first: i64 = diesel::sql_query(
                "SELECT line FROM rows WHERE indicator = ? AND geo_level = ? AND geo_code = ? AND period = ?",
            )
            .bind::<Text, _>(&row.indicator)
            .bind::<Text, _>(row.geo_level.as_str())
            .bind::<Text, _>(&row.geo_code)
            .bind::<Text, _>(&row.period)
            .get_result::<Line>(&mut self.conn)
            .map_err(ApiError::internal)?
            .line;
            if first != row.line {
                repeated.push(duplicate(row.line, first));
            }
        }
        Ok(repeated)
    }

    /// Up to `limit` staged rows after the key of `after`, in key order.
    pub fn batch_after(&mut self, after: Option<&ValidRow>, limit: usize) -> ApiResult<Vec<ValidRow>> {
        let limit = i64::try_from(limit).map_err(ApiError::internal)?;
        let columns =
            "SELECT indicator, geo_level, geo_code, period, value, suppressed, source, millesime, line FROM rows";
        let order = "ORDER BY indicator, geo_level, geo_code, period LIMIT ?";
        let staged: Vec<StagedRow> = match after {
            None => diesel::sql_query(format!("{columns} {order}")).bind::<BigInt, _>(limit).load(&mut self.conn),
            Some(last) => diesel::sql_query(format!(
                "{columns} WHERE (indicator, geo_level, geo_code, period) > (?, ?, ?, ?) {order}"
            ))
            .bind::<Text, _>(&last.indicator)
            .bind::<Text, _>(last.geo_level.as_str())
            .bind::<Text, _>(&last.geo_code)
            .bind::<Text, _>(&last.period)
            .bind::<BigInt, _>(limit)
            .load(&mut self.conn),
        }
        .map_err(ApiError::internal)?;
        staged.into_iter().map(StagedRow::into_valid).collect()
    }
}

pub fn duplicate(line: i64, earlier: i64) -> FieldError {
    let detail = format!("same indicator, geo_level, geo_code and period as line {earlier}");
    FieldError::at_line(u64::try_from(line).unwrap_or_default(), None, "DUPLICATE_KEY", detail)
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = BigInt)]
    line: i64,
}

#[derive(QueryableByName)]
struct StagedRow {
    #[diesel(sql_type = Text)]
    indicator: String,
    #[diesel(sql_type = Text)]
    geo_level: String,
    #[diesel(sql_type = Text)]
    geo_code: String,
    #[diesel(sql_type = Text)]
    period: String,
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
    #[diesel(sql_type = Bool)]
    suppressed: bool,
    #[diesel(sql_type = Text)]
    source: String,
    #[diesel(sql_type = Nullable<Text>)]
    millesime: Option<String>,
    #[diesel(sql_type = BigInt)]
    line: i64,
}

impl StagedRow {
    fn into_valid(self) -> ApiResult<ValidRow> {
        let geo_level = GeoLevel::parse(&self.geo_level)
            .ok_or_else(|| ApiError::internal(format!("staged an unknown geo_level {}", self.geo_level)))?;
        Ok(ValidRow {
            line: self.line,
            indicator: self.indicator,
            geo_level,
            geo_code: self.geo_code,
            period: self.period,
            value: self.value,
            suppressed: self.suppressed,
            source: self.source,
            millesime: self.millesime,
        })
    }
}

/// `INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING` for one batch. Full batches share one
/// prepared statement; a last, shorter one is prepared for itself.
struct StageRows<'a> {
    rows: &'a [ValidRow],
    cacheable: bool,
}

impl QueryFragment<Sqlite> for StageRows<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        if !self.cacheable {
            out.unsafe_to_cache_prepared();
        }
        out.push_sql(
            "INSERT INTO rows (indicator, geo_level, geo_code, period, value, suppressed, source, millesime, line) \
             VALUES ",
        );
        crate::db::observations::push_rows(&mut out, self.rows)?;
        out.push_sql(" ON CONFLICT DO NOTHING");
        Ok(())
    }
}

impl QueryId for StageRows<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl RunQueryDsl<SqliteConnection> for StageRows<'_> {}
