//! Partners: the organisations that sign, fund, pilot or receive money. A directory readable by
//! every role; writes are scoped by the handlers to the caller's départements.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{contract_actions, contract_parties, equipments, funding_commitments, organisations};
use super::stored::rfc3339_json;
use super::{DbConnection, contracts, versioned};
use crate::auth::Scope;
use crate::domain::organisation::OrganisationKind;

/// A partner of the contracts: the CAF, a collectivity or another body.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = organisations, treat_none_as_null = true)]
#[schema(as = OrganisationView)]
pub struct OrganisationRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: OrganisationKind,
    #[schema(example = "CC Faucigny - Glières")]
    pub name: String,
    /// The name folded for search: a column, never answered.
    #[serde(skip)]
    pub search_name: String,
    /// 9 digits; absent only for kind `other`.
    #[schema(example = "200000172")]
    pub siren: Option<String>,
    pub department: Option<String>,
    /// INSEE code of the commune (for a commune, its own).
    pub insee_code: Option<String>,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

versioned!(OrganisationRow);

#[derive(Debug, Default)]
pub struct OrganisationFilter {
    pub kind: Option<OrganisationKind>,
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
    if let Some(kind) = filter.kind {
        query = query.filter(organisations::kind.eq(kind.as_str()));
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

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<OrganisationRow>> {
    organisations::table.find(id.to_string()).select(OrganisationRow::as_select()).first(conn).optional()
}

/// The organisations of some ids; an unknown id is left out.
pub fn find_many(conn: &mut DbConnection, ids: &[Uuid]) -> QueryResult<Vec<OrganisationRow>> {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    organisations::table.filter(organisations::id.eq_any(ids)).select(OrganisationRow::as_select()).load(conn)
}

pub fn insert(conn: &mut DbConnection, row: &OrganisationRow) -> QueryResult<()> {
    diesel::insert_into(organisations::table).values(row.clone()).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; returns the rows written.
pub fn update(conn: &mut DbConnection, row: &OrganisationRow, expected_version: i64) -> QueryResult<usize> {
    let stored = organisations::table.find(row.id.to_string()).filter(organisations::version.eq(expected_version));
    diesel::update(stored).set(row.clone()).execute(conn)
}

/// Deletes the entry if the stored version is still `expected_version`; returns the rows deleted.
pub fn delete(conn: &mut DbConnection, id: Uuid, expected_version: i64) -> QueryResult<usize> {
    diesel::delete(organisations::table.find(id.to_string()).filter(organisations::version.eq(expected_version)))
        .execute(conn)
}

/// Where an organisation is still used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Contracts it is party to.
    pub parties: i64,
    /// Equipments it runs.
    pub equipments: i64,
    /// Actions it pilots.
    pub actions: i64,
    /// Funding commitments it receives.
    pub commitments: i64,
}

impl Usage {
    pub fn is_unused(&self) -> bool {
        self.parties + self.equipments + self.actions + self.commitments == 0
    }
}

/// Where an organisation is used, counted only in the contracts `scope` reaches, and whether it
/// is also used in contracts beyond them: a refusal may say that much, never how much.
pub fn usage_seen_from(conn: &mut DbConnection, id: Uuid, scope: &Scope) -> QueryResult<(Usage, bool)> {
    let key = id.to_string();
    let of_parties: Vec<String> = contract_parties::table
        .filter(contract_parties::organisation_id.eq(&key))
        .select(contract_parties::contract_id)
        .load(conn)?;
    let of_actions: Vec<String> = contract_actions::table
        .filter(contract_actions::pilot_organisation_id.eq(&key))
        .select(contract_actions::contract_id)
        .load(conn)?;
    let of_commitments: Vec<String> = funding_commitments::table
        .filter(funding_commitments::payee_id.eq(&key))
        .select(funding_commitments::contract_id)
        .load(conn)?;
    // Whether the scope reaches each contract, looked up once per contract.
    let mut in_scope = std::collections::HashMap::new();
    let mut count_reached = |conn: &mut DbConnection, contract_ids: &[String]| -> QueryResult<i64> {
        let mut count = 0;
        for contract_id in contract_ids {
            if !in_scope.contains_key(contract_id) {
                let found = contracts::find(conn, scope, contract_id)?.is_some();
                in_scope.insert(contract_id.clone(), found);
            }
            count += i64::from(in_scope[contract_id]);
        }
        Ok(count)
    };
    let seen = Usage {
        parties: count_reached(conn, &of_parties)?,
        equipments: equipments::table.filter(equipments::manager_id.eq(&key)).count().get_result(conn)?,
        actions: count_reached(conn, &of_actions)?,
        commitments: count_reached(conn, &of_commitments)?,
    };
    let elsewhere = seen.parties + seen.actions + seen.commitments
        < i64::try_from(of_parties.len() + of_actions.len() + of_commitments.len()).unwrap_or(i64::MAX);
    Ok((seen, elsewhere))
}

pub fn usage(conn: &mut DbConnection, id: Uuid) -> QueryResult<Usage> {
    let id = id.to_string();
    Ok(Usage {
        parties: contract_parties::table.filter(contract_parties::organisation_id.eq(&id)).count().get_result(conn)?,
        equipments: equipments::table.filter(equipments::manager_id.eq(&id)).count().get_result(conn)?,
        actions: contract_actions::table
            .filter(contract_actions::pilot_organisation_id.eq(&id))
            .count()
            .get_result(conn)?,
        commitments: funding_commitments::table
            .filter(funding_commitments::payee_id.eq(&id))
            .count()
            .get_result(conn)?,
    })
}
