//! Contracts with their perimeter and predecessors. Every read starts from [`scoped`], the
//! contracts the caller's [`Scope`] reaches; writes go through the write pipeline (`crate::write`),
//! which holds a [`ScopedContract`] and records the history.

use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{
    communes, contract_communes, contract_epcis, contract_parties, contract_predecessors, contracts, organisations,
};
use super::stored::JoinedCodes;
use super::{DbConnection, serialize_writers};
use crate::auth::Scope;
use crate::domain::contract::{ContractKind, Field, RecordedStatus};

type Backend = <DbConnection as Connection>::Backend;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contracts, treat_none_as_null = true)]
pub struct ContractRow {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: ContractKind,
    pub reference: String,
    pub title: String,
    pub department: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: RecordedStatus,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub signed_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    pub status_reason: Option<String>,
    #[diesel(deserialize_as = JoinedCodes, serialize_as = JoinedCodes)]
    pub fields: Vec<Field>,
    pub linked_schemes: String,
    /// The territory's band in the bonus rate table.
    pub bonus_band: Option<i64>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

super::versioned!(ContractRow);

/// The EPCI and communes a contract names: sorted when read, in the client's order when sent
/// (so that error pointers name the client's indexes), never with duplicates when written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Perimeter {
    pub epcis: Vec<String>,
    pub communes: Vec<String>,
}

impl Perimeter {
    pub fn len(&self) -> usize {
        self.epcis.len() + self.communes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The communes a perimeter covers, directly or through its EPCI, and their population.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    pub communes: i64,
    pub population: i64,
}

/// The contracts `scope` reaches: all, those of some départements, or those one of some SIRENs
/// is party to.
pub fn scoped(scope: &Scope) -> contracts::BoxedQuery<'static, Backend> {
    let query = contracts::table.into_boxed();
    match scope {
        Scope::Everything => query,
        Scope::Departments(departments) => {
            query.filter(contracts::department.eq_any(departments.iter().cloned().collect::<Vec<_>>()))
        }
        Scope::PartyTo(sirens) => {
            let party_to = contract_parties::table
                .inner_join(organisations::table)
                .filter(organisations::siren.eq_any(sirens.iter().cloned().collect::<Vec<_>>()))
                .select(contract_parties::contract_id);
            query.filter(contracts::id.eq_any(party_to))
        }
    }
}

/// The contract `id` if `scope` reaches it: a plain lookup by key (whose statement diesel keeps
/// prepared), then the same scope rule as [`scoped`].
pub fn find(conn: &mut DbConnection, scope: &Scope, id: &str) -> QueryResult<Option<ContractRow>> {
    let Some(row) = contracts::table.find(id).select(ContractRow::as_select()).first(conn).optional()? else {
        return Ok(None);
    };
    Ok(reachable(conn, scope, &row)?.then_some(row))
}

/// [`find`] with the summary a read shows, in the same query: the hot path of `GET /contracts/{id}`.
pub fn find_summarised(
    conn: &mut DbConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<(ContractRow, SummaryRow)>> {
    let Some((row, summary)) =
        contracts::table.find(id).select((ContractRow::as_select(), SummaryRow::as_select())).first(conn).optional()?
    else {
        return Ok(None);
    };
    Ok(reachable(conn, scope, &row)?.then_some((row, summary)))
}

/// Whether `scope` reaches `row`: the rule of [`scoped`], for one row already read.
fn reachable(conn: &mut DbConnection, scope: &Scope, row: &ContractRow) -> QueryResult<bool> {
    Ok(match scope {
        Scope::Everything => true,
        Scope::Departments(departments) => departments.contains(&row.department),
        Scope::PartyTo(sirens) => {
            let party_sirens: Vec<Option<String>> = contract_parties::table
                .inner_join(organisations::table)
                .filter(contract_parties::contract_id.eq(&row.id))
                .select(organisations::siren)
                .load(conn)?;
            party_sirens.iter().flatten().any(|siren| sirens.contains(siren))
        }
    })
}

/// A contract the caller's scope reaches. Only [`find_scoped`], [`lock_scoped`] and [`insert`]
/// (of a contract the caller was allowed to create) make one, so a repository function that
/// takes it cannot be handed a contract outside the caller's scope: child rows are read and
/// written through it, never through a bare contract id.
#[derive(Debug, Clone)]
pub struct ScopedContract(ContractRow);

impl ScopedContract {
    pub fn row(&self) -> &ContractRow {
        &self.0
    }

    pub fn id(&self) -> &str {
        &self.0.id
    }
}

/// The contract `id` if `scope` reaches it, for a read.
pub fn find_scoped(conn: &mut DbConnection, scope: &Scope, id: &str) -> QueryResult<Option<ScopedContract>> {
    Ok(find(conn, scope, id)?.map(ScopedContract))
}

/// The contract `id` if `scope` reaches it, for a change: the writers of one contract and of its
/// parts take turns from here until the transaction ends, so what a change reads of the contract
/// (signed, still open, its parties) still holds when it commits. The lock is taken before the
/// scope is looked at, so an unknown id and an id outside the scope wait and answer alike.
pub fn lock_scoped(conn: &mut DbConnection, scope: &Scope, id: &str) -> QueryResult<Option<ScopedContract>> {
    serialize_writers(conn, &format!("contract:{id}"))?;
    find_scoped(conn, scope, id)
}

/// Writes the contract's own fields (and its perimeter and predecessors when given), under its
/// lock, and keeps `contract` as it now is.
pub fn write(
    conn: &mut DbConnection,
    contract: &mut ScopedContract,
    row: ContractRow,
    perimeter: Option<&Perimeter>,
    predecessor_ids: Option<&[String]>,
) -> QueryResult<()> {
    diesel::update(contracts::table.find(&contract.0.id)).set(row.clone()).execute(conn)?;
    if let Some(perimeter) = perimeter {
        write_perimeter(conn, &row.id, perimeter)?;
    }
    if let Some(predecessor_ids) = predecessor_ids {
        write_predecessors(conn, &row.id, predecessor_ids)?;
    }
    if perimeter.is_some() || predecessor_ids.is_some() {
        refresh_summaries(conn, Some(std::slice::from_ref(&row.id)))?;
    }
    contract.0 = ContractRow { id: contract.0.id.clone(), ..row };
    Ok(())
}

/// Moves the contract to `version` at `at` because one of its parts changed, so that its ETag and
/// `updated_since` see the change too; `contract` follows.
pub fn touch_scoped(
    conn: &mut DbConnection,
    contract: &mut ScopedContract,
    version: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(contracts::table.find(&contract.0.id))
        .set((contracts::version.eq(version), contracts::updated_at.eq(at)))
        .execute(conn)?;
    contract.0.version = version;
    contract.0.updated_at = at;
    Ok(())
}

/// Contracts by id among those in scope; the ones out of scope are simply absent.
pub fn find_many(conn: &mut DbConnection, scope: &Scope, ids: &[String]) -> QueryResult<Vec<ContractRow>> {
    scoped(scope).filter(contracts::id.eq_any(ids.to_vec())).select(ContractRow::as_select()).load(conn)
}

/// How a contract list is sorted. Every order ends with the id, so pages never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Reference,
    StartDate,
    EndDate,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractOrder {
    pub key: SortKey,
    pub descending: bool,
}

/// The filters of the contract list. `status` is the status clients see, resolved against `today`.
#[derive(Debug, Default, Clone)]
pub struct ContractFilter {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub department: Option<String>,
    pub siren: Option<String>,
    pub commune: Option<String>,
    pub active_on: Option<NaiveDate>,
    pub updated_since: Option<NaiveDateTime>,
}

/// The sort value of a row, as a cursor string that sorts like the column.
pub fn sort_value(row: &ContractRow, key: SortKey) -> String {
    match key {
        SortKey::Reference => row.reference.clone(),
        SortKey::StartDate => row.start_date.to_string(),
        SortKey::EndDate => row.end_date.to_string(),
        SortKey::CreatedAt => row.created_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        SortKey::UpdatedAt => row.updated_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
    }
}

fn filtered(scope: &Scope, filter: &ContractFilter, today: NaiveDate) -> contracts::BoxedQuery<'static, Backend> {
    let mut query = scoped(scope);
    if let Some(kind) = &filter.kind {
        query = query.filter(contracts::kind.eq(kind.clone()));
    }
    if let Some(department) = &filter.department {
        query = query.filter(contracts::department.eq(department.clone()));
    }
    if let Some(status) = filter.status.as_deref() {
        query = match status {
            "signed" => query.filter(contracts::status.eq("signed")).filter(contracts::start_date.gt(today)),
            "active" => query
                .filter(contracts::status.eq("signed"))
                .filter(contracts::start_date.le(today))
                .filter(contracts::end_date.ge(today)),
            "expired" => query.filter(contracts::status.eq("signed")).filter(contracts::end_date.lt(today)),
            recorded => query.filter(contracts::status.eq(recorded.to_owned())),
        };
    }
    if let Some(day) = filter.active_on {
        // In force on that day: signed (or since superseded) and inside its period, or
        // terminated after that day.
        query = query.filter(contracts::start_date.le(day)).filter(
            contracts::status
                .eq_any(["signed", "superseded"])
                .and(contracts::end_date.ge(day))
                .or(contracts::status.eq("terminated").and(contracts::ended_on.ge(day))),
        );
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(contracts::updated_at.ge(since));
    }
    if let Some(siren) = &filter.siren {
        let party_to = contract_parties::table
            .inner_join(organisations::table)
            .filter(organisations::siren.eq(siren.clone()))
            .select(contract_parties::contract_id);
        query = query.filter(contracts::id.eq_any(party_to));
    }
    if let Some(commune) = &filter.commune {
        let named = contract_communes::table
            .filter(contract_communes::insee.eq(commune.clone()))
            .select(contract_communes::contract_id);
        let epci_of_commune =
            communes::table.filter(communes::insee.eq(commune.clone())).select(communes::epci_siren.assume_not_null());
        let through_epci = contract_epcis::table
            .filter(contract_epcis::epci_siren.eq_any(epci_of_commune))
            .select(contract_epcis::contract_id);
        query = query.filter(contracts::id.eq_any(named).or(contracts::id.eq_any(through_epci)));
    }
    query
}

/// Applies the sort and, for the pages after the first, the keyset condition
/// `(key, id) > (cursor key, cursor id)` (or `<` descending).
macro_rules! keyset {
    ($query:ident, $column:expr, $order:expr, $after:expr, $parse:expr) => {{
        let mut query = $query;
        if let Some((value, id)) = $after {
            let value = $parse(value.as_str()).ok_or(diesel::result::Error::NotFound)?;
            query = if $order.descending {
                query.filter($column.lt(value.clone()).or($column.eq(value).and(contracts::id.lt(id.clone()))))
            } else {
                query.filter($column.gt(value.clone()).or($column.eq(value).and(contracts::id.gt(id.clone()))))
            };
        }
        if $order.descending {
            query.order(($column.desc(), contracts::id.desc()))
        } else {
            query.order(($column.asc(), contracts::id.asc()))
        }
    }};
}

fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.6f").ok()
}

/// One page of the contracts in scope that pass `filter`, in `order`, after the cursor
/// `(sort value, id)`. A cursor whose value does not parse is answered as `NotFound`, which the
/// handler never sees: cursors come from signed page tokens.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &ContractFilter,
    today: NaiveDate,
    order: ContractOrder,
    after: Option<&(String, String)>,
    limit: i64,
) -> QueryResult<Vec<(ContractRow, SummaryRow)>> {
    let query = filtered(scope, filter, today).select((ContractRow::as_select(), SummaryRow::as_select())).limit(limit);
    let query = match order.key {
        SortKey::Reference => keyset!(query, contracts::reference, order, after, |v: &str| Some(v.to_owned())),
        SortKey::StartDate => {
            keyset!(query, contracts::start_date, order, after, |v: &str| v.parse::<NaiveDate>().ok())
        }
        SortKey::EndDate => keyset!(query, contracts::end_date, order, after, |v: &str| v.parse::<NaiveDate>().ok()),
        SortKey::CreatedAt => keyset!(query, contracts::created_at, order, after, parse_timestamp),
        SortKey::UpdatedAt => keyset!(query, contracts::updated_at, order, after, parse_timestamp),
    };
    query.load(conn)
}

/// What a read shows of a contract's perimeter, coverage and predecessors, kept on its row by
/// [`refresh_summaries`] so that reads need no join.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = contracts)]
pub struct SummaryRow {
    pub id: String,
    /// Comma-separated, sorted.
    pub perimeter_epcis: String,
    /// Comma-separated, sorted.
    pub perimeter_communes: String,
    pub covered_communes: i64,
    pub covered_population: i64,
    /// Comma-separated, sorted.
    pub predecessor_ids: String,
}

impl SummaryRow {
    pub fn perimeter(&self) -> Perimeter {
        Perimeter { epcis: split_list(&self.perimeter_epcis), communes: split_list(&self.perimeter_communes) }
    }

    pub fn predecessor_ids(&self) -> Vec<String> {
        split_list(&self.predecessor_ids)
    }

    pub fn coverage(&self) -> Coverage {
        Coverage { communes: self.covered_communes, population: self.covered_population }
    }
}

/// The entries of a comma-separated summary column.
fn split_list(text: &str) -> Vec<String> {
    text.split(',').filter(|part| !part.is_empty()).map(str::to_owned).collect()
}

pub fn summaries(conn: &mut DbConnection, ids: &[String]) -> QueryResult<HashMap<String, SummaryRow>> {
    let rows: Vec<SummaryRow> =
        contracts::table.filter(contracts::id.eq_any(ids)).select(SummaryRow::as_select()).load(conn)?;
    Ok(rows.into_iter().map(|row| (row.id.clone(), row)).collect())
}

/// Rewrites the summary columns of `ids` (every contract when `None`) from the link tables and
/// the territory reference.
pub fn refresh_summaries(conn: &mut DbConnection, ids: Option<&[String]>) -> QueryResult<()> {
    let ids: Vec<String> = match ids {
        Some(ids) => ids.to_vec(),
        None => contracts::table.select(contracts::id).load(conn)?,
    };
    for chunk in ids.chunks(500) {
        let perimeters = perimeters(conn, chunk)?;
        let coverage = coverage(conn, &perimeters)?;
        let mut predecessors = predecessors(conn, chunk)?;
        for id in chunk {
            let perimeter = perimeters.get(id).cloned().unwrap_or_default();
            let covered = coverage.get(id).copied().unwrap_or_default();
            let predecessor_ids = predecessors.remove(id).unwrap_or_default();
            diesel::update(contracts::table.filter(contracts::id.eq(id)))
                .set((
                    contracts::perimeter_epcis.eq(perimeter.epcis.join(",")),
                    contracts::perimeter_communes.eq(perimeter.communes.join(",")),
                    contracts::covered_communes.eq(covered.communes),
                    contracts::covered_population.eq(covered.population),
                    contracts::predecessor_ids.eq(predecessor_ids.join(",")),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The named EPCI and communes of each contract.
pub fn perimeters(conn: &mut DbConnection, ids: &[String]) -> QueryResult<HashMap<String, Perimeter>> {
    let epcis = by_contract(
        contract_epcis::table
            .filter(contract_epcis::contract_id.eq_any(ids))
            .order((contract_epcis::contract_id, contract_epcis::epci_siren))
            .load(conn)?,
    );
    let communes = by_contract(
        contract_communes::table
            .filter(contract_communes::contract_id.eq_any(ids))
            .order((contract_communes::contract_id, contract_communes::insee))
            .load(conn)?,
    );
    let named =
        |by_contract: &HashMap<String, Vec<String>>, id: &String| by_contract.get(id).cloned().unwrap_or_default();
    Ok(ids
        .iter()
        .map(|id| (id.clone(), Perimeter { epcis: named(&epcis, id), communes: named(&communes, id) }))
        .collect())
}

/// `(contract id, value)` pairs gathered by contract, each list in the order read.
fn by_contract(rows: Vec<(String, String)>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (contract_id, value) in rows {
        out.entry(contract_id).or_default().push(value);
    }
    out
}

/// What each perimeter covers: its communes and the members of its EPCI, each counted once.
/// One indexed query per kind of entry (an `OR` of two `IN` lists would scan every commune).
pub fn coverage<S: std::hash::BuildHasher>(
    conn: &mut DbConnection,
    perimeters: &HashMap<String, Perimeter, S>,
) -> QueryResult<HashMap<String, Coverage>> {
    let epcis: BTreeSet<&String> = perimeters.values().flat_map(|p| &p.epcis).collect();
    let named: BTreeSet<&String> = perimeters.values().flat_map(|p| &p.communes).collect();
    let mut members: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    if !epcis.is_empty() {
        let rows: Vec<(Option<String>, String, Option<i64>)> = communes::table
            .filter(communes::epci_siren.eq_any(epcis.into_iter().cloned().collect::<Vec<_>>()))
            .select((communes::epci_siren, communes::insee, communes::population))
            .load(conn)?;
        for (epci, insee, population) in rows {
            members.entry(epci.unwrap_or_default()).or_default().push((insee, population.unwrap_or(0)));
        }
    }
    let mut populations: HashMap<String, i64> = HashMap::new();
    if !named.is_empty() {
        let rows: Vec<(String, Option<i64>)> = communes::table
            .filter(communes::insee.eq_any(named.into_iter().cloned().collect::<Vec<_>>()))
            .select((communes::insee, communes::population))
            .load(conn)?;
        populations.extend(rows.into_iter().map(|(insee, population)| (insee, population.unwrap_or(0))));
    }
    let mut out = HashMap::with_capacity(perimeters.len());
    for (contract_id, perimeter) in perimeters {
        let mut covered: HashMap<&str, i64> = HashMap::new();
        for epci in &perimeter.epcis {
            for (insee, population) in members.get(epci).map(Vec::as_slice).unwrap_or_default() {
                covered.insert(insee, *population);
            }
        }
        for insee in &perimeter.communes {
            if let Some(population) = populations.get(insee) {
                covered.insert(insee, *population);
            }
        }
        let coverage =
            Coverage { communes: i64::try_from(covered.len()).unwrap_or(i64::MAX), population: covered.values().sum() };
        out.insert(contract_id.clone(), coverage);
    }
    Ok(out)
}

fn write_perimeter(conn: &mut DbConnection, id: &str, perimeter: &Perimeter) -> QueryResult<()> {
    diesel::delete(contract_epcis::table.filter(contract_epcis::contract_id.eq(id))).execute(conn)?;
    diesel::delete(contract_communes::table.filter(contract_communes::contract_id.eq(id))).execute(conn)?;
    for siren in &perimeter.epcis {
        diesel::insert_into(contract_epcis::table)
            .values((contract_epcis::contract_id.eq(id), contract_epcis::epci_siren.eq(siren)))
            .execute(conn)?;
    }
    for insee in &perimeter.communes {
        diesel::insert_into(contract_communes::table)
            .values((contract_communes::contract_id.eq(id), contract_communes::insee.eq(insee)))
            .execute(conn)?;
    }
    Ok(())
}

/// The CEJs each contract replaces.
pub fn predecessors(conn: &mut DbConnection, ids: &[String]) -> QueryResult<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = contract_predecessors::table
        .filter(contract_predecessors::contract_id.eq_any(ids))
        .order((contract_predecessors::contract_id, contract_predecessors::predecessor_id))
        .load(conn)?;
    Ok(by_contract(rows))
}

/// The contracts that name `id` among their predecessors.
pub fn successors(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<String>> {
    contract_predecessors::table
        .filter(contract_predecessors::predecessor_id.eq(id))
        .select(contract_predecessors::contract_id)
        .order(contract_predecessors::contract_id)
        .load(conn)
}

fn write_predecessors(conn: &mut DbConnection, id: &str, predecessor_ids: &[String]) -> QueryResult<()> {
    diesel::delete(contract_predecessors::table.filter(contract_predecessors::contract_id.eq(id))).execute(conn)?;
    for predecessor_id in predecessor_ids {
        diesel::insert_into(contract_predecessors::table)
            .values((
                contract_predecessors::contract_id.eq(id),
                contract_predecessors::predecessor_id.eq(predecessor_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Generated numbers stay below this; a département signs a few contracts a year.
const MAX_GENERATED_NUMBER: u32 = 1_000_000;

/// The next free reference `PREFIX0001`, `PREFIX0002`… Writers of the same prefix take turns
/// until their transaction ends, so two contracts never draw the same number.
pub fn next_reference(conn: &mut DbConnection, prefix: &str) -> QueryResult<String> {
    serialize_writers(conn, &format!("contract-reference:{prefix}"))?;
    let taken: Vec<String> = contracts::table
        .filter(contracts::reference.like(format!("{prefix}%")))
        .select(contracts::reference)
        .load(conn)?;
    // Numbers a person chose far above the sequence (CTG-033-2024-4294967295) do not move it.
    let highest = taken
        .iter()
        .filter_map(|reference| reference.strip_prefix(prefix)?.parse::<u32>().ok())
        .filter(|number| *number < MAX_GENERATED_NUMBER)
        .max()
        .unwrap_or(0);
    Ok(format!("{prefix}{:04}", highest + 1))
}

pub fn reference_taken(conn: &mut DbConnection, reference: &str, except_id: Option<&str>) -> QueryResult<bool> {
    let mut query = contracts::table.filter(contracts::reference.eq(reference.to_owned())).into_boxed();
    if let Some(id) = except_id {
        query = query.filter(contracts::id.ne(id.to_owned()));
    }
    Ok(query.count().get_result::<i64>(conn)? > 0)
}

/// Writes a new contract, which the caller was allowed to create in its département: it is then
/// in the caller's scope.
pub fn insert(
    conn: &mut DbConnection,
    row: ContractRow,
    perimeter: &Perimeter,
    predecessor_ids: &[String],
) -> QueryResult<ScopedContract> {
    diesel::insert_into(contracts::table).values(row.clone()).execute(conn)?;
    write_perimeter(conn, &row.id, perimeter)?;
    write_predecessors(conn, &row.id, predecessor_ids)?;
    refresh_summaries(conn, Some(std::slice::from_ref(&row.id)))?;
    Ok(ScopedContract(row))
}
