//! The territory reference: reads for the API, and the idempotent import that refreshes it.

use std::collections::HashMap;
use std::hash::Hash;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use super::DbConnection;
use super::schema::{communes, departments, epcis};
use crate::domain::reference::{Commune, CommuneKind, Department, Epci, EpciKind, Reference, Zone};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = departments, treat_none_as_null = true)]
pub struct DepartmentRow {
    pub code: String,
    pub name: String,
    pub region: String,
    pub chef_lieu: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub zone: Zone,
    pub population: i64,
    pub commune_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = epcis, treat_none_as_null = true)]
pub struct EpciRow {
    pub siren: String,
    pub name: String,
    pub search_name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: EpciKind,
    pub financing_mode: Option<String>,
    pub population: Option<i64>,
}

/// A commune or a municipal arrondissement, as the reference has it and the API answers it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = communes, treat_none_as_null = true)]
#[schema(as = CommuneView)]
pub struct CommuneRow {
    #[schema(example = "74042")]
    pub insee: String,
    #[schema(example = "Bonneville")]
    pub name: String,
    /// The name folded for search: a column, never answered.
    #[serde(skip)]
    pub search_name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: CommuneKind,
    pub department: String,
    pub region: Option<String>,
    /// SIREN of the commune as a legal person (municipal arrondissements have none).
    pub siren: Option<String>,
    /// SIREN of the EPCI it belongs to.
    pub epci_siren: Option<String>,
    /// For a municipal arrondissement, the INSEE code of its commune.
    pub parent_insee: Option<String>,
    // Stored comma-separated, answered as a list.
    #[serde(serialize_with = "comma_separated")]
    #[schema(value_type = Vec<String>)]
    pub postal_codes: String,
    /// Municipal population.
    pub population: Option<i64>,
}

/// Serialises a comma-separated TEXT column as the list it holds.
fn comma_separated<S: Serializer>(stored: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(stored.split(',').filter(|item| !item.is_empty()))
}

impl From<&Department> for DepartmentRow {
    fn from(d: &Department) -> Self {
        Self {
            code: d.code.clone(),
            name: d.name.clone(),
            region: d.region.clone(),
            chef_lieu: d.chef_lieu.clone(),
            zone: d.zone,
            population: d.population,
            commune_count: d.commune_count,
        }
    }
}

impl From<&Epci> for EpciRow {
    fn from(e: &Epci) -> Self {
        Self {
            siren: e.siren.clone(),
            name: e.name.clone(),
            search_name: e.search_name.clone(),
            kind: e.kind,
            financing_mode: e.financing_mode.clone(),
            population: e.population,
        }
    }
}

impl From<&Commune> for CommuneRow {
    fn from(c: &Commune) -> Self {
        Self {
            insee: c.insee.clone(),
            name: c.name.clone(),
            search_name: c.search_name.clone(),
            kind: c.kind,
            department: c.department.clone(),
            region: c.region.clone(),
            siren: c.siren.clone(),
            epci_siren: c.epci_siren.clone(),
            parent_insee: c.parent_insee.clone(),
            postal_codes: c.postal_codes.clone(),
            population: c.population,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reads

/// Filters of the EPCI list; `q` is already folded with `fold_for_search`.
#[derive(Debug, Default)]
pub struct EpciFilter {
    pub department: Option<String>,
    pub q: Option<String>,
}

/// Filters of the commune list; `q` is already folded with `fold_for_search`.
#[derive(Debug, Default)]
pub struct CommuneFilter {
    pub department: Option<String>,
    pub epci: Option<String>,
    pub q: Option<String>,
}

fn contains_pattern(folded: &str) -> String {
    format!("%{folded}%")
}

fn prefix_pattern(folded: &str) -> String {
    format!("{folded}%")
}

pub fn list_departments(conn: &mut DbConnection, after: Option<&str>, limit: i64) -> QueryResult<Vec<DepartmentRow>> {
    let mut query =
        departments::table.select(DepartmentRow::as_select()).order(departments::code).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(departments::code.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn find_department(conn: &mut DbConnection, code: &str) -> QueryResult<Option<DepartmentRow>> {
    departments::table.find(code).select(DepartmentRow::as_select()).first(conn).optional()
}

pub fn list_epcis(
    conn: &mut DbConnection,
    filter: &EpciFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<EpciRow>> {
    let mut query = epcis::table.select(EpciRow::as_select()).order(epcis::siren).limit(limit).into_boxed();
    if let Some(department) = &filter.department {
        let in_department = communes::table
            .filter(communes::department.eq(department.clone()))
            .filter(communes::epci_siren.is_not_null())
            .select(communes::epci_siren.assume_not_null());
        query = query.filter(epcis::siren.eq_any(in_department));
    }
    if let Some(q) = &filter.q {
        query = query.filter(epcis::search_name.like(contains_pattern(q)).or(epcis::siren.like(prefix_pattern(q))));
    }
    if let Some(after) = after {
        query = query.filter(epcis::siren.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn find_epci(conn: &mut DbConnection, siren: &str) -> QueryResult<Option<EpciRow>> {
    epcis::table.find(siren).select(EpciRow::as_select()).first(conn).optional()
}

/// The member communes of one EPCI, by INSEE code.
pub fn epci_members(conn: &mut DbConnection, siren: &str) -> QueryResult<Vec<CommuneRow>> {
    communes::table
        .filter(communes::epci_siren.eq(siren))
        .select(CommuneRow::as_select())
        .order(communes::insee)
        .load(conn)
}

/// Member count and départements of each listed EPCI, in one query for the whole page.
pub fn epci_member_stats(
    conn: &mut DbConnection,
    sirens: &[String],
) -> QueryResult<HashMap<String, (i64, Vec<String>)>> {
    let rows: Vec<(Option<String>, String, i64)> = communes::table
        .filter(communes::epci_siren.eq_any(sirens))
        .group_by((communes::epci_siren, communes::department))
        .select((communes::epci_siren, communes::department, diesel::dsl::count_star()))
        .order((communes::epci_siren, communes::department))
        .load(conn)?;
    let mut stats: HashMap<String, (i64, Vec<String>)> = HashMap::new();
    for (siren, department, count) in rows {
        if let Some(siren) = siren {
            let entry = stats.entry(siren).or_default();
            entry.0 += count;
            entry.1.push(department);
        }
    }
    Ok(stats)
}

pub fn list_communes(
    conn: &mut DbConnection,
    filter: &CommuneFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<CommuneRow>> {
    let mut query = communes::table.select(CommuneRow::as_select()).order(communes::insee).limit(limit).into_boxed();
    if let Some(department) = &filter.department {
        query = query.filter(communes::department.eq(department.clone()));
    }
    if let Some(epci) = &filter.epci {
        query = query.filter(communes::epci_siren.eq(epci.clone()));
    }
    if let Some(q) = &filter.q {
        query =
            query.filter(communes::search_name.like(contains_pattern(q)).or(communes::insee.like(prefix_pattern(q))));
    }
    if let Some(after) = after {
        query = query.filter(communes::insee.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn find_commune(conn: &mut DbConnection, insee: &str) -> QueryResult<Option<CommuneRow>> {
    communes::table.find(insee).select(CommuneRow::as_select()).first(conn).optional()
}

pub fn count_departments(conn: &mut DbConnection) -> QueryResult<i64> {
    departments::table.count().get_result(conn)
}

// ---------------------------------------------------------------------------------------------
// Import

/// What one import changed in one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableChanges {
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
}

impl TableChanges {
    pub fn is_empty(&self) -> bool {
        self.inserted == 0 && self.updated == 0 && self.deleted == 0
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub departments: TableChanges,
    pub epcis: TableChanges,
    pub communes: TableChanges,
}

impl ImportReport {
    pub fn is_empty(&self) -> bool {
        self.departments.is_empty() && self.epcis.is_empty() && self.communes.is_empty()
    }
}

/// Rows to insert, rows to update and keys to delete so that `existing` becomes `wanted`.
struct Diff<R, K> {
    inserts: Vec<R>,
    updates: Vec<R>,
    deletes: Vec<K>,
}

impl<R: PartialEq, K: Eq + Hash + Clone> Diff<R, K> {
    fn between(existing: Vec<R>, wanted: Vec<R>, key: impl Fn(&R) -> K) -> Self {
        let mut existing: HashMap<K, R> = existing.into_iter().map(|row| (key(&row), row)).collect();
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        for row in wanted {
            match existing.remove(&key(&row)) {
                None => inserts.push(row),
                Some(old) if old != row => updates.push(row),
                Some(_) => {}
            }
        }
        Self { inserts, updates, deletes: existing.into_keys().collect() }
    }

    fn changes(&self) -> TableChanges {
        TableChanges { inserted: self.inserts.len(), updated: self.updates.len(), deleted: self.deletes.len() }
    }
}

/// Rows per INSERT statement: well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
const INSERT_BATCH: usize = 1_000;

/// Inserts the new rows of a diff, `INSERT_BATCH` per statement. Rows with codes read through
/// `serialize_as` are only insertable by value, hence the copies.
macro_rules! insert_rows {
    ($conn:expr, $table:ident, $diff:expr) => {{
        for batch in $diff.inserts.chunks(INSERT_BATCH) {
            // Multi-row INSERTs are rendered by each backend, not by the multi-connection enum.
            match &mut *$conn {
                DbConnection::Pg(pg) => diesel::insert_into($table::table).values(batch.to_vec()).execute(pg)?,
                DbConnection::Sqlite(sqlite) => {
                    diesel::insert_into($table::table).values(batch.to_vec()).execute(sqlite)?
                }
            };
        }
    }};
}

/// Updates the changed rows of a diff, one statement each: few for départements and EPCI, and no
/// round trip on SQLite (PostgreSQL's communes go by [`write_communes`]).
macro_rules! update_rows {
    ($conn:expr, $table:ident, $key:ident, $diff:expr) => {{
        for row in &$diff.updates {
            diesel::update($table::table.filter($table::$key.eq(&row.$key))).set(row.clone()).execute($conn)?;
        }
    }};
}

/// Applies the inserts and updates of a diff to one table.
macro_rules! write_rows {
    ($conn:expr, $table:ident, $key:ident, $diff:expr) => {{
        insert_rows!($conn, $table, $diff);
        update_rows!($conn, $table, $key, $diff);
    }};
}

diesel::table! {
    /// Communes on their way in, on PostgreSQL: a temporary table of the transaction
    /// ([`write_communes`]), not part of the schema.
    communes_incoming (insee) {
        insee -> Text,
        name -> Text,
        search_name -> Text,
        kind -> Text,
        department -> Text,
        region -> Nullable<Text>,
        siren -> Nullable<Text>,
        epci_siren -> Nullable<Text>,
        parent_insee -> Nullable<Text>,
        postal_codes -> Text,
        population -> Nullable<BigInt>,
    }
}

/// Applies the inserts and updates of the communes' diff. On PostgreSQL the updates, all 35,000
/// when every population moves, are copied into a temporary table (`COPY`) and applied by one
/// `UPDATE … FROM`, where one UPDATE each cost 35,000 round trips (8 s).
fn write_communes(conn: &mut DbConnection, diff: &Diff<CommuneRow, String>) -> QueryResult<()> {
    insert_rows!(conn, communes, diff);
    let DbConnection::Pg(pg) = conn else {
        update_rows!(conn, communes, insee, diff);
        return Ok(());
    };
    if diff.updates.is_empty() {
        return Ok(());
    }
    pg.batch_execute("CREATE TEMPORARY TABLE communes_incoming (LIKE communes) ON COMMIT DROP")?;
    diesel::copy_from(communes_incoming::table)
        .from_raw_data(communes_incoming::table, |out| {
            let mut text = Vec::new();
            for row in &diff.updates {
                let population = row.population.map(|population| population.to_string());
                super::copy::line(
                    &mut text,
                    &[
                        Some(&row.insee),
                        Some(&row.name),
                        Some(&row.search_name),
                        Some(row.kind.as_str()),
                        Some(&row.department),
                        row.region.as_deref(),
                        row.siren.as_deref(),
                        row.epci_siren.as_deref(),
                        row.parent_insee.as_deref(),
                        Some(&row.postal_codes),
                        population.as_deref(),
                    ],
                );
            }
            out.write_all(&text).map_err(super::copy::stream_error)
        })
        .execute(pg)?;
    pg.batch_execute(
        "UPDATE communes SET name = incoming.name, search_name = incoming.search_name, kind = incoming.kind, \
         department = incoming.department, region = incoming.region, siren = incoming.siren, \
         epci_siren = incoming.epci_siren, parent_insee = incoming.parent_insee, \
         postal_codes = incoming.postal_codes, population = incoming.population \
         FROM communes_incoming AS incoming WHERE communes.insee = incoming.insee",
    )
}

/// Deletes the rows of a diff that are gone from the new reference.
macro_rules! delete_rows {
    ($conn:expr, $table:ident, $key:ident, $diff:expr) => {{
        for batch in $diff.deletes.chunks(INSERT_BATCH) {
            diesel::delete($table::table.filter($table::$key.eq_any(batch))).execute($conn)?;
        }
    }};
}

/// Makes the territory tables equal to `reference`, changing only what differs, and says what
/// changed. Run it inside one transaction: a failure leaves the previous reference whole.
pub fn import(conn: &mut DbConnection, reference: &Reference) -> QueryResult<ImportReport> {
    let departments_diff = Diff::between(
        departments::table.select(DepartmentRow::as_select()).load(conn)?,
        reference.departments.iter().map(DepartmentRow::from).collect(),
        |row| row.code.clone(),
    );
    let epcis_diff = Diff::between(
        epcis::table.select(EpciRow::as_select()).load(conn)?,
        reference.epcis.iter().map(EpciRow::from).collect(),
        |row| row.siren.clone(),
    );
    let communes_diff = Diff::between(
        communes::table.select(CommuneRow::as_select()).load(conn)?,
        reference.communes.iter().map(CommuneRow::from).collect(),
        |row| row.insee.clone(),
    );

    // Parents first on the way in, children first on the way out, so every foreign key holds
    // at every statement.
    write_rows!(conn, departments, code, departments_diff);
    write_rows!(conn, epcis, siren, epcis_diff);
    delete_rows!(conn, communes, insee, communes_diff);
    write_communes(conn, &communes_diff)?;
    delete_rows!(conn, epcis, siren, epcis_diff);
    delete_rows!(conn, departments, code, departments_diff);
    // Populations and memberships may have moved: every contract's coverage follows.
    if !communes_diff.changes().is_empty() {
        super::contracts::refresh_summaries(conn, None)?;
    }

    Ok(ImportReport {
        departments: departments_diff.changes(),
        epcis: epcis_diff.changes(),
        communes: communes_diff.changes(),
    })
}

/// Loads the embedded reference into a database that has none yet.
pub fn seed_if_empty(
    conn: &mut DbConnection,
) -> Result<Option<ImportReport>, Box<dyn std::error::Error + Send + Sync>> {
    if count_departments(conn)? > 0 {
        return Ok(None);
    }
    let reference = Reference::embedded()?;
    let report = super::write_transaction(conn, |conn| import(conn, &reference))?;
    Ok(Some(report))
}

/// The current commune a SIREN belongs to, if any.
pub fn find_commune_by_siren(conn: &mut DbConnection, siren: &str) -> QueryResult<Option<CommuneRow>> {
    communes::table.filter(communes::siren.eq(siren)).select(CommuneRow::as_select()).first(conn).optional()
}

/// The départements an EPCI's member communes lie in.
pub fn epci_departments(conn: &mut DbConnection, siren: &str) -> QueryResult<Vec<String>> {
    communes::table
        .filter(communes::epci_siren.eq(siren))
        .select(communes::department)
        .distinct()
        .order(communes::department)
        .load(conn)
}
