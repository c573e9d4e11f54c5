//! Equipments: the facilities (crèches, leisure centres, relais…) that a manager runs.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::equipments;
use super::{DbConnection, versioned};
use crate::domain::organisation::EquipmentType;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = equipments, treat_none_as_null = true)]
pub struct EquipmentRow {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub equipment_type: EquipmentType,
    pub name: String,
    pub siret: Option<String>,
    pub manager_id: String,
    pub commune: String,
    pub department: String,
    pub capacity_places: Option<i64>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

versioned!(EquipmentRow);

#[derive(Debug, Default)]
pub struct EquipmentFilter {
    pub equipment_type: Option<String>,
    pub department: Option<String>,
    pub commune: Option<String>,
    pub manager_id: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &EquipmentFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<EquipmentRow>> {
    let mut query = equipments::table.select(EquipmentRow::as_select()).order(equipments::id).limit(limit).into_boxed();
    if let Some(equipment_type) = &filter.equipment_type {
        query = query.filter(equipments::equipment_type.eq(equipment_type.clone()));
    }
    if let Some(department) = &filter.department {
        query = query.filter(equipments::department.eq(department.clone()));
    }
    if let Some(commune) = &filter.commune {
        query = query.filter(equipments::commune.eq(commune.clone()));
    }
    if let Some(manager_id) = &filter.manager_id {
        query = query.filter(equipments::manager_id.eq(manager_id.clone()));
    }
    if let Some(after) = after {
        query = query.filter(equipments::id.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<EquipmentRow>> {
    equipments::table.find(id).select(EquipmentRow::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut DbConnection, row: &EquipmentRow) -> QueryResult<()> {
    diesel::insert_into(equipments::table).values(row.clone()).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; returns the rows written.
pub fn update(conn: &mut DbConnection, row: &EquipmentRow, expected_version: i64) -> QueryResult<usize> {
    let updated = diesel::update(
        equipments::table.filter(equipments::id.eq(&row.id)).filter(equipments::version.eq(expected_version)),
    )
    .set(row.clone())
    .execute(conn)?;
    Ok(updated)
}

/// Deletes the entry if the stored version is still `expected_version`; returns the rows deleted.
pub fn delete(conn: &mut DbConnection, id: &str, expected_version: i64) -> QueryResult<usize> {
    let deleted = diesel::delete(
        equipments::table.filter(equipments::id.eq(id)).filter(equipments::version.eq(expected_version)),
    )
    .execute(conn)?;
    Ok(deleted)
}
