//! Multi-year funding: commitments, their payment schedule (échéancier) and the rules that keep
//! every cent accounted for. Amounts are integer euro cents; no float touches them.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::NaiveDate;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use super::codes::text_codes;
use super::organisation::EquipmentType;
use crate::problem_detail::FieldError;

/// The largest amount a single figure may hold: 10^12 cents, ten billion euros.
pub const MAX_AMOUNT_CENTS: i64 = 1_000_000_000_000;

text_codes! {
    Programme {
        BonusTerritoireEaje = "bonus_territoire_eaje" => "Bonus territoire CTG – EAJE",
        BonusTerritoireRpe = "bonus_territoire_rpe" => "Bonus territoire CTG – relais petite enfance",
        BonusTerritoireLaep = "bonus_territoire_laep" => "Bonus territoire CTG – LAEP",
        BonusTerritoireAlsh = "bonus_territoire_alsh" => "Bonus territoire CTG – accueil de loisirs",
        BonusTerritoireJeunes = "bonus_territoire_jeunes" => "Bonus territoire CTG – jeunesse",
        /// Prestation de service enfance jeunesse (the CEJ's funding).
        Psej = "psej" => "Prestation de service enfance jeunesse",
        PrestationService = "prestation_service" => "Prestation de service",
        BonusInclusionHandicap = "bonus_inclusion_handicap" => "Bonus inclusion handicap",
        BonusMixiteSociale = "bonus_mixite_sociale" => "Bonus mixité sociale",
        AideDiagnostic = "aide_diagnostic" => "Aide au diagnostic",
        Coordination = "coordination" => "Coordination",
        AideInvestissement = "aide_investissement" => "Aide à l'investissement",
        Other = "other" => "Autre",
    }
    Basis {
        PerPlace = "per_place" => "Par place",
        PerEquipment = "per_equipment" => "Par équipement",
        PerEtp = "per_etp" => "Par équivalent temps plein",
        LumpSum = "lump_sum" => "Forfait",
    }
    Origin {
        /// Money that came from a CEJ, now paid as bonus territoire.
        ExCej = "ex_cej" => "Issu du CEJ",
        New = "new" => "Nouveau",
    }
    CommitmentStatus {
        Draft = "draft" => "Brouillon",
        Committed = "committed" => "Engagé",
        Closed = "closed" => "Soldé",
    }
    LineKind {
        Advance = "advance" => "Acompte",
        Balance = "balance" => "Solde",
        Adjustment = "adjustment" => "Régularisation",
    }
    LineStatus {
        Planned = "planned" => "Prévu",
        /// Planned and its due date reached, not fully paid.
        Due = "due" => "Échu",
        Paid = "paid" => "Payé",
        Cancelled = "cancelled" => "Annulé",
    }
    /// A kind of supporting evidence a manager sends for a year's actual entitlement.
    EvidenceKind {
        ActivityReport = "activity_report" => "Rapport d'activité",
        FinancialStatement = "financial_statement" => "Compte de résultat",
        AttendanceData = "attendance_data" => "Données de fréquentation",
        Other = "other" => "Autre justificatif",
    }
    /// Where the money of a commitment comes from, as summaries and the annex split it.
    MoneyOrigin {
        /// A CEJ's money carried into a bonus territoire.
        ExCej = "ex_cej" => "Issu du CEJ",
        /// A bonus territoire for new places, computed from the rate table.
        NewPlaces = "new_places" => "Places nouvelles",
        Other = "other" => "Autre financement",
    }
}

impl Programme {
    /// The bonus territoire programmes: each funds facilities of the types
    /// [`Programme::facility_types`] gives.
    pub const BONUS_TERRITOIRE: &'static [Self] = &[
        Self::BonusTerritoireEaje,
        Self::BonusTerritoireAlsh,
        Self::BonusTerritoireRpe,
        Self::BonusTerritoireLaep,
        Self::BonusTerritoireJeunes,
    ];

    pub fn is_bonus_territoire(self) -> bool {
        Self::BONUS_TERRITOIRE.contains(&self)
    }

    /// The facility types a bonus territoire funds; empty for the other programmes.
    pub fn facility_types(self) -> &'static [EquipmentType] {
        match self {
            Self::BonusTerritoireEaje => &[EquipmentType::Eaje],
            Self::BonusTerritoireAlsh => &[EquipmentType::AlshPeriscolaire, EquipmentType::AlshExtrascolaire],
            Self::BonusTerritoireRpe => &[EquipmentType::Rpe],
            Self::BonusTerritoireLaep => &[EquipmentType::Laep],
            Self::BonusTerritoireJeunes => &[EquipmentType::AccueilJeunes],
            _ => &[],
        }
    }

    /// The bonus territoire that carries on a CEJ's money for a facility of `facility_type`;
    /// the facilities no bonus names (a ludothèque, a social centre…) keep theirs as `other`.
    pub fn bonus_for(facility_type: EquipmentType) -> Self {
        Self::BONUS_TERRITOIRE
            .iter()
            .copied()
            .find(|programme| programme.facility_types().contains(&facility_type))
            .unwrap_or(Self::Other)
    }
}

/// The places a commitment funds: its units when it pays per place, else the capacity of the
/// equipment it names; none for money that funds no facility.
pub fn places_funded(basis: Basis, units: Option<i64>, equipment_capacity: Option<i64>) -> Option<i64> {
    if basis == Basis::PerPlace { units } else { equipment_capacity }
}

/// Where the money of a commitment comes from: carried from a CEJ, a bonus for new places
/// (a bonus territoire per place not carried from a CEJ), or anything else.
pub fn money_origin(programme: Programme, basis: Basis, origin: Origin) -> MoneyOrigin {
    match origin {
        Origin::ExCej => MoneyOrigin::ExCej,
        Origin::New if programme.is_bonus_territoire() && basis == Basis::PerPlace => MoneyOrigin::NewPlaces,
        Origin::New => MoneyOrigin::Other,
    }
}

/// How the schedule of each year is generated: advances as a share of the year, on given dates,
/// and the balance the next year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ScheduleRuleView)]
pub struct ScheduleRule {
    /// Share of the year's amount paid in advances, 0 to 100.
    pub advance_percent: u8,
    /// `MM-DD` dates of the advances within the year.
    #[serde(serialize_with = "month_days_json")]
    #[schema(value_type = Vec<String>)]
    pub advance_splits: Vec<(u32, u32)>,
    /// `MM-DD` date of the balance in the following year.
    #[serde(serialize_with = "month_day_json")]
    #[schema(value_type = String)]
    pub balance_due: (u32, u32),
}

impl ScheduleRule {
    /// The rule from its text form: the percent, the `MM-DD` advance dates joined by commas and
    /// the `MM-DD` balance date; `None` when any of them is out of its range.
    pub fn from_text(advance_percent: i64, advance_splits: &str, balance_due: &str) -> Option<Self> {
        Some(Self {
            advance_percent: u8::try_from(advance_percent).ok().filter(|percent| *percent <= 100)?,
            advance_splits: advance_splits
                .split(',')
                .filter(|text| !text.is_empty())
                .map(parse_month_day)
                .collect::<Option<_>>()?,
            balance_due: parse_month_day(balance_due)?,
        })
    }

    /// The advance dates in that text form.
    pub fn splits_text(&self) -> String {
        self.advance_splits.iter().copied().map(format_month_day).collect::<Vec<_>>().join(",")
    }

    /// This rule with the parts a request sends in place of its own: the percent, the `MM-DD`
    /// advance dates (each once) and the `MM-DD` balance date; or every part that does not read.
    /// Advances need at least one date.
    pub fn changed(
        &self,
        advance_percent: Option<u8>,
        advance_splits: Option<&[String]>,
        balance_due: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let not_a_month_day =
            |pointer: String| FieldError::at_pointer(pointer, "INVALID_MONTH_DAY", "a date of the year as MM-DD");
        let mut rule = self.clone();
        if let Some(percent) = advance_percent {
            rule.advance_percent = percent;
        }
        if let Some(splits) = advance_splits {
            rule.advance_splits.clear();
            for (index, text) in splits.iter().enumerate() {
                let pointer = format!("/advance_splits/{index}");
                match parse_month_day(text) {
                    Some(split) if rule.advance_splits.contains(&split) => {
                        errors.push(FieldError::at_pointer(pointer, "DUPLICATE", "this date appears earlier"));
                    }
                    Some(split) => rule.advance_splits.push(split),
                    None => errors.push(not_a_month_day(pointer)),
                }
            }
        }
        if let Some(text) = balance_due {
            match parse_month_day(text) {
                Some(due) => rule.balance_due = due,
                None => errors.push(not_a_month_day("/balance_due".into())),
            }
        }
        if rule.advance_percent > 0 && rule.advance_splits.is_empty() {
            errors.push(FieldError::at_pointer("/advance_splits", "REQUIRED", "advances need at least one date"));
        }
        if errors.is_empty() { Ok(rule) } else { Err(errors) }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's serialize_with passes a reference")]
fn month_day_json<S: Serializer>(month_day: &(u32, u32), serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_month_day(*month_day))
}

fn month_days_json<S: Serializer>(month_days: &[(u32, u32)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(month_days.iter().copied().map(format_month_day))
}

impl Default for ScheduleRule {
    /// The CAF's usual cycle: 70% in two halves on 1 March and 1 October, the balance on 31 May
    /// of the next year once the actuals are in.
    fn default() -> Self {
        Self { advance_percent: 70, advance_splits: vec![(3, 1), (10, 1)], balance_due: (5, 31) }
    }
}

/// One line of a schedule as generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedLine {
    pub kind: LineKind,
    pub due_on: NaiveDate,
    pub amount_cents: i64,
}

/// Parses `MM-DD`, checking the day exists in a leap year (29 February is then moved to the
/// 28th in other years).
pub fn parse_month_day(text: &str) -> Option<(u32, u32)> {
    let (month, day) = text.split_once('-')?;
    if month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (month, day) = (month.parse().ok()?, day.parse().ok()?);
    NaiveDate::from_ymd_opt(2024, month, day).map(|_| (month, day))
}

/// `MM-DD`, as [`parse_month_day`] reads it.
pub fn format_month_day((month, day): (u32, u32)) -> String {
    format!("{month:02}-{day:02}")
}

fn date_in(year: i32, (month, day): (u32, u32)) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day).or_else(|| NaiveDate::from_ymd_opt(year, month, day - 1))
}

/// The advances and the balance of one year. The advances total `amount × percent / 100`,
/// rounded down to the cent; each advance is an equal share of that total, and the cents that do
/// not divide evenly go to the earliest advances, one each. The balance is the rest, so the lines
/// always add up to the year's amount exactly.
pub fn plan_year(year: i32, amount_cents: i64, rule: &ScheduleRule) -> Vec<PlannedLine> {
    let advance_total = amount_cents * i64::from(rule.advance_percent) / 100;
    let splits = i64::try_from(rule.advance_splits.len()).unwrap_or(0);
    let mut lines = Vec::with_capacity(rule.advance_splits.len() + 1);
    let mut dates: Vec<NaiveDate> = rule.advance_splits.iter().filter_map(|&split| date_in(year, split)).collect();
    dates.sort_unstable();
    if splits > 0 {
        let (share, remainder) = (advance_total / splits, advance_total % splits);
        for (index, due_on) in (0_i64..).zip(dates) {
            let amount_cents = share + i64::from(index < remainder);
            lines.push(PlannedLine { kind: LineKind::Advance, due_on, amount_cents });
        }
    }
    let advanced: i64 = lines.iter().map(|line| line.amount_cents).sum();
    if let Some(due_on) = date_in(year + 1, rule.balance_due) {
        lines.push(PlannedLine { kind: LineKind::Balance, due_on, amount_cents: amount_cents - advanced });
    }
    lines
}

/// The equipment a commitment names, as the handler found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedEquipment {
    NotNamed,
    /// No equipment has the id named.
    Unknown,
    Found {
        run_by_payee: bool,
    },
}

/// What the rules on who is paid, for what and when look at, read by the handler.
#[derive(Debug, Clone)]
pub struct CommitmentTerms {
    /// The payee is a party of the contract with the payee role.
    pub payee_is_party: bool,
    pub equipment: NamedEquipment,
    pub unit_amount_cents: Option<i64>,
    pub units: Option<i64>,
    /// The calendar years the contract runs through.
    pub contract_years: RangeInclusive<i32>,
}

/// The yearly amounts sent, `(year, cents)` in the order of the request, by year; or every broken
/// rule: the payee must be a payee party, the equipment must exist and be run by the payee, the
/// unit amount times the units must stay a valid amount, and each year must fall in the
/// contract's period, once.
pub fn check_terms(
    terms: &CommitmentTerms,
    years: impl IntoIterator<Item = (i32, i64)>,
) -> Result<BTreeMap<i64, i64>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if !terms.payee_is_party {
        let detail = "the payee must be a party of the contract with the payee role";
        errors.push(FieldError::at_pointer("/payee_id", "PAYEE_NOT_A_PARTY", detail));
    }
    match terms.equipment {
        NamedEquipment::Unknown => {
            errors.push(FieldError::at_pointer("/equipment_id", "UNKNOWN_EQUIPMENT", "no equipment has this id"));
        }
        NamedEquipment::Found { run_by_payee: false } => {
            let detail = "the equipment is run by another organisation than the payee";
            errors.push(FieldError::at_pointer("/equipment_id", "EQUIPMENT_OF_ANOTHER_MANAGER", detail));
        }
        NamedEquipment::NotNamed | NamedEquipment::Found { run_by_payee: true } => {}
    }
    if let (Some(unit), Some(units)) = (terms.unit_amount_cents, terms.units)
        && unit.checked_mul(units).is_none_or(|product| product > MAX_AMOUNT_CENTS)
    {
        errors.push(FieldError::at_pointer(
            "/units",
            "AMOUNT_TOO_LARGE",
            "unit_amount_cents × units exceeds 10^12 cents",
        ));
    }
    let mut by_year = BTreeMap::new();
    for (index, (year, amount_cents)) in years.into_iter().enumerate() {
        let pointer = format!("/years/{index}/year");
        if !terms.contract_years.contains(&year) {
            let (first, last) = (terms.contract_years.start(), terms.contract_years.end());
            let detail = format!("the contract runs from {first} to {last}");
            errors.push(FieldError::at_pointer(pointer.clone(), "YEAR_OUTSIDE_PERIOD", detail));
        }
        if by_year.insert(i64::from(year), amount_cents).is_some() {
            errors.push(FieldError::at_pointer(pointer, "DUPLICATE", "this year appears earlier in the list"));
        }
    }
    if errors.is_empty() { Ok(by_year) } else { Err(errors) }
}

/// The rules a payment request meets before anything is read: it moves money, and a recovery
/// (a negative amount) says why.
pub fn check_payment_request(amount_cents: i64, has_reason: bool) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if amount_cents == 0 {
        errors.push(FieldError::at_pointer("/amount_cents", "ZERO_AMOUNT", "a payment moves money"));
    }
    if amount_cents < 0 && !has_reason {
        errors.push(FieldError::at_pointer("/reason", "REASON_REQUIRED", "a recovery needs a reason"));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Why a payment is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentRefusal {
    /// The year's paid total would exceed its committed amount.
    AboveCommitted { committed: i64, paid: i64 },
    /// A recovery would take back more than was paid for the year.
    BelowZero { paid: i64 },
    /// The line would be paid beyond its amount (or recovered beyond zero).
    OutsideLine { line_amount: i64, line_paid: i64 },
}

impl PaymentRefusal {
    /// Why a payment of `amount` cents is refused, in words.
    pub fn explain(&self, amount: i64) -> String {
        match self {
            Self::AboveCommitted { committed, paid } => {
                format!(
                    "paying {amount} cents would bring the year to {} cents, above the {committed} committed",
                    paid + amount
                )
            }
            Self::BelowZero { paid } => {
                format!("recovering {} cents would take back more than the {paid} paid this year", -amount)
            }
            Self::OutsideLine { line_amount, line_paid } => {
                format!("the schedule line is of {line_amount} cents with {line_paid} paid: {amount} more does not fit")
            }
        }
    }
}

/// Checks one payment against its year and its line. A line of amount `a` may hold a paid total
/// between `min(0, a)` and `max(0, a)`; a year between 0 and its committed amount.
pub fn check_payment(
    amount: i64,
    year_committed: i64,
    year_paid: i64,
    line_amount: i64,
    line_paid: i64,
) -> Result<(), PaymentRefusal> {
    let year_after = year_paid + amount;
    if year_after > year_committed {
        return Err(PaymentRefusal::AboveCommitted { committed: year_committed, paid: year_paid });
    }
    if year_after < 0 {
        return Err(PaymentRefusal::BelowZero { paid: year_paid });
    }
    let line_after = line_paid + amount;
    if line_after > line_amount.max(0) || line_after < line_amount.min(0) {
        return Err(PaymentRefusal::OutsideLine { line_amount, line_paid });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_default_cycle_is_two_advances_and_a_balance() {
        let lines = plan_year(2025, 1_000_000, &ScheduleRule::default());
        assert_eq!(
            lines,
            vec![
                PlannedLine { kind: LineKind::Advance, due_on: day("2025-03-01"), amount_cents: 350_000 },
                PlannedLine { kind: LineKind::Advance, due_on: day("2025-10-01"), amount_cents: 350_000 },
                PlannedLine { kind: LineKind::Balance, due_on: day("2026-05-31"), amount_cents: 300_000 },
            ]
        );
    }

    #[test]
    fn remainder_cents_go_to_the_earliest_advances_and_the_year_adds_up() {
        // 70% of 1,000,001 cents is 700,000.7: 700,000 in advances, split 233,334 / 233,333 / 233,333.
        let rule =
            ScheduleRule { advance_percent: 70, advance_splits: vec![(10, 1), (3, 1), (6, 1)], balance_due: (4, 30) };
        let lines = plan_year(2025, 1_000_001, &rule);
        let amounts: Vec<i64> = lines.iter().map(|line| line.amount_cents).collect();
        assert_eq!(amounts, vec![233_334, 233_333, 233_333, 300_001]);
        assert_eq!(lines[0].due_on, day("2025-03-01"), "advances in date order");
    }

    #[test]
    fn every_amount_and_rule_adds_up_to_the_cent() {
        let rules = [
            ScheduleRule::default(),
            ScheduleRule { advance_percent: 0, advance_splits: vec![], balance_due: (3, 31) },
            ScheduleRule {
                advance_percent: 100,
                advance_splits: vec![(1, 15), (4, 15), (7, 15)],
                balance_due: (3, 31),
            },
            ScheduleRule { advance_percent: 33, advance_splits: vec![(2, 29), (9, 30)], balance_due: (2, 29) },
        ];
        let mut amount: i64 = 1;
        while amount < MAX_AMOUNT_CENTS {
            for rule in &rules {
                for year in [2023, 2024] {
                    let lines = plan_year(year, amount, rule);
                    assert_eq!(lines.iter().map(|line| line.amount_cents).sum::<i64>(), amount, "{amount} {rule:?}");
                    assert!(lines.iter().all(|line| line.amount_cents >= 0));
                }
            }
            amount = amount * 7 + 3;
        }
    }

    #[test]
    fn the_29th_of_february_falls_back_to_the_28th_in_common_years() {
        let rule = ScheduleRule { advance_percent: 50, advance_splits: vec![(2, 29)], balance_due: (5, 31) };
        assert_eq!(plan_year(2025, 100, &rule)[0].due_on, day("2025-02-28"));
        assert_eq!(plan_year(2024, 100, &rule)[0].due_on, day("2024-02-29"));
        assert_eq!(parse_month_day("02-29"), Some((2, 29)));
        assert_eq!(parse_month_day("02-30"), None);
        assert_eq!(parse_month_day("3-01"), None);
    }

    fn serde_agrees<T: Serialize + Copy>(all: &[T], code: fn(T) -> &'static str) {
        for &value in all {
            assert_eq!(serde_json::to_value(value).unwrap(), code(value));
        }
    }

    #[test]
    fn serde_and_stored_codes_agree() {
        serde_agrees(Programme::ALL, Programme::as_str);
        serde_agrees(Basis::ALL, Basis::as_str);
        serde_agrees(Origin::ALL, Origin::as_str);
        serde_agrees(CommitmentStatus::ALL, CommitmentStatus::as_str);
        serde_agrees(LineKind::ALL, LineKind::as_str);
        serde_agrees(LineStatus::ALL, LineStatus::as_str);
        serde_agrees(EvidenceKind::ALL, EvidenceKind::as_str);
        serde_agrees(MoneyOrigin::ALL, MoneyOrigin::as_str);
    }

    #[test]
    fn each_facility_type_has_one_bonus_at_most_and_its_bonus_funds_it() {
        for &facility_type in EquipmentType::ALL {
            let funding: Vec<_> =
                Programme::ALL.iter().filter(|programme| programme.facility_types().contains(&facility_type)).collect();
            assert!(funding.len() <= 1, "{facility_type} is funded by {funding:?}");
            let bonus = Programme::bonus_for(facility_type);
            assert_eq!(bonus.is_bonus_territoire(), !funding.is_empty(), "{facility_type}");
        }
        assert_eq!(Programme::bonus_for(EquipmentType::AlshExtrascolaire), Programme::BonusTerritoireAlsh);
        assert_eq!(Programme::bonus_for(EquipmentType::Ludotheque), Programme::Other);
        assert!(Programme::Psej.facility_types().is_empty());
    }

    #[test]
    fn places_are_the_units_paid_per_place_else_the_facility_capacity() {
        assert_eq!(places_funded(Basis::PerPlace, Some(12), Some(40)), Some(12));
        assert_eq!(places_funded(Basis::PerEquipment, None, Some(40)), Some(40));
        assert_eq!(places_funded(Basis::LumpSum, Some(3), None), None);
    }

    #[test]
    fn money_comes_from_a_cej_new_places_or_elsewhere() {
        let eaje = Programme::BonusTerritoireEaje;
        assert_eq!(money_origin(eaje, Basis::LumpSum, Origin::ExCej), MoneyOrigin::ExCej);
        assert_eq!(money_origin(eaje, Basis::PerPlace, Origin::New), MoneyOrigin::NewPlaces);
        assert_eq!(money_origin(eaje, Basis::LumpSum, Origin::New), MoneyOrigin::Other);
        assert_eq!(money_origin(Programme::Coordination, Basis::PerPlace, Origin::New), MoneyOrigin::Other);
    }

    #[test]
    fn a_rule_reads_back_from_its_text_and_shows_as_month_days() {
        let rule = ScheduleRule::default();
        assert_eq!(rule.splits_text(), "03-01,10-01");
        assert_eq!(ScheduleRule::from_text(70, &rule.splits_text(), "05-31"), Some(rule.clone()));
        assert_eq!(
            serde_json::to_value(&rule).unwrap(),
            serde_json::json!({"advance_percent": 70, "advance_splits": ["03-01", "10-01"], "balance_due": "05-31"})
        );
        assert_eq!(ScheduleRule::from_text(0, "", "05-31").map(|rule| rule.advance_splits), Some(vec![]));
        assert_eq!(ScheduleRule::from_text(101, "03-01", "05-31"), None, "a percent above 100");
        assert_eq!(ScheduleRule::from_text(70, "03-01,13-01", "05-31"), None, "a month that does not exist");
        assert_eq!(ScheduleRule::from_text(70, "03-01", "02-30"), None, "a day that does not exist");
    }

    fn codes(errors: &[FieldError]) -> Vec<(String, &str)> {
        errors.iter().map(|error| (error.pointer.clone().unwrap_or_default(), error.code.as_str())).collect()
    }

    fn terms() -> CommitmentTerms {
        CommitmentTerms {
            payee_is_party: true,
            equipment: NamedEquipment::Found { run_by_payee: true },
            unit_amount_cents: Some(1_000),
            units: Some(12),
            contract_years: 2025..=2027,
        }
    }

    #[test]
    fn sound_terms_give_the_years_by_year() {
        let years = check_terms(&terms(), [(2026, 500), (2025, 300)]).unwrap();
        assert_eq!(years, BTreeMap::from([(2025, 300), (2026, 500)]));
    }

    #[test]
    fn every_broken_term_is_reported_at_once() {
        let terms = CommitmentTerms {
            payee_is_party: false,
            equipment: NamedEquipment::Found { run_by_payee: false },
            unit_amount_cents: Some(MAX_AMOUNT_CENTS),
            units: Some(2),
            ..terms()
        };
        let errors = check_terms(&terms, [(2024, 1), (2025, 1), (2025, 2)]).unwrap_err();
        assert_eq!(
            codes(&errors),
            vec![
                ("/payee_id".into(), "PAYEE_NOT_A_PARTY"),
                ("/equipment_id".into(), "EQUIPMENT_OF_ANOTHER_MANAGER"),
                ("/units".into(), "AMOUNT_TOO_LARGE"),
                ("/years/0/year".into(), "YEAR_OUTSIDE_PERIOD"),
                ("/years/2/year".into(), "DUPLICATE"),
            ]
        );
        assert_eq!(errors[3].detail, "the contract runs from 2025 to 2027");
        let unknown = CommitmentTerms { equipment: NamedEquipment::Unknown, ..self::terms() };
        assert_eq!(codes(&check_terms(&unknown, []).unwrap_err()), vec![("/equipment_id".into(), "UNKNOWN_EQUIPMENT")]);
        let overflow = CommitmentTerms { unit_amount_cents: Some(i64::MAX), ..self::terms() };
        assert_eq!(codes(&check_terms(&overflow, []).unwrap_err()), vec![("/units".into(), "AMOUNT_TOO_LARGE")]);
    }

    #[test]
    fn a_rule_changes_by_the_parts_sent() {
        let rule = ScheduleRule::default();
        assert_eq!(rule.changed(None, None, None), Ok(rule.clone()));
        let splits = ["01-15".to_owned(), "07-15".to_owned()];
        assert_eq!(
            rule.changed(Some(50), Some(&splits), Some("04-30")),
            Ok(ScheduleRule { advance_percent: 50, advance_splits: vec![(1, 15), (7, 15)], balance_due: (4, 30) })
        );
        assert_eq!(rule.changed(Some(0), Some(&[]), None).map(|rule| rule.advance_percent), Ok(0));
        let broken = ["03-01".to_owned(), "13-01".to_owned(), "03-01".to_owned()];
        assert_eq!(
            codes(&rule.changed(None, Some(&broken), Some("5-31")).unwrap_err()),
            vec![
                ("/advance_splits/1".into(), "INVALID_MONTH_DAY"),
                ("/advance_splits/2".into(), "DUPLICATE"),
                ("/balance_due".into(), "INVALID_MONTH_DAY"),
            ]
        );
        assert_eq!(
            codes(&rule.changed(Some(10), Some(&[]), None).unwrap_err()),
            vec![("/advance_splits".into(), "REQUIRED")]
        );
    }

    #[test]
    fn payments_stay_within_the_year_and_the_line() {
        assert_eq!(check_payment(700, 1_000, 300, 700, 0), Ok(()));
        assert_eq!(
            check_payment(701, 1_000, 300, 800, 0),
            Err(PaymentRefusal::AboveCommitted { committed: 1_000, paid: 300 })
        );
        assert_eq!(check_payment(-301, 1_000, 300, 300, 300), Err(PaymentRefusal::BelowZero { paid: 300 }));
        assert_eq!(check_payment(-100, 1_000, 300, 300, 300), Ok(()), "a recovery");
        assert_eq!(
            check_payment(400, 1_000, 0, 350, 0),
            Err(PaymentRefusal::OutsideLine { line_amount: 350, line_paid: 0 })
        );
        assert_eq!(check_payment(-50, 1_000, 500, -50, 0), Ok(()), "a planned recovery line");
        assert_eq!(
            check_payment(-60, 1_000, 500, -50, 0),
            Err(PaymentRefusal::OutsideLine { line_amount: -50, line_paid: 0 })
        );
    }

    #[test]
    fn a_payment_moves_money_and_a_recovery_says_why() {
        assert_eq!(check_payment_request(100, false), Ok(()));
        assert_eq!(check_payment_request(-100, true), Ok(()));
        let codes = |errors: Vec<FieldError>| errors.into_iter().map(|e| e.code).collect::<Vec<_>>();
        assert_eq!(check_payment_request(0, false).map_err(codes), Err(vec!["ZERO_AMOUNT".to_owned()]));
        assert_eq!(check_payment_request(-1, false).map_err(codes), Err(vec!["REASON_REQUIRED".to_owned()]));
    }

    #[test]
    fn a_refused_payment_says_why_in_words() {
        let above = PaymentRefusal::AboveCommitted { committed: 100, paid: 80 };
        assert_eq!(above.explain(30), "paying 30 cents would bring the year to 110 cents, above the 100 committed");
        let below = PaymentRefusal::BelowZero { paid: 10 };
        assert_eq!(below.explain(-20), "recovering 20 cents would take back more than the 10 paid this year");
        let outside = PaymentRefusal::OutsideLine { line_amount: 50, line_paid: 40 };
        assert_eq!(outside.explain(20), "the schedule line is of 50 cents with 40 paid: 20 more does not fit");
    }
}
