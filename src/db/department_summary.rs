//! What a departmental schema tool reads about one département: its contracts, the territory its
//! active CTGs cover against the reference, and the latest coverage-rate observations of its EPCI.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use diesel::prelude::*;

use super::DbConnection;
use super::contracts::ContractRow;
use super::observations::ObservationRow;
use super::schema::{communes, contract_communes, contract_epcis, contracts, epcis, observations};
use crate::domain::observations::ObservationOrigin;

/// Municipal arrondissements are counted through their commune, never on their own.
const COMMUNE: &str = "commune_actuelle";
/// The indicator whose latest values the summary shows per EPCI.
pub const COVERAGE_RATE_INDICATOR: &str = "taux_couverture_eaje_epci";

/// Every contract recorded for the département, by reference.
pub fn contracts_of(conn: &mut DbConnection, department: &str) -> QueryResult<Vec<ContractRow>> {
    contracts::table
        .filter(contracts::department.eq(department.to_owned()))
        .order(contracts::reference)
        .select(ContractRow::as_select())
        .load(conn)
}

/// The communes and EPCI of the département, and those of them an active CTG covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CoverageView)]
pub struct TerritoryCoverage {
    /// Current communes of the département (municipal arrondissements count through their commune).
    pub communes_total: i64,
    /// Those covered by a CTG in force today: as members of an EPCI of its perimeter, or by name.
    pub communes_covered: i64,
    pub population_total: i64,
    pub population_covered: i64,
    /// EPCI with at least one member commune in the département.
    pub epcis_total: i64,
    /// Those in the perimeter of a CTG in force today.
    pub epcis_covered: i64,
}

/// Coverage by the CTGs in force on `today`, wherever they were signed: an EPCI spanning two
/// départements covers communes of both. A commune is covered as a member of an EPCI in an active
/// CTG's perimeter or by name; an EPCI when it is in such a perimeter.
pub fn territory_coverage(
    conn: &mut DbConnection,
    department: &str,
    today: NaiveDate,
) -> QueryResult<TerritoryCoverage> {
    let active_ctgs = contracts::table
        .filter(contracts::kind.eq("ctg"))
        .filter(contracts::status.eq("signed"))
        .filter(contracts::start_date.le(today))
        .filter(contracts::end_date.ge(today))
        .select(contracts::id);
    let covered_epcis: BTreeSet<String> = contract_epcis::table
        .filter(contract_epcis::contract_id.eq_any(active_ctgs))
        .select(contract_epcis::epci_siren)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let named_communes: BTreeSet<String> = contract_communes::table
        .filter(contract_communes::contract_id.eq_any(active_ctgs))
        .select(contract_communes::insee)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let rows: Vec<(String, Option<String>, Option<i64>)> = communes::table
        .filter(communes::department.eq(department.to_owned()))
        .filter(communes::kind.eq(COMMUNE))
        .select((communes::insee, communes::epci_siren, communes::population))
        .load(conn)?;
    let mut coverage = TerritoryCoverage::default();
    let mut epcis_here = BTreeSet::new();
    for (insee, epci, population) in rows {
        let population = population.unwrap_or(0);
        coverage.communes_total += 1;
        coverage.population_total += population;
        let covered = named_communes.contains(&insee) || epci.as_ref().is_some_and(|e| covered_epcis.contains(e));
        if covered {
            coverage.communes_covered += 1;
            coverage.population_covered += population;
        }
        epcis_here.extend(epci);
    }
    coverage.epcis_total = i64::try_from(epcis_here.len()).unwrap_or(i64::MAX);
    coverage.epcis_covered =
        i64::try_from(epcis_here.iter().filter(|epci| covered_epcis.contains(*epci)).count()).unwrap_or(i64::MAX);
    Ok(coverage)
}

/// The latest observation of the coverage rate for each EPCI with a member in the département,
/// with the EPCI's name, by SIREN.
pub fn latest_coverage_rates(conn: &mut DbConnection, department: &str) -> QueryResult<Vec<(ObservationRow, String)>> {
    let epcis_here = communes::table
        .filter(communes::department.eq(department.to_owned()))
        .filter(communes::epci_siren.is_not_null())
        .select(communes::epci_siren.assume_not_null());
    // The summary states the official figures: a collectivity's own stand beside them.
    let rows: Vec<ObservationRow> = observations::table
        .filter(observations::origin.eq(ObservationOrigin::Official.as_str()))
        .filter(observations::indicator.eq(COVERAGE_RATE_INDICATOR))
        .filter(observations::geo_level.eq("epci"))
        .filter(observations::geo_code.eq_any(epcis_here))
        .order((observations::geo_code, observations::period.desc()))
        .select(ObservationRow::as_select())
        .load(conn)?;
    let mut latest: BTreeMap<String, ObservationRow> = BTreeMap::new();
    for row in rows {
        latest.entry(row.geo_code.clone()).or_insert(row);
    }
    let names: BTreeMap<String, String> = epcis::table
        .filter(epcis::siren.eq_any(latest.keys().cloned().collect::<Vec<_>>()))
        .select((epcis::siren, epcis::name))
        .load(conn)?
        .into_iter()
        .collect();
    Ok(latest
        .into_values()
        .map(|row| {
            let name = names.get(&row.geo_code).cloned().unwrap_or_default();
            (row, name)
        })
        .collect())
}
