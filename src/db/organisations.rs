//! Partners: the organisations that sign, fund, pilot or receive money. A directory readable by
//! every role; writes are scoped by the handlers to the caller's départements.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{contract_actions, contract_parties, equipments, funding_commitments, organisations};
use super::{DbConnection, versioned};
use crate::domain::organisation::OrganisationKind;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = organisations, treat_none_as_null = true)]
pub struct OrganisationRow {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: OrganisationKind,
    pub name: String,
    pub search_name: String,
    pub siren: Option<String>,
    pub department: Option<String>,
    pub insee_code: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

versioned!(OrganisationRow);

#[derive(Debug, Default)]
pub struct OrganisationFilter {
    pub kind: Option<String>,
    pub department: Option<String>,
    pub siren: Option<String>,
    /// Already folded with `fold_for_search`.
    pub q: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &OrganisationFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<OrganisationRow>> {
    let mut query =
        organisations::table.select(OrganisationRow::as_select()).order(organisations::id).limit(limit).into_boxed();
    if let Some(kind) = &filter.kind {
        query = query.filter(organisations::kind.eq(kind.clone()));
    }
    if let Some(department) = &filter.department {
        query = query.filter(organisations::department.eq(department.clone()));
    }
    if let Some(siren) = &filter.siren {
        query = query.filter(organisations::siren.eq(siren.clone()));
    }
    if let Some(q) = &filter.q {
        query = query.filter(organisations::search_name.like(format!("%{q}%")));
    }
    if let Some(after) = after {
        query = query.filter(organisations::id.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table.find(id).select(OrganisationRow::as_select()).first(conn).optional()
}

pub fn find_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<OrganisationRow>> {
    organisations::table.filter(organisations::id.eq_any(ids)).select(OrganisationRow::as_select()).load(conn)
}

pub fn find_by_siren(conn: &mut DbConnection, siren: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::siren.eq(siren))
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()
}

/// The CAF of a département, if it is recorded.
pub fn caf_of(conn: &mut DbConnection, department: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::kind.eq("caf"))
        .filter(organisations::department.eq(department))
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &OrganisationRow) -> QueryResult<()> {
    diesel::insert_into(organisations::table).values(row.clone()).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; returns the rows written.
pub fn update(conn: &mut DbConnection, row: &OrganisationRow, expected_version: i64) -> QueryResult<usize> {
    let updated = diesel::update(
        organisations::table.filter(organisations::id.eq(&row.id)).filter(organisations::version.eq(expected_version)),
    )
    .set(row.clone())
    .execute(conn)?;
    Ok(updated)
}

/// Deletes the entry if the stored version is still `expected_version`; returns the rows deleted.
pub fn delete(conn: &mut DbConnection, id: &str, expected_version: i64) -> QueryResult<usize> {
    let deleted = diesel::delete(
        organisations::table.filter(organisations::id.eq(id)).filter(organisations::version.eq(expected_version)),
    )
    .execute(conn)?;
    Ok(deleted)
}

/// Where an organisation is still used: contracts it is party to, equipments it runs, actions it
/// pilots, funding it receives.
pub fn usage(conn: &mut DbConnection, id: &str) -> QueryResult<(i64, i64, i64, i64)> {
    let parties = contract_parties::table.filter(contract_parties::organisation_id.eq(id)).count().get_result(conn)?;
    let managed = equipments::table.filter(equipments::manager_id.eq(id)).count().get_result(conn)?;
    let piloted =
        contract_actions::table.filter(contract_actions::pilot_organisation_id.eq(id)).count().get_result(conn)?;
    let funded = funding_commitments::table.filter(funding_commitments::payee_id.eq(id)).count().get_result(conn)?;
    Ok((parties, managed, piloted, funded))
}
