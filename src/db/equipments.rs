//! Equipments: the facilities (crèches, leisure centres, relais…) that a manager runs.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::equipments;
use super::stored::rfc3339_json;
use super::{DbConnection, versioned};
use crate::domain::organisation::EquipmentType;

/// A facility run by a manager organisation, in one commune.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = equipments, treat_none_as_null = true)]
#[schema(as = EquipmentView)]
pub struct EquipmentRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub id: Uuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    #[serde(rename = "type")]
    pub equipment_type: EquipmentType,
    #[schema(example = "Crèche Les Petits Pas")]
    pub name: String,
    /// 14 digits: the manager's SIREN and the establishment number.
    pub siret: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub manager_id: Uuid,
    /// INSEE code of the commune it stands in.
    pub commune: String,
    /// Département of that commune.
    pub department: String,
    pub capacity_places: Option<i64>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_json")]
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

versioned!(EquipmentRow);

#[derive(Debug, Default)]
pub struct EquipmentFilter {
    pub equipment_type: Option<EquipmentType>,
    pub department: Option<String>,
    pub commune: Option<String>,
    pub manager_id: Option<Uuid>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &EquipmentFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<EquipmentRow>> {
    let mut query = equipments::table.select(EquipmentRow::as_select()).order(equipments::id).limit(limit).into_boxed();
    if let Some(equipment_type) = &filter.equipment_type {
        query = query.filter(equipments::equipment_type.eq(equipment_type.as_str()));
    }
    if let Some(department) = &filter.department {
        query = query.filter(equipments::department.eq(department.clone()));
    }
    if let Some(commune) = &filter.commune {
        query = query.filter(equipments::commune.eq(commune.clone()));
    }
    if let Some(manager_id) = &filter.manager_id {
        query = query.filter(equipments::manager_id.eq(manager_id.to_string()));
    }
    if let Some(after) = after {
        query = query.filter(equipments::id.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<EquipmentRow>> {
    equipments::table.find(id.to_string()).select(EquipmentRow::as_select()).first(conn).optional()
}

/// The equipments of some ids; an unknown id is left out.
pub fn find_many(conn: &mut DbConnection, ids: &[Uuid]) -> QueryResult<Vec<EquipmentRow>> {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    equipments::table.filter(equipments::id.eq_any(ids)).select(EquipmentRow::as_select()).load(conn)
}

pub fn insert(conn: &mut DbConnection, row: &EquipmentRow) -> QueryResult<()> {
    diesel::insert_into(equipments::table).values(row.clone()).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; returns the rows written.
pub fn update(conn: &mut DbConnection, row: &EquipmentRow, expected_version: i64) -> QueryResult<usize> {
    let stored = equipments::table.find(row.id.to_string()).filter(equipments::version.eq(expected_version));
    diesel::update(stored).set(row.clone()).execute(conn)
}

/// Deletes the entry if the stored version is still `expected_version`; returns the rows deleted.
pub fn delete(conn: &mut DbConnection, id: Uuid, expected_version: i64) -> QueryResult<usize> {
    diesel::delete(equipments::table.find(id.to_string()).filter(equipments::version.eq(expected_version)))
        .execute(conn)
}
