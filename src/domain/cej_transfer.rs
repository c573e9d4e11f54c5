//! CEJ → CTG at signature: the CEJ money of each facility passes into one `ex_cej` bonus
//! territoire for that facility and its manager, at constant means. One pure function,
//! [`plan`], computes what the transfer does from the facts the handler loads; the preview
//! answers it as is and the signature writes exactly it, so the two cannot disagree.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::contract::PartyRole;
use super::funding::{Basis, CommitmentStatus, MAX_AMOUNT_CENTS, Origin, Programme};
use super::lifecycle::{Unmet, unmet};
use super::organisation::{EquipmentType, OrganisationKind};

/// A party of a contract as the transfer sees it.
#[derive(Debug, Clone)]
pub struct PartyFacts {
    pub organisation_id: Uuid,
    pub name: String,
    pub kind: OrganisationKind,
    pub roles: Vec<PartyRole>,
    pub siren: Option<String>,
    /// For a commune: its INSEE code and the EPCI it belongs to, from the territory reference.
    pub insee: Option<String>,
    pub epci_siren: Option<String>,
}

impl PartyFacts {
    /// Whether this party lies in a perimeter of these EPCI (SIRENs) and communes (INSEE codes):
    /// a commune named or member of a named EPCI, an EPCI named. A syndicat has no territory of
    /// its own in the reference: it never lies in a perimeter.
    pub fn lies_in(&self, epcis: &BTreeSet<String>, communes: &BTreeSet<String>) -> bool {
        match self.kind {
            OrganisationKind::Commune => {
                self.insee.as_ref().is_some_and(|insee| communes.contains(insee))
                    || self.epci_siren.as_ref().is_some_and(|epci| epcis.contains(epci))
            }
            OrganisationKind::Epci => self.siren.as_ref().is_some_and(|siren| epcis.contains(siren)),
            _ => false,
        }
    }

    fn signs(&self) -> bool {
        PartyRole::any_signs(&self.roles)
    }

    /// The collectivities whose signature a CEJ carried over to its CTG matters for.
    fn is_collectivity(&self) -> bool {
        matches!(
            self.kind,
            OrganisationKind::Commune | OrganisationKind::Epci | OrganisationKind::SyndicatIntercommunal
        )
    }
}

/// The collectivities of a perimeter, as the signature rules count them: the communes and EPCI it
/// names, the communes of those EPCI, the EPCI of the communes it names, and any syndicat, which
/// has no territory of its own in the reference to lie in.
#[derive(Debug, Clone, Default)]
pub struct PerimeterMembership {
    pub epcis: BTreeSet<String>,
    pub communes: BTreeSet<String>,
    /// The EPCI each named commune belongs to.
    pub epcis_of_communes: BTreeSet<String>,
}

impl PerimeterMembership {
    pub fn holds(&self, party: &PartyFacts) -> bool {
        party.kind == OrganisationKind::SyndicatIntercommunal
            || party.lies_in(&self.epcis, &self.communes)
            || (party.kind == OrganisationKind::Epci
                && party.siren.as_ref().is_some_and(|siren| self.epcis_of_communes.contains(siren)))
    }
}

/// The CTG being signed.
#[derive(Debug, Clone)]
pub struct CtgFacts {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub parties: Vec<PartyFacts>,
    /// The SIRENs of the EPCI and the INSEE codes of the communes its perimeter names.
    pub perimeter_epcis: BTreeSet<String>,
    pub perimeter_communes: BTreeSet<String>,
    /// The facilities the CTG already holds an `ex_cej` commitment for, recorded by hand.
    pub carried_facilities: BTreeSet<Uuid>,
}

impl CtgFacts {
    /// Whether `party` (a collectivity of a CEJ) lies in this CTG's perimeter: a commune named
    /// or member of a named EPCI, an EPCI named. A syndicat has no territory of its own in the
    /// reference: it never lies in a perimeter, it signs.
    fn covers(&self, party: &PartyFacts) -> bool {
        party.lies_in(&self.perimeter_epcis, &self.perimeter_communes)
    }

    /// Whether the organisation is a party with the payee role: the bonus a signature creates is
    /// paid to it, and a commitment's payee must hold that role.
    fn is_payee(&self, organisation_id: Uuid) -> bool {
        self.parties
            .iter()
            .any(|party| party.organisation_id == organisation_id && party.roles.contains(&PartyRole::Payee))
    }

    fn is_signatory(&self, organisation_id: Uuid) -> bool {
        self.parties.iter().any(|party| party.organisation_id == organisation_id && party.signs())
    }
}

/// The facility a CEJ commitment funds, with its manager today: the bonus is paid to whoever
/// runs it now.
#[derive(Debug, Clone)]
pub struct FacilityFacts {
    pub id: Uuid,
    pub name: String,
    pub equipment_type: EquipmentType,
    pub manager_id: Uuid,
    pub manager_name: String,
}

/// One year of a CEJ commitment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct YearMoney {
    pub amount_cents: i64,
    pub actual_cents: Option<i64>,
}

/// A funding commitment of a CEJ.
#[derive(Debug, Clone)]
pub struct CommitmentFacts {
    pub id: Uuid,
    pub programme: Programme,
    pub status: CommitmentStatus,
    pub payee_id: Uuid,
    pub payee_name: String,
    /// `None` when it names no facility, or names one that no longer exists.
    pub facility: Option<FacilityFacts>,
    pub years: BTreeMap<i64, YearMoney>,
    /// The years with at least one payment recorded.
    pub paid_years: BTreeSet<i64>,
    /// The years with a piece of evidence recorded.
    pub evidence_years: BTreeSet<i64>,
}

impl CommitmentFacts {
    /// The CEJ money a signature carries over: `psej`, committed or closed (a draft was never
    /// granted).
    fn is_carried(&self) -> bool {
        self.programme == Programme::Psej && self.status != CommitmentStatus::Draft
    }
}

/// A CEJ the CTG replaces.
#[derive(Debug, Clone)]
pub struct CejFacts {
    pub id: Uuid,
    pub reference: String,
    pub end_date: NaiveDate,
    /// Set when the CEJ was terminated: it ended that day.
    pub ended_on: Option<NaiveDate>,
    pub parties: Vec<PartyFacts>,
    pub commitments: Vec<CommitmentFacts>,
}

impl CejFacts {
    /// The day the CEJ ended.
    pub fn end(&self) -> NaiveDate {
        self.ended_on.unwrap_or(self.end_date)
    }
}

/// Where a carried amount comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AmountBasis {
    /// The actual entitlement ("droit réel") recorded for the year.
    Actual,
    /// The committed amount, no actual entitlement being recorded.
    Committed,
}

/// One year and its amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct YearCents {
    pub year: i64,
    pub amount_cents: i64,
}

/// What a CEJ commitment brings to the carried amount: its reference year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CarriedCommitment {
    pub commitment_id: Uuid,
    /// Its amount in the CEJ's reference year (0 when it funds nothing that year).
    pub amount_cents: i64,
    pub basis: AmountBasis,
}

/// The `ex_cej` bonus territoire the signature creates for one facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PlannedBonus {
    /// The bonus territoire of the facility's type; `other` for the types no bonus names.
    pub programme: Programme,
    /// The facility's manager today.
    pub payee_id: Uuid,
    pub equipment_id: Uuid,
    /// Always `per_equipment`.
    pub basis: Basis,
    /// Always `ex_cej`.
    pub origin: Origin,
    /// Always `draft`: the CAF commits it once its decision is taken.
    pub status: CommitmentStatus,
    /// Each year of the CTG after the CEJ's end year, with the carried amount.
    pub years: Vec<YearCents>,
    pub total_cents: i64,
    /// The CEJ commitments it continues.
    pub continues_ids: Vec<Uuid>,
}

/// What the signature carries over for one facility and its manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FacilityTransfer {
    pub equipment_id: Uuid,
    pub equipment_name: String,
    pub equipment_type: EquipmentType,
    /// Who runs the facility today, to whom the bonus is paid.
    pub manager_id: Uuid,
    pub manager_name: String,
    /// The CEJ's `psej` commitments for this facility (committed or closed).
    pub commitments: Vec<CarriedCommitment>,
    /// The yearly amount carried over: the sum of the commitments' reference-year amounts.
    pub carried_cents: i64,
    /// `None` when nothing is carried (or the CTG has no year after the CEJ's end).
    pub bonus: Option<PlannedBonus>,
}

/// The years a CEJ commitment loses at the signature: those after the CEJ's end year. Their
/// unpaid schedule lines are cancelled; the commitment keeps its status, so that the balance of
/// the last year can still be paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ClosedYears {
    pub commitment_id: Uuid,
    pub years: Vec<i64>,
}

/// What the signature does to one CEJ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CejTransfer {
    pub cej_id: Uuid,
    pub reference: String,
    /// The day it ended: `ended_on` if terminated, else its end date.
    pub ends_on: NaiveDate,
    /// The CEJ's last funded year (the last year, up to its end, with money on one of its
    /// `psej` commitments), whose amounts are carried over; `None` when it has none.
    pub reference_year: Option<i64>,
    pub facilities: Vec<FacilityTransfer>,
    pub closed_years: Vec<ClosedYears>,
}

/// What signing the CTG will do, and every condition that blocks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub cejs: Vec<CejTransfer>,
    pub blocking: Vec<Unmet>,
}

impl Plan {
    /// The bonus money the signature creates, per year, over every CEJ.
    pub fn totals(&self) -> Vec<YearCents> {
        let mut totals: BTreeMap<i64, i64> = BTreeMap::new();
        for bonus in self.bonuses() {
            for year in &bonus.years {
                *totals.entry(year.year).or_default() += year.amount_cents;
            }
        }
        totals.into_iter().map(|(year, amount_cents)| YearCents { year, amount_cents }).collect()
    }

    /// Every bonus the signature creates, CEJ by CEJ.
    pub fn bonuses(&self) -> impl Iterator<Item = &PlannedBonus> {
        self.cejs.iter().flat_map(|cej| cej.facilities.iter().filter_map(|facility| facility.bonus.as_ref()))
    }
}

/// Whether a CTG starting on `start` starts within a year of a CEJ that ended on `end`: on or
/// before the day after the end, plus twelve months.
pub fn starts_within_a_year(end: NaiveDate, start: NaiveDate) -> bool {
    let limit = end.checked_add_days(Days::new(1)).and_then(|day| day.checked_add_months(Months::new(12)));
    limit.is_none_or(|limit| start <= limit)
}

/// What signing `ctg` does to the CEJs it replaces (`cejs`: the signed ones, in the order their
/// locks were taken), and every condition that blocks it.
pub fn plan(ctg: &CtgFacts, cejs: &[CejFacts]) -> Plan {
    let mut blocking = Vec::new();
    let transfers = cejs.iter().map(|cej| plan_one(ctg, cej, &mut blocking)).collect();
    Plan { cejs: transfers, blocking }
}

fn plan_one(ctg: &CtgFacts, cej: &CejFacts, blocking: &mut Vec<Unmet>) -> CejTransfer {
    let reference = &cej.reference;
    let end = cej.end();
    let end_year = i64::from(end.year());
    for party in cej.parties.iter().filter(|party| party.is_collectivity() && party.signs()) {
        if !ctg.is_signatory(party.organisation_id) && !ctg.covers(party) {
            blocking.push(unmet(
                "CEJ_SIGNATORY_LEFT_OUT",
                format!(
                    "{} signed the CEJ {reference} but neither signs this CTG nor lies in its perimeter",
                    party.name
                ),
            ));
        }
    }
    if !starts_within_a_year(end, ctg.start_date) {
        blocking.push(unmet(
            "CEJ_GAP_TOO_LONG",
            format!(
                "the CEJ {reference} ended on {end}: the CTG must start within a year, it starts on {}",
                ctg.start_date
            ),
        ));
    }
    let carried: Vec<&CommitmentFacts> = cej.commitments.iter().filter(|c| c.is_carried()).collect();
    let reference_year = carried
        .iter()
        .flat_map(|c| c.years.iter())
        .filter(|(year, money)| **year <= end_year && money.amount_cents != 0)
        .map(|(year, _)| *year)
        .max();
    let closed_years = closed_years(reference, end_year, &carried, blocking);
    // Grouped by facility, in the order of its name then id: stable. Whoever the CEJ paid, the
    // bonus goes to who runs the facility today.
    let mut groups: BTreeMap<(String, Uuid), Vec<&CommitmentFacts>> = BTreeMap::new();
    for commitment in &carried {
        match &commitment.facility {
            Some(facility) => {
                groups.entry((facility.name.clone(), facility.id)).or_default().push(commitment);
            }
            None if in_year(commitment, reference_year).amount_cents != 0 => blocking.push(unmet(
                "CEJ_COMMITMENT_WITHOUT_EQUIPMENT",
                format!(
                    "the commitment {} of the CEJ {reference} names no facility: its money cannot be carried over",
                    commitment.id
                ),
            )),
            None => {}
        }
    }
    // Each year of the CTG after the CEJ's end year, so that no year is funded twice.
    let bonus_years: Vec<i64> =
        (i64::from(ctg.start_date.year()).max(end_year + 1)..=i64::from(ctg.end_date.year())).collect();
    let facilities = groups
        .into_values()
        .filter_map(|commitments| {
            let transfer = facility_transfer(&commitments, reference_year, &bonus_years)?;
            let (manager, equipment) = (&transfer.manager_name, &transfer.equipment_name);
            if transfer.carried_cents > 0 && !ctg.is_payee(transfer.manager_id) {
                blocking.push(unmet(
                    "CEJ_MANAGER_NOT_A_PARTY",
                    format!("{manager} runs {equipment} (CEJ {reference}) but is not a party of this CTG with the payee role"),
                ));
            }
            if transfer.carried_cents > MAX_AMOUNT_CENTS {
                blocking.push(unmet(
                    "CEJ_AMOUNT_TOO_LARGE",
                    format!("{equipment} (CEJ {reference}) would carry more than 10^12 cents a year"),
                ));
            }
            if transfer.bonus.is_some() && ctg.carried_facilities.contains(&transfer.equipment_id) {
                blocking.push(unmet(
                    "CEJ_ALREADY_CARRIED",
                    format!(
                        "the CTG already holds an ex_cej commitment for {equipment}: carrying the CEJ {reference} would fund it twice"
                    ),
                ));
            }
            Some(transfer)
        })
        .collect();
    CejTransfer { cej_id: cej.id, reference: reference.clone(), ends_on: end, reference_year, facilities, closed_years }
}

/// The money of `commitment` in `year`; nothing when there is no such year.
fn in_year(commitment: &CommitmentFacts, year: Option<i64>) -> YearMoney {
    year.and_then(|year| commitment.years.get(&year)).copied().unwrap_or_default()
}

/// The years after the CEJ's end the carried commitments lose, refusing those already paid.
fn closed_years(
    reference: &str,
    end_year: i64,
    carried: &[&CommitmentFacts],
    blocking: &mut Vec<Unmet>,
) -> Vec<ClosedYears> {
    let mut out = Vec::new();
    for commitment in carried {
        let after: Vec<i64> = commitment.years.keys().copied().filter(|year| *year > end_year).collect();
        for year in after.iter().filter(|year| commitment.paid_years.contains(year)) {
            blocking.push(unmet(
                "CEJ_PAID_AFTER_END",
                format!(
                    "the commitment {} of the CEJ {reference} has payments for {year}, after the CEJ's end",
                    commitment.id
                ),
            ));
        }
        for year in after.iter().filter(|year| commitment.evidence_years.contains(year)) {
            blocking.push(unmet(
                "CEJ_EVIDENCE_AFTER_END",
                format!(
                    "the commitment {} of the CEJ {reference} holds evidence for {year}, after the CEJ's end",
                    commitment.id
                ),
            ));
        }
        if !after.is_empty() {
            out.push(ClosedYears { commitment_id: commitment.id, years: after });
        }
    }
    out
}

/// What one facility and its manager carry over: the reference-year amounts of their
/// commitments (the actual entitlement when recorded, else the committed amount), and the bonus
/// for `bonus_years` when there is money to carry.
fn facility_transfer(
    commitments: &[&CommitmentFacts],
    reference_year: Option<i64>,
    bonus_years: &[i64],
) -> Option<FacilityTransfer> {
    let first = commitments.first()?;
    let facility = first.facility.as_ref()?;
    let carried: Vec<CarriedCommitment> = commitments
        .iter()
        .map(|commitment| {
            let money = in_year(commitment, reference_year);
            let (amount_cents, basis) = match money.actual_cents {
                Some(actual) => (actual, AmountBasis::Actual),
                None => (money.amount_cents, AmountBasis::Committed),
            };
            CarriedCommitment { commitment_id: commitment.id, amount_cents, basis }
        })
        .collect();
    // Stored amounts are at most 10^12 cents each: the sum of a CEJ's fits an i64 by far.
    let carried_cents: i64 = carried.iter().map(|c| c.amount_cents).sum();
    let makes_bonus = carried_cents > 0 && carried_cents <= MAX_AMOUNT_CENTS && !bonus_years.is_empty();
    let bonus = makes_bonus.then(|| PlannedBonus {
        programme: Programme::bonus_for(facility.equipment_type),
        payee_id: facility.manager_id,
        equipment_id: facility.id,
        basis: Basis::PerEquipment,
        origin: Origin::ExCej,
        status: CommitmentStatus::Draft,
        years: bonus_years.iter().map(|&year| YearCents { year, amount_cents: carried_cents }).collect(),
        total_cents: carried_cents * i64::try_from(bonus_years.len()).unwrap_or(0),
        continues_ids: commitments.iter().map(|c| c.id).collect(),
    });
    Some(FacilityTransfer {
        equipment_id: facility.id,
        equipment_name: facility.name.clone(),
        equipment_type: facility.equipment_type,
        manager_id: facility.manager_id,
        manager_name: facility.manager_name.clone(),
        commitments: carried,
        carried_cents,
        bonus,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn party(n: u128, kind: OrganisationKind, roles: &[PartyRole]) -> PartyFacts {
        PartyFacts {
            organisation_id: id(n),
            name: format!("org {n}"),
            kind,
            roles: roles.to_vec(),
            siren: Some(format!("SIREN{n}")),
            insee: None,
            epci_siren: None,
        }
    }

    const FAUCIGNY: u128 = 1;
    const BONNEVILLE: u128 = 2;
    const CAF: u128 = 3;
    const ASSOCIATION: u128 = 4;

    fn ctg() -> CtgFacts {
        CtgFacts {
            start_date: day("2023-01-01"),
            end_date: day("2026-12-31"),
            parties: vec![
                party(CAF, OrganisationKind::Caf, &[PartyRole::Signatory]),
                party(FAUCIGNY, OrganisationKind::Epci, &[PartyRole::Signatory]),
                party(ASSOCIATION, OrganisationKind::Association, &[PartyRole::Payee]),
            ],
            perimeter_epcis: BTreeSet::from(["SIREN1".to_owned()]),
            perimeter_communes: BTreeSet::new(),
            carried_facilities: BTreeSet::new(),
        }
    }

    fn years(amounts: &[(i64, i64, Option<i64>)]) -> BTreeMap<i64, YearMoney> {
        amounts
            .iter()
            .map(|&(year, amount_cents, actual_cents)| (year, YearMoney { amount_cents, actual_cents }))
            .collect()
    }

    fn psej(n: u128, facility: u128, payee: u128, amounts: &[(i64, i64, Option<i64>)]) -> CommitmentFacts {
        CommitmentFacts {
            id: id(100 + n),
            programme: Programme::Psej,
            status: CommitmentStatus::Committed,
            payee_id: id(payee),
            payee_name: format!("org {payee}"),
            facility: Some(FacilityFacts {
                id: id(200 + facility),
                name: format!("facility {facility}"),
                equipment_type: EquipmentType::Eaje,
                manager_id: id(payee),
                manager_name: format!("org {payee}"),
            }),
            years: years(amounts),
            paid_years: BTreeSet::new(),
            evidence_years: BTreeSet::new(),
        }
    }

    fn cej(commitments: Vec<CommitmentFacts>) -> CejFacts {
        CejFacts {
            id: id(50),
            reference: "CEJ-074-2019-0001".into(),
            end_date: day("2022-12-31"),
            ended_on: None,
            parties: vec![
                party(CAF, OrganisationKind::Caf, &[PartyRole::Signatory]),
                party(FAUCIGNY, OrganisationKind::Epci, &[PartyRole::Signatory]),
            ],
            commitments,
        }
    }

    #[test]
    fn the_bonus_goes_to_who_runs_the_facility_today_and_never_twice() {
        // The crèche changed hands since the CEJ: its money goes to the association running it.
        let mut commitment = psej(1, 1, FAUCIGNY, &[(2022, 1_000_000, None)]);
        if let Some(facility) = commitment.facility.as_mut() {
            facility.manager_id = id(ASSOCIATION);
            facility.manager_name = "org 4".into();
        }
        let cej = cej(vec![commitment]);
        let planned = plan(&ctg(), std::slice::from_ref(&cej));
        assert_eq!(planned.blocking, []);
        let bonus = planned.bonuses().next().unwrap();
        assert_eq!(bonus.payee_id, id(ASSOCIATION));
        assert_eq!(planned.cejs[0].facilities[0].manager_id, id(ASSOCIATION));
        // A bonus for that crèche already recorded by hand on the CTG: the signature would pay
        // it twice.
        let mut ctg = ctg();
        ctg.carried_facilities.insert(id(201));
        let codes: Vec<&str> = plan(&ctg, &[cej]).blocking.iter().map(|u| u.code).collect();
        assert_eq!(codes, ["CEJ_ALREADY_CARRIED"]);
    }

    #[test]
    fn evidence_after_the_end_and_amounts_beyond_ten_billion_block() {
        let mut after_end = psej(1, 1, ASSOCIATION, &[(2022, 1_000, None), (2023, 1_000, None)]);
        after_end.evidence_years.insert(2023);
        let huge = psej(2, 2, ASSOCIATION, &[(2022, MAX_AMOUNT_CENTS, None)]);
        let more = psej(3, 2, ASSOCIATION, &[(2022, 1, None)]);
        let planned = plan(&ctg(), &[cej(vec![after_end, huge, more])]);
        let codes: Vec<&str> = planned.blocking.iter().map(|u| u.code).collect();
        assert_eq!(codes, ["CEJ_EVIDENCE_AFTER_END", "CEJ_AMOUNT_TOO_LARGE"]);
        assert_eq!(planned.bonuses().count(), 1, "no bonus for the facility above the limit");
    }

    #[test]
    fn the_last_funded_year_is_carried_into_each_year_of_the_ctg() {
        let plan = plan(
            &ctg(),
            &[cej(vec![
                psej(1, 1, ASSOCIATION, &[(2021, 1_000_000, None), (2022, 1_200_050, None)]),
                psej(2, 1, ASSOCIATION, &[(2022, 300_000, Some(280_001))]),
                psej(3, 2, FAUCIGNY, &[(2021, 500_000, None), (2022, 0, None)]),
            ])],
        );
        assert_eq!(plan.blocking, []);
        let cej = &plan.cejs[0];
        assert_eq!(cej.reference_year, Some(2022));
        assert_eq!(cej.facilities.len(), 2);
        let first = &cej.facilities[0];
        assert_eq!(first.carried_cents, 1_480_051);
        assert_eq!(first.commitments[1].basis, AmountBasis::Actual);
        let bonus = first.bonus.as_ref().unwrap();
        assert_eq!(bonus.programme, Programme::BonusTerritoireEaje);
        assert_eq!(bonus.payee_id, id(ASSOCIATION));
        assert_eq!(bonus.years.iter().map(|y| y.year).collect::<Vec<_>>(), [2023, 2024, 2025, 2026]);
        assert!(bonus.years.iter().all(|y| y.amount_cents == 1_480_051));
        assert_eq!(bonus.total_cents, 4 * 1_480_051);
        assert_eq!(bonus.continues_ids, [id(101), id(102)]);
        // Nothing in the reference year: listed with 0, no bonus.
        assert_eq!((cej.facilities[1].carried_cents, cej.facilities[1].bonus.is_none()), (0, true));
        assert_eq!(
            plan.totals(),
            (2023..=2026).map(|year| YearCents { year, amount_cents: 1_480_051 }).collect::<Vec<_>>()
        );
    }

    #[test]
    fn no_year_is_funded_twice_and_later_years_close() {
        let mut cej =
            cej(vec![psej(1, 1, ASSOCIATION, &[(2021, 900, None), (2022, 1_000, None), (2023, 1_000, None)])]);
        cej.ended_on = Some(day("2022-06-30"));
        let mut ctg = ctg();
        ctg.start_date = day("2022-07-01");
        let plan = plan(&ctg, &[cej]);
        assert_eq!(plan.blocking, []);
        let transfer = &plan.cejs[0];
        assert_eq!(transfer.reference_year, Some(2022), "2023 is after the end");
        assert_eq!(transfer.closed_years, [ClosedYears { commitment_id: id(101), years: vec![2023] }]);
        let bonus = transfer.facilities[0].bonus.as_ref().unwrap();
        assert_eq!(bonus.years.first().map(|y| y.year), Some(2023), "2022 is the CEJ's");
    }

    #[test]
    fn drafts_and_other_programmes_are_not_carried() {
        let mut draft = psej(1, 1, ASSOCIATION, &[(2022, 1_000, None)]);
        draft.status = CommitmentStatus::Draft;
        let mut other = psej(2, 1, ASSOCIATION, &[(2022, 1_000, None)]);
        other.programme = Programme::Coordination;
        let plan = plan(&ctg(), &[cej(vec![draft, other])]);
        assert_eq!((plan.cejs[0].reference_year, plan.cejs[0].facilities.len()), (None, 0));
    }

    #[test]
    fn types_without_a_bonus_carry_as_other() {
        let mut commitment = psej(1, 1, ASSOCIATION, &[(2022, 1_000, None)]);
        commitment.facility.as_mut().unwrap().equipment_type = EquipmentType::Ludotheque;
        let plan = plan(&ctg(), &[cej(vec![commitment])]);
        assert_eq!(plan.cejs[0].facilities[0].bonus.as_ref().unwrap().programme, Programme::Other);
    }

    #[test]
    fn every_blocking_condition_is_listed_at_once() {
        let mut commune = party(BONNEVILLE, OrganisationKind::Commune, &[PartyRole::CoSignatory]);
        commune.insee = Some("74042".into());
        commune.epci_siren = Some("SIREN9".into());
        let mut cej = cej(vec![
            psej(1, 1, 77, &[(2022, 1_000, None)]),
            psej(2, 2, ASSOCIATION, &[(2022, 1_000, None), (2023, 1_000, None)]),
        ]);
        cej.commitments[1].paid_years.insert(2023);
        let mut orphan = psej(3, 3, ASSOCIATION, &[(2022, 5, None)]);
        orphan.facility = None;
        cej.commitments.push(orphan);
        cej.parties.push(commune);
        cej.parties.push(party(8, OrganisationKind::SyndicatIntercommunal, &[PartyRole::Signatory]));
        let mut ctg = ctg();
        ctg.start_date = day("2024-01-02");
        let plan = plan(&ctg, &[cej]);
        let codes: Vec<&str> = plan.blocking.iter().map(|u| u.code).collect();
        assert_eq!(
            codes,
            [
                "CEJ_SIGNATORY_LEFT_OUT",
                "CEJ_SIGNATORY_LEFT_OUT",
                "CEJ_GAP_TOO_LONG",
                "CEJ_PAID_AFTER_END",
                "CEJ_COMMITMENT_WITHOUT_EQUIPMENT",
                "CEJ_MANAGER_NOT_A_PARTY",
            ]
        );
        assert!(plan.blocking[0].detail.contains("org 2"), "{:?}", plan.blocking[0]);
        assert!(plan.blocking[5].detail.contains("org 77") && plan.blocking[5].detail.contains("facility 1"));
    }

    #[test]
    fn a_collectivity_in_the_perimeter_need_not_sign() {
        let mut commune = party(BONNEVILLE, OrganisationKind::Commune, &[PartyRole::Signatory]);
        commune.epci_siren = Some("SIREN1".into());
        let mut named = party(9, OrganisationKind::Commune, &[PartyRole::Signatory]);
        named.insee = Some("74042".into());
        let mut cej = cej(Vec::new());
        cej.parties.extend([commune, named]);
        let mut ctg = ctg();
        ctg.perimeter_communes.insert("74042".into());
        assert_eq!(plan(&ctg, &[cej.clone()]).blocking, []);
        // Faucigny signed the CEJ; the CTG covers it by its perimeter even if it does not sign.
        ctg.parties.retain(|p| p.organisation_id != id(FAUCIGNY));
        assert_eq!(plan(&ctg, &[cej.clone()]).blocking, []);
        ctg.perimeter_epcis.clear();
        let codes: Vec<&str> = plan(&ctg, &[cej]).blocking.iter().map(|u| u.code).collect();
        assert_eq!(codes, ["CEJ_SIGNATORY_LEFT_OUT", "CEJ_SIGNATORY_LEFT_OUT"], "Faucigny and its commune");
    }

    #[test]
    fn within_a_year_is_the_day_after_the_end_plus_twelve_months() {
        assert!(starts_within_a_year(day("2022-12-31"), day("2024-01-01")));
        assert!(!starts_within_a_year(day("2022-12-31"), day("2024-01-02")));
        assert!(starts_within_a_year(day("2023-02-28"), day("2024-03-01")));
        assert!(!starts_within_a_year(day("2023-02-28"), day("2024-03-02")));
        assert!(starts_within_a_year(day("2022-12-31"), day("2020-01-01")), "a CTG may start before");
    }

    #[test]
    fn a_ctg_without_years_after_the_end_creates_no_bonus() {
        let mut ctg = ctg();
        ctg.start_date = day("2022-01-01");
        ctg.end_date = day("2022-12-31");
        let plan = plan(&ctg, &[cej(vec![psej(1, 1, ASSOCIATION, &[(2022, 1_000, None)])])]);
        assert_eq!(plan.cejs[0].facilities[0].carried_cents, 1_000);
        assert!(plan.cejs[0].facilities[0].bonus.is_none());
    }
}
