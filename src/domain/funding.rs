//! Multi-year funding: commitments, their payment schedule (échéancier) and the rules that keep
//! every cent accounted for. Amounts are integer euro cents; no float touches them.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use chrono::NaiveDate;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use super::codes::text_codes;
use super::contract::ContractKind;
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
        Closed = "closed" => "Clos",
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
        facility_type: EquipmentType,
        run_by_payee: bool,
        capacity_places: Option<i64>,
    },
}

/// Where the yearly amounts of a commitment come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amounts {
    /// Sent by the client, each year's amount required.
    Sent,
    /// Computed for a new-places bonus from the rate table: `units × rate(year)`, with the
    /// contract's band and the rates of the commitment's programme at that band, by year. An
    /// amount sent must equal the computed one.
    FromRates { band: Option<i64>, rates: BTreeMap<i32, i64> },
}

/// What the rules on who is paid, for what and when look at, read by the handler.
#[derive(Debug, Clone)]
pub struct CommitmentTerms {
    pub contract_kind: ContractKind,
    pub programme: Programme,
    pub basis: Basis,
    /// The payee is a party of the contract with the payee role.
    pub payee_is_party: bool,
    pub equipment: NamedEquipment,
    pub unit_amount_cents: Option<i64>,
    pub units: Option<i64>,
    /// The calendar years the contract runs through.
    pub contract_years: RangeInclusive<i32>,
    pub amounts: Amounts,
}

/// What [`check_terms`] settles: the yearly amounts by year, and the unit amount to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTerms {
    pub years: BTreeMap<i64, i64>,
    pub unit_amount_cents: Option<i64>,
}

/// The facility types in words, for a detail: `alsh_periscolaire or alsh_extrascolaire`.
fn facility_types_text(types: &[EquipmentType]) -> String {
    types.iter().map(|facility_type| facility_type.as_str()).collect::<Vec<_>>().join(" or ")
}

/// The programme fits the kind of contract: the PSEJ is the CEJ's funding, carried into a
/// bonus territoire when a CTG replaces the CEJ, and a bonus territoire exists only under a CTG.
fn check_programme(terms: &CommitmentTerms, errors: &mut Vec<FieldError>) {
    let detail = match (terms.contract_kind, terms.programme) {
        (ContractKind::Ctg, Programme::Psej) => {
            "psej is the CEJ's funding: under a CTG it is carried on as a bonus territoire"
        }
        (ContractKind::Cej, programme) if programme.is_bonus_territoire() => {
            "a bonus territoire exists only under a CTG"
        }
        _ => return,
    };
    errors.push(FieldError::at_pointer("/programme", "PROGRAMME_NOT_FOR_CONTRACT", detail));
}

/// The equipment named: it exists, the payee runs it, it is of a type the programme funds, and a
/// programme that funds a facility (a bonus territoire; the PSEJ of a CEJ, so that its money can
/// be carried over) names one. Per place, the places are said and fit in its capacity.
fn check_equipment(terms: &CommitmentTerms, errors: &mut Vec<FieldError>) {
    let funds_a_facility = terms.programme.is_bonus_territoire()
        || (terms.programme == Programme::Psej && terms.contract_kind == ContractKind::Cej);
    let expected = terms.programme.facility_types();
    match terms.equipment {
        NamedEquipment::NotNamed if funds_a_facility => {
            let detail = if expected.is_empty() {
                format!("{} names the facility it funds", terms.programme)
            } else {
                format!("{} names the facility it funds, of type {}", terms.programme, facility_types_text(expected))
            };
            errors.push(FieldError::at_pointer("/equipment_id", "REQUIRED", detail));
        }
        NamedEquipment::NotNamed => {}
        NamedEquipment::Unknown => {
            errors.push(FieldError::at_pointer("/equipment_id", "UNKNOWN_EQUIPMENT", "no equipment has this id"));
        }
        NamedEquipment::Found { facility_type, run_by_payee, capacity_places } => {
            if !run_by_payee {
                let detail = "the equipment is run by another organisation than the payee";
                errors.push(FieldError::at_pointer("/equipment_id", "EQUIPMENT_OF_ANOTHER_MANAGER", detail));
            }
            if !expected.is_empty() && !expected.contains(&facility_type) {
                let detail = format!(
                    "{} funds facilities of type {}; this equipment is of type {facility_type}",
                    terms.programme,
                    facility_types_text(expected)
                );
                errors.push(FieldError::at_pointer("/equipment_id", "EQUIPMENT_TYPE_MISMATCH", detail));
            }
            if let (Basis::PerPlace, Some(units)) = (terms.basis, terms.units) {
                match capacity_places {
                    None => {
                        let detail = "the equipment has no capacity_places: it cannot be funded per place \
                                      until its capacity is recorded";
                        errors.push(FieldError::at_pointer("/units", "NO_CAPACITY", detail));
                    }
                    Some(capacity) if units > capacity => {
                        let detail = format!("{units} places is above the equipment's capacity of {capacity} places");
                        errors.push(FieldError::at_pointer("/units", "ABOVE_CAPACITY", detail));
                    }
                    Some(_) => {}
                }
            }
        }
    }
    if terms.basis == Basis::PerPlace && terms.units.is_none() {
        let detail = "a per-place commitment says how many places it funds";
        errors.push(FieldError::at_pointer("/units", "REQUIRED", detail));
    }
}

/// The amount of a new-places bonus for one year: `units × rate`, exactly, in cents; `None`
/// when it exceeds [`MAX_AMOUNT_CENTS`].
pub fn new_places_amount(units: i64, per_place_cents: i64) -> Option<i64> {
    units.checked_mul(per_place_cents).filter(|amount| (0..=MAX_AMOUNT_CENTS).contains(amount))
}

/// The yearly amounts, sent or computed from the rates (see [`Amounts`]), in the order of the
/// request, and the unit amount to store; every broken rule goes to `errors`.
fn settle_amounts(
    terms: &CommitmentTerms,
    years: &[(i32, Option<i64>)],
    errors: &mut Vec<FieldError>,
) -> (Vec<(i32, i64)>, Option<i64>) {
    let Amounts::FromRates { band, rates } = &terms.amounts else {
        let mut settled = Vec::with_capacity(years.len());
        for (index, &(year, amount)) in years.iter().enumerate() {
            match amount {
                Some(amount) => settled.push((year, amount)),
                None => errors.push(FieldError::at_pointer(
                    format!("/years/{index}/amount_cents"),
                    "REQUIRED",
                    "the amount of the year, in cents",
                )),
            }
        }
        if let (Some(unit), Some(units)) = (terms.unit_amount_cents, terms.units)
            && unit.checked_mul(units).is_none_or(|product| product > MAX_AMOUNT_CENTS)
        {
            let detail = "unit_amount_cents × units exceeds 10^12 cents";
            errors.push(FieldError::at_pointer("/units", "AMOUNT_TOO_LARGE", detail));
        }
        return (settled, terms.unit_amount_cents);
    };
    let Some(band) = band else {
        let detail = "a new-places bonus is computed from the rate table at the contract's bonus_band, \
                      and this contract has none: set its bonus_band first";
        errors.push(FieldError::at_pointer("/origin", "BONUS_BAND_MISSING", detail));
        return (Vec::new(), None);
    };
    // Without the places there is nothing to compute: `/units` is already reported REQUIRED.
    let Some(units) = terms.units else { return (Vec::new(), None) };
    let mut settled = Vec::with_capacity(years.len());
    let mut too_large = false;
    for (index, &(year, sent)) in years.iter().enumerate() {
        let Some(&rate) = rates.get(&year) else {
            let detail = format!(
                "the rate table of {year} has no rate for {} at band {band}: new places cannot be funded \
                 that year until an admin sets it",
                terms.programme
            );
            errors.push(FieldError::at_pointer(format!("/years/{index}/year"), "NO_BONUS_RATE", detail));
            continue;
        };
        let Some(computed) = new_places_amount(units, rate) else {
            too_large = true;
            continue;
        };
        if sent.is_some_and(|sent| sent != computed) {
            let detail = format!("{units} places × {rate} cents (the {year} rate at band {band}) = {computed} cents");
            errors.push(FieldError::at_pointer(
                format!("/years/{index}/amount_cents"),
                "AMOUNT_NOT_FROM_RATES",
                detail,
            ));
        }
        settled.push((year, computed));
    }
    if too_large {
        let detail = "units × the year's rate exceeds 10^12 cents";
        errors.push(FieldError::at_pointer("/units", "AMOUNT_TOO_LARGE", detail));
    }
    // The unit amount is the rate of the first year, the one a reader sees first.
    let first_rate = years.iter().map(|&(year, _)| year).min().and_then(|year| rates.get(&year).copied());
    if let (Some(sent), Some(rate)) = (terms.unit_amount_cents, first_rate)
        && sent != rate
    {
        let detail = format!("the unit amount of a new-places bonus is the rate of its first year: {rate} cents");
        errors.push(FieldError::at_pointer("/unit_amount_cents", "AMOUNT_NOT_FROM_RATES", detail));
    }
    (settled, first_rate)
}

/// The yearly amounts, `(year, cents)` in the order of the request (a cent figure absent where it
/// is computed), by year, with the unit amount to store; or every broken rule: the programme must
/// fit the contract's kind, the payee must be a payee party, the equipment must exist, be run by
/// the payee, be of a type the programme funds and hold the places funded, a facility's
/// programme must name it, the amounts must be sent or come from the rates, the unit amount times
/// the units must stay a valid amount, and each year must fall in the contract's period, once.
pub fn check_terms(
    terms: &CommitmentTerms,
    years: impl IntoIterator<Item = (i32, Option<i64>)>,
) -> Result<CheckedTerms, Vec<FieldError>> {
    let years: Vec<(i32, Option<i64>)> = years.into_iter().collect();
    let mut errors = Vec::new();
    check_programme(terms, &mut errors);
    if !terms.payee_is_party {
        let detail = "the payee must be a party of the contract with the payee role";
        errors.push(FieldError::at_pointer("/payee_id", "PAYEE_NOT_A_PARTY", detail));
    }
    check_equipment(terms, &mut errors);
    let (settled, unit_amount_cents) = settle_amounts(terms, &years, &mut errors);
    let mut seen = BTreeSet::new();
    for (index, &(year, _)) in years.iter().enumerate() {
        let pointer = format!("/years/{index}/year");
        if !terms.contract_years.contains(&year) {
            let (first, last) = (terms.contract_years.start(), terms.contract_years.end());
            let detail = format!("the contract runs from {first} to {last}");
            errors.push(FieldError::at_pointer(pointer.clone(), "YEAR_OUTSIDE_PERIOD", detail));
        }
        if !seen.insert(year) {
            errors.push(FieldError::at_pointer(pointer, "DUPLICATE", "this year appears earlier in the list"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let years = settled.into_iter().map(|(year, amount)| (i64::from(year), amount)).collect();
    Ok(CheckedTerms { years, unit_amount_cents })
}

/// One rate of a year's table as sent: a bonus programme, a band and a per-place amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub programme: Programme,
    pub band: i64,
    pub per_place_cents: i64,
}

/// The bands of the rate table, by territory wealth.
pub const BONUS_BANDS: RangeInclusive<i64> = 1..=20;

/// The years a rate table may be kept for.
pub const RATE_YEARS: RangeInclusive<i32> = 2000..=2100;

/// Every broken rule of a year's rate table, each at its rate: a rate is for a bonus territoire
/// programme, a band of [`BONUS_BANDS`], a per-place amount of 1 cent to 10^12 cents, and each
/// programme and band is rated once.
pub fn check_rate_table(rates: &[Rate]) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut seen = BTreeMap::new();
    for (index, rate) in rates.iter().enumerate() {
        if !rate.programme.is_bonus_territoire() {
            let detail = format!(
                "rates are for the bonus territoire programmes ({}), not {}",
                Programme::BONUS_TERRITOIRE.iter().map(|programme| programme.as_str()).collect::<Vec<_>>().join(", "),
                rate.programme
            );
            errors.push(FieldError::at_pointer(format!("/rates/{index}/programme"), "NOT_A_BONUS_PROGRAMME", detail));
        }
        if !BONUS_BANDS.contains(&rate.band) {
            errors.push(FieldError::at_pointer(format!("/rates/{index}/band"), "RANGE", "a band from 1 to 20"));
        }
        if !(1..=MAX_AMOUNT_CENTS).contains(&rate.per_place_cents) {
            let detail = "from 1 to 10^12 cents per place";
            errors.push(FieldError::at_pointer(format!("/rates/{index}/per_place_cents"), "RANGE", detail));
        }
        if let Some(earlier) = seen.get(&(rate.programme, rate.band)) {
            let detail = format!("{} band {} is already rated at /rates/{earlier}", rate.programme, rate.band);
            errors.push(FieldError::at_pointer(format!("/rates/{index}/band"), "DUPLICATE", detail));
        } else {
            seen.insert((rate.programme, rate.band), index);
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
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
            contract_kind: ContractKind::Ctg,
            programme: Programme::BonusTerritoireEaje,
            basis: Basis::PerPlace,
            payee_is_party: true,
            equipment: NamedEquipment::Found {
                facility_type: EquipmentType::Eaje,
                run_by_payee: true,
                capacity_places: Some(20),
            },
            unit_amount_cents: Some(1_000),
            units: Some(12),
            contract_years: 2025..=2027,
            amounts: Amounts::Sent,
        }
    }

    fn sent(years: &[(i32, i64)]) -> Vec<(i32, Option<i64>)> {
        years.iter().map(|&(year, amount)| (year, Some(amount))).collect()
    }

    #[test]
    fn sound_terms_give_the_years_by_year() {
        let checked = check_terms(&terms(), sent(&[(2026, 500), (2025, 300)])).unwrap();
        assert_eq!(checked.years, BTreeMap::from([(2025, 300), (2026, 500)]));
        assert_eq!(checked.unit_amount_cents, Some(1_000));
    }

    #[test]
    fn every_broken_term_is_reported_at_once() {
        let terms = CommitmentTerms {
            payee_is_party: false,
            equipment: NamedEquipment::Found {
                facility_type: EquipmentType::Eaje,
                run_by_payee: false,
                capacity_places: Some(20),
            },
            unit_amount_cents: Some(MAX_AMOUNT_CENTS),
            units: Some(2),
            ..terms()
        };
        let errors = check_terms(&terms, [(2024, Some(1)), (2025, None), (2025, Some(2))]).unwrap_err();
        assert_eq!(
            codes(&errors),
            vec![
                ("/payee_id".into(), "PAYEE_NOT_A_PARTY"),
                ("/equipment_id".into(), "EQUIPMENT_OF_ANOTHER_MANAGER"),
                ("/years/1/amount_cents".into(), "REQUIRED"),
                ("/units".into(), "AMOUNT_TOO_LARGE"),
                ("/years/0/year".into(), "YEAR_OUTSIDE_PERIOD"),
                ("/years/2/year".into(), "DUPLICATE"),
            ]
        );
        assert_eq!(errors[4].detail, "the contract runs from 2025 to 2027");
        let unknown = CommitmentTerms { equipment: NamedEquipment::Unknown, ..self::terms() };
        assert_eq!(codes(&check_terms(&unknown, []).unwrap_err()), vec![("/equipment_id".into(), "UNKNOWN_EQUIPMENT")]);
        let overflow = CommitmentTerms { unit_amount_cents: Some(i64::MAX), ..self::terms() };
        assert_eq!(codes(&check_terms(&overflow, []).unwrap_err()), vec![("/units".into(), "AMOUNT_TOO_LARGE")]);
    }

    #[test]
    fn a_bonus_names_a_facility_of_its_type_that_holds_its_places() {
        let not_named = CommitmentTerms { equipment: NamedEquipment::NotNamed, ..terms() };
        let errors = check_terms(&not_named, sent(&[(2025, 1)])).unwrap_err();
        assert_eq!(codes(&errors), vec![("/equipment_id".into(), "REQUIRED")]);
        assert_eq!(errors[0].detail, "bonus_territoire_eaje names the facility it funds, of type eaje");

        let laep = NamedEquipment::Found {
            facility_type: EquipmentType::Laep,
            run_by_payee: false,
            capacity_places: Some(10),
        };
        let alsh = CommitmentTerms { programme: Programme::BonusTerritoireAlsh, equipment: laep, ..terms() };
        let errors = check_terms(&alsh, sent(&[(2025, 1)])).unwrap_err();
        assert_eq!(
            codes(&errors),
            vec![
                ("/equipment_id".into(), "EQUIPMENT_OF_ANOTHER_MANAGER"),
                ("/equipment_id".into(), "EQUIPMENT_TYPE_MISMATCH"),
                ("/units".into(), "ABOVE_CAPACITY"),
            ]
        );
        assert_eq!(
            errors[1].detail,
            "bonus_territoire_alsh funds facilities of type alsh_periscolaire or alsh_extrascolaire; \
             this equipment is of type laep"
        );
        assert_eq!(errors[2].detail, "12 places is above the equipment's capacity of 10 places");

        let at_capacity = CommitmentTerms { units: Some(20), ..terms() };
        assert!(check_terms(&at_capacity, sent(&[(2025, 1)])).is_ok());
        let extrascolaire = NamedEquipment::Found {
            facility_type: EquipmentType::AlshExtrascolaire,
            run_by_payee: true,
            capacity_places: Some(40),
        };
        let alsh = CommitmentTerms { programme: Programme::BonusTerritoireAlsh, equipment: extrascolaire, ..terms() };
        assert!(check_terms(&alsh, sent(&[(2025, 1)])).is_ok());

        let no_capacity =
            NamedEquipment::Found { facility_type: EquipmentType::Eaje, run_by_payee: true, capacity_places: None };
        let errors = check_terms(&CommitmentTerms { equipment: no_capacity, ..terms() }, []).unwrap_err();
        assert_eq!(codes(&errors), vec![("/units".into(), "NO_CAPACITY")]);
        // A lump sum is not counted in places.
        let lump = CommitmentTerms { equipment: no_capacity, basis: Basis::LumpSum, units: None, ..terms() };
        assert!(check_terms(&lump, sent(&[(2025, 1)])).is_ok());
        let no_units = CommitmentTerms { units: None, ..terms() };
        assert_eq!(codes(&check_terms(&no_units, []).unwrap_err()), vec![("/units".into(), "REQUIRED")]);
    }

    #[test]
    fn the_psej_is_the_cej_s_and_the_bonus_the_ctg_s() {
        let psej_on_ctg = CommitmentTerms {
            programme: Programme::Psej,
            equipment: NamedEquipment::NotNamed,
            basis: Basis::LumpSum,
            ..terms()
        };
        assert_eq!(
            codes(&check_terms(&psej_on_ctg, []).unwrap_err()),
            vec![("/programme".into(), "PROGRAMME_NOT_FOR_CONTRACT")]
        );
        let psej_on_cej = CommitmentTerms { contract_kind: ContractKind::Cej, ..psej_on_ctg.clone() };
        assert_eq!(codes(&check_terms(&psej_on_cej, []).unwrap_err()), vec![("/equipment_id".into(), "REQUIRED")]);
        // The PSEJ funds any kind of facility.
        let ludotheque = NamedEquipment::Found {
            facility_type: EquipmentType::Ludotheque,
            run_by_payee: true,
            capacity_places: None,
        };
        assert!(check_terms(&CommitmentTerms { equipment: ludotheque, ..psej_on_cej }, []).is_ok());
        let bonus_on_cej = CommitmentTerms { contract_kind: ContractKind::Cej, ..terms() };
        assert_eq!(
            codes(&check_terms(&bonus_on_cej, []).unwrap_err()),
            vec![("/programme".into(), "PROGRAMME_NOT_FOR_CONTRACT")]
        );
        let coordination = CommitmentTerms {
            programme: Programme::Coordination,
            equipment: NamedEquipment::NotNamed,
            basis: Basis::LumpSum,
            contract_kind: ContractKind::Cej,
            ..terms()
        };
        assert!(check_terms(&coordination, []).is_ok());
    }

    fn new_places(band: Option<i64>) -> CommitmentTerms {
        CommitmentTerms {
            unit_amount_cents: None,
            amounts: Amounts::FromRates { band, rates: BTreeMap::from([(2025, 360_000), (2026, 361_111)]) },
            ..terms()
        }
    }

    #[test]
    fn new_places_are_paid_units_times_the_year_s_rate_to_the_cent() {
        let checked = check_terms(&new_places(Some(3)), [(2026, None), (2025, Some(4_320_000))]).unwrap();
        assert_eq!(checked.years, BTreeMap::from([(2025, 4_320_000), (2026, 4_333_332)]));
        assert_eq!(checked.unit_amount_cents, Some(360_000), "the first year's rate");
        let sent_unit = CommitmentTerms { unit_amount_cents: Some(360_000), ..new_places(Some(3)) };
        assert!(check_terms(&sent_unit, [(2025, None)]).is_ok());
        assert_eq!(new_places_amount(1_000_000, MAX_AMOUNT_CENTS / 1_000_000), Some(MAX_AMOUNT_CENTS));
        assert_eq!(new_places_amount(1_000_000, MAX_AMOUNT_CENTS / 1_000_000 + 1), None);
        assert_eq!(new_places_amount(i64::MAX, 2), None);
    }

    #[test]
    fn new_places_refuse_what_the_rates_do_not_give() {
        let wrong_unit = CommitmentTerms { unit_amount_cents: Some(1), ..new_places(Some(3)) };
        let errors =
            check_terms(&wrong_unit, [(2025, Some(4_320_001)), (2027, None), (2026, Some(4_333_332))]).unwrap_err();
        assert_eq!(
            codes(&errors),
            vec![
                ("/years/0/amount_cents".into(), "AMOUNT_NOT_FROM_RATES"),
                ("/years/1/year".into(), "NO_BONUS_RATE"),
                ("/unit_amount_cents".into(), "AMOUNT_NOT_FROM_RATES"),
            ]
        );
        assert_eq!(errors[0].detail, "12 places × 360000 cents (the 2025 rate at band 3) = 4320000 cents");
        assert_eq!(
            errors[1].detail,
            "the rate table of 2027 has no rate for bonus_territoire_eaje at band 3: new places cannot be funded \
             that year until an admin sets it"
        );
        let errors = check_terms(&new_places(None), [(2025, None)]).unwrap_err();
        assert_eq!(codes(&errors), vec![("/origin".into(), "BONUS_BAND_MISSING")]);
        let no_units = CommitmentTerms { units: None, ..new_places(Some(3)) };
        assert_eq!(codes(&check_terms(&no_units, [(2025, None)]).unwrap_err()), vec![("/units".into(), "REQUIRED")]);
        let huge = CommitmentTerms {
            units: Some(3),
            equipment: NamedEquipment::Found {
                facility_type: EquipmentType::Eaje,
                run_by_payee: true,
                capacity_places: Some(3),
            },
            amounts: Amounts::FromRates { band: Some(1), rates: BTreeMap::from([(2025, MAX_AMOUNT_CENTS)]) },
            ..new_places(Some(1))
        };
        assert_eq!(
            codes(&check_terms(&huge, [(2025, None)]).unwrap_err()),
            vec![("/units".into(), "AMOUNT_TOO_LARGE")]
        );
    }

    #[test]
    fn a_rate_table_rates_each_bonus_and_band_once() {
        let rate = |programme, band, per_place_cents| Rate { programme, band, per_place_cents };
        let eaje = Programme::BonusTerritoireEaje;
        assert!(check_rate_table(&[rate(eaje, 1, 360_000), rate(eaje, 20, 260_000)]).is_ok());
        let errors = check_rate_table(&[
            rate(eaje, 1, 360_000),
            rate(Programme::Psej, 0, 0),
            rate(eaje, 1, 1),
            rate(Programme::BonusTerritoireRpe, 21, MAX_AMOUNT_CENTS + 1),
        ])
        .unwrap_err();
        assert_eq!(
            codes(&errors),
            vec![
                ("/rates/1/programme".into(), "NOT_A_BONUS_PROGRAMME"),
                ("/rates/1/band".into(), "RANGE"),
                ("/rates/1/per_place_cents".into(), "RANGE"),
                ("/rates/2/band".into(), "DUPLICATE"),
                ("/rates/3/band".into(), "RANGE"),
                ("/rates/3/per_place_cents".into(), "RANGE"),
            ]
        );
        assert_eq!(errors[3].detail, "bonus_territoire_eaje band 1 is already rated at /rates/0");
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
