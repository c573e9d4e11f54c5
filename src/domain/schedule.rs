//! A commitment's payment schedule (échéancier) generated again after a new rule or corrected
//! yearly amounts: pure functions of the lines as stored and what was paid on them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::funding::{LineKind, LineStatus, PlannedLine, ScheduleRule, plan_year};
use crate::problem_detail::FieldError;

/// A schedule line as stored, with what was paid on it; `Id` is how the store names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLine<Id> {
    pub id: Id,
    pub year: i64,
    pub kind: LineKind,
    pub due_on: NaiveDate,
    pub amount_cents: i64,
    pub status: LineStatus,
    /// Whether money moved on it: such a line is never removed nor cancelled.
    pub has_payments: bool,
    /// What its payments add up to (recoveries counted negative).
    pub paid_cents: i64,
}

/// What one year of a commitment is worth, in cents: the amount committed, the forecast
/// entitlement ("droit prévisionnel") and the actual one ("droit réel"), once recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Entitlement {
    pub committed: i64,
    pub forecast: Option<i64>,
    pub actual: Option<i64>,
}

impl Entitlement {
    /// A year with nothing but its committed amount.
    pub fn committed(committed: i64) -> Self {
        Self { committed, forecast: None, actual: None }
    }

    /// What the advances are computed from: the forecast when recorded, else the committed amount.
    pub fn advance_basis(&self) -> i64 {
        self.forecast.unwrap_or(self.committed)
    }

    /// What the year's live lines add up to: the actual entitlement once known, else the
    /// forecast, else the committed amount.
    pub fn planned(&self) -> i64 {
        self.actual.or(self.forecast).unwrap_or(self.committed)
    }
}

/// A line a replan adds, with why it exists when the schedule alone does not say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub year: i64,
    pub line: PlannedLine,
    pub reason: Option<String>,
}

/// What generating the schedule again changes: lines to remove (none has payments), lines to
/// cancel (none has payments either: a settled year keeps them, cancelled, as its record), lines
/// whose amount changes (a partly paid line closed at what it paid, the unpaid balance set to
/// what the year still owes), and lines to add.
#[derive(Debug, PartialEq, Eq)]
pub struct Replan<Id> {
    pub remove: Vec<Id>,
    pub cancel: Vec<Id>,
    pub resize: Vec<(Id, i64)>,
    pub add: Vec<NewLine>,
}

/// Generates the schedule of the years in `only` again with `rule`, keeping every line that has
/// payments. A year whose actual entitlement is known is settled (see [`settle`]). Otherwise
/// missing advances are added, computed from the forecast when recorded (else the committed
/// amount), and the balance (or, when the balance was already paid, an adjustment) takes
/// whatever makes the year add up to its forecast (else its committed amount) exactly. A year no
/// longer committed loses its unpaid lines.
pub fn replan<Id: Clone>(
    lines: &[StoredLine<Id>],
    years: &BTreeMap<i64, Entitlement>,
    only: &BTreeSet<i64>,
    rule: &ScheduleRule,
) -> Replan<Id> {
    let mut replan = Replan { remove: Vec::new(), cancel: Vec::new(), resize: Vec::new(), add: Vec::new() };
    for &year in only {
        let live: Vec<&StoredLine<Id>> =
            lines.iter().filter(|line| line.year == year && line.status != LineStatus::Cancelled).collect();
        let Ok(calendar_year) = i32::try_from(year) else { continue };
        let entitlement = years.get(&year);
        if let Some(&Entitlement { actual: Some(actual), .. }) = entitlement {
            let balance_due = plan_year(calendar_year, 0, rule).into_iter().find(|line| line.kind == LineKind::Balance);
            if let Some(balance) = balance_due {
                settle(&mut replan, year, &live, actual, balance.due_on);
            }
            continue;
        }
        let (kept, unpaid): (Vec<&StoredLine<Id>>, Vec<&StoredLine<Id>>) =
            live.into_iter().partition(|line| line.has_payments);
        replan.remove.extend(unpaid.iter().map(|line| line.id.clone()));
        let Some(entitlement) = entitlement else { continue };
        let plan = plan_year(calendar_year, entitlement.advance_basis(), rule);
        let advances: Vec<&PlannedLine> =
            plan.iter().filter(|line| line.kind == LineKind::Advance && line.amount_cents != 0).collect();
        let planned = entitlement.planned();
        // A line with payments stays as it is, unless the kept lines come to more than the year
        // is worth (a forecast lowered under a partly paid advance): then each closes at what was
        // paid on it, which the year's checks keep within what it is worth.
        let mut amounts: Vec<i64> = kept.iter().map(|line| line.amount_cents).collect();
        if amounts.iter().sum::<i64>() > planned {
            amounts = kept.iter().map(|line| line.paid_cents).collect();
        }
        // Nor do the kept advances hold more than the plan advances: the partly paid ones give
        // back what is not paid, the latest first.
        let advance_total: i64 = advances.iter().map(|advance| advance.amount_cents).sum();
        let kept_advances = |amounts: &[i64]| -> i64 {
            kept.iter().zip(amounts).filter(|(line, _)| line.kind == LineKind::Advance).map(|(_, amount)| amount).sum()
        };
        let mut excess = kept_advances(&amounts) - advance_total;
        for (line, amount) in kept.iter().zip(amounts.iter_mut()).rev() {
            if excess <= 0 {
                break;
            }
            if line.kind == LineKind::Advance {
                let given_back = (*amount - line.paid_cents).min(excess).max(0);
                *amount -= given_back;
                excess -= given_back;
            }
        }
        for (line, &amount) in kept.iter().zip(&amounts) {
            if amount != line.amount_cents {
                replan.resize.push((line.id.clone(), amount));
            }
        }
        let mut scheduled: i64 = amounts.iter().sum();
        let kept_advances = kept_advances(&amounts);
        // The advances not paid yet share what the plan still advances, within what is left.
        let mut budget = (advance_total - kept_advances).min(planned - scheduled).max(0);
        for advance in advances {
            if kept.iter().any(|line| line.kind == LineKind::Advance && line.due_on == advance.due_on) {
                continue;
            }
            let amount_cents = advance.amount_cents.min(budget);
            if amount_cents > 0 {
                budget -= amount_cents;
                scheduled += amount_cents;
                replan.add.push(NewLine { year, line: PlannedLine { amount_cents, ..*advance }, reason: None });
            }
        }
        let rest = planned - scheduled;
        let balance_due = plan.iter().find(|line| line.kind == LineKind::Balance).map(|line| line.due_on);
        if let Some(due_on) = balance_due
            && rest != 0
        {
            let balance_kept = kept.iter().any(|line| line.kind == LineKind::Balance);
            let kind = if balance_kept { LineKind::Adjustment } else { LineKind::Balance };
            replan.add.push(NewLine { year, line: PlannedLine { kind, due_on, amount_cents: rest }, reason: None });
        }
    }
    replan
}

/// Settles a year once its actual entitlement is known: the balance is `actual − paid`.
///
/// - Every line with payments is closed at what was paid on it (a partly paid advance is not
///   paid further: the balance takes the rest), so it is paid in full and never above its amount.
/// - Lines without payments are cancelled, except the one that carries what the year still owes.
/// - What the year still owes, `actual − paid`, goes to the unpaid balance line (its amount
///   changes), or to a new balance line, or, once a balance was paid, to an adjustment. When it
///   is negative, more was paid than the actual entitlement: an adjustment of that negative
///   amount, with its reason, is recovered by a negative payment.
///
/// The year's live lines then add up to `actual` exactly, and settling again changes nothing.
fn settle<Id: Clone>(replan: &mut Replan<Id>, year: i64, live: &[&StoredLine<Id>], actual: i64, due_on: NaiveDate) {
    let mut paid = 0;
    for line in live.iter().filter(|line| line.has_payments) {
        paid += line.paid_cents;
        if line.amount_cents != line.paid_cents {
            replan.resize.push((line.id.clone(), line.paid_cents));
        }
    }
    let rest = actual - paid;
    let balance_paid = live.iter().any(|line| line.has_payments && line.kind == LineKind::Balance);
    let kind = if rest < 0 || balance_paid { LineKind::Adjustment } else { LineKind::Balance };
    let unpaid: Vec<&StoredLine<Id>> = live.iter().copied().filter(|line| !line.has_payments).collect();
    // The unpaid balance keeps its id and takes the new amount; an unpaid adjustment is kept only
    // when it already says exactly this, since its reason quotes the amounts.
    let carrier = unpaid
        .iter()
        .position(|line| rest != 0 && line.kind == kind && (kind == LineKind::Balance || line.amount_cents == rest));
    for (index, line) in unpaid.iter().enumerate() {
        if carrier != Some(index) {
            replan.cancel.push(line.id.clone());
        }
    }
    if let Some(owed) = carrier.map(|index| unpaid[index]) {
        if owed.amount_cents != rest {
            replan.resize.push((owed.id.clone(), rest));
        }
    } else if rest != 0 {
        let reason = settlement_reason(kind, actual, paid);
        replan.add.push(NewLine { year, line: PlannedLine { kind, due_on, amount_cents: rest }, reason });
    }
}

/// Why a settlement adds an adjustment: a recovery of what was paid above the actual
/// entitlement, or an extra payment after the balance.
fn settlement_reason(kind: LineKind, actual: i64, paid: i64) -> Option<String> {
    if kind != LineKind::Adjustment {
        return None;
    }
    let (actual_text, paid_text) = (format_euros(actual), format_euros(paid));
    Some(if actual < paid {
        format!("recovery: actual entitlement of {actual_text} below the {paid_text} already paid")
    } else {
        format!("adjustment: actual entitlement of {actual_text} above the {paid_text} already paid")
    })
}

/// Cents as euros for a sentence: `8,000.00 €`.
pub fn format_euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let (euros, cents) = (cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
    let digits = euros.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}.{cents:02} €")
}

/// The years whose amount differs between `old` and `new`, including years added or removed.
pub fn changed_years(old: &BTreeMap<i64, i64>, new: &BTreeMap<i64, i64>) -> BTreeSet<i64> {
    old.keys().chain(new.keys()).filter(|year| old.get(year) != new.get(year)).copied().collect()
}

/// A correction takes no year below what was already paid for it: `BELOW_PAID` at `/years` for
/// each year that it would.
pub fn check_not_below_paid(
    paid_by_year: &BTreeMap<i64, i64>,
    new: &BTreeMap<i64, i64>,
) -> Result<(), Vec<FieldError>> {
    let errors: Vec<FieldError> = paid_by_year
        .iter()
        .map(|(&year, &paid)| (year, paid, new.get(&year).copied().unwrap_or(0)))
        .filter(|&(_, paid, amount)| paid > amount)
        .map(|(year, paid, amount)| {
            let detail = format!("{year}: {paid} cents are already paid, more than {amount}");
            FieldError::at_pointer("/years", "BELOW_PAID", detail)
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// The entitlements recorded for a year stay within what is committed for it: the committed
/// amount is the ceiling (to pay more, the commitment is corrected first). `ABOVE_COMMITTED` at
/// each figure that does not.
pub fn check_entitlement(entitlement: &Entitlement) -> Result<(), Vec<FieldError>> {
    let committed = entitlement.committed;
    let errors: Vec<FieldError> = [("/forecast_cents", entitlement.forecast), ("/actual_cents", entitlement.actual)]
        .into_iter()
        .filter_map(|(pointer, figure)| figure.filter(|&cents| cents > committed).map(|cents| (pointer, cents)))
        .map(|(pointer, cents)| {
            let detail = format!(
                "{} is above the {} committed for the year: correct the commitment first",
                format_euros(cents),
                format_euros(committed)
            );
            FieldError::at_pointer(pointer, "ABOVE_COMMITTED", detail)
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// A correction takes no year below the forecast or actual entitlement recorded for it:
/// `BELOW_ENTITLEMENT` at `/years` for each year that it would (a year dropped goes with its
/// entitlements).
pub fn check_not_below_entitlement(
    entitlements: &BTreeMap<i64, Entitlement>,
    new: &BTreeMap<i64, i64>,
) -> Result<(), Vec<FieldError>> {
    let errors: Vec<FieldError> = entitlements
        .iter()
        .filter_map(|(year, entitlement)| new.get(year).map(|&amount| (year, entitlement, amount)))
        .filter_map(|(year, entitlement, amount)| {
            let highest = entitlement.forecast.into_iter().chain(entitlement.actual).max()?;
            (highest > amount).then(|| {
                let detail = format!("{year}: an entitlement of {highest} cents is recorded, more than {amount}");
                FieldError::at_pointer("/years", "BELOW_ENTITLEMENT", detail)
            })
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// What one year of a commitment adds up to, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct YearSums {
    pub committed: i64,
    /// What the year's lines plan, cancelled lines left out.
    pub scheduled: i64,
    pub paid: i64,
}

/// The sums of every year committed or paid for, from the lines' `(year, amount, status)`. A line
/// of a year neither committed nor paid for counts nowhere.
pub fn year_sums(
    committed: &BTreeMap<i64, i64>,
    paid_by_year: &BTreeMap<i64, i64>,
    lines: impl IntoIterator<Item = (i64, i64, LineStatus)>,
) -> BTreeMap<i64, YearSums> {
    let mut sums: BTreeMap<i64, YearSums> =
        committed.iter().map(|(&year, &committed)| (year, YearSums { committed, ..YearSums::default() })).collect();
    for (&year, &paid) in paid_by_year {
        sums.entry(year).or_default().paid += paid;
    }
    for (year, amount, status) in lines {
        if status != LineStatus::Cancelled
            && let Some(year_sums) = sums.get_mut(&year)
        {
            year_sums.scheduled += amount;
        }
    }
    sums
}

/// The status a client sees: a line is paid once its whole amount is, due from its date on.
pub fn seen_status(
    stored: LineStatus,
    amount_cents: i64,
    paid_cents: i64,
    due_on: NaiveDate,
    today: NaiveDate,
) -> LineStatus {
    match stored {
        LineStatus::Cancelled => LineStatus::Cancelled,
        _ if amount_cents != 0 && paid_cents == amount_cents => LineStatus::Paid,
        _ if due_on <= today => LineStatus::Due,
        _ => LineStatus::Planned,
    }
}

/// The status stored on a line after a payment: paid once its whole amount is.
pub fn status_after_payment(amount_cents: i64, paid_cents: i64) -> LineStatus {
    if paid_cents == amount_cents { LineStatus::Paid } else { LineStatus::Planned }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    /// The default schedule of 1,000,000 cents in 2025, with what was paid on each line.
    fn default_year(paid: [i64; 3]) -> [StoredLine<&'static str>; 3] {
        let line = |id, kind, due_on, amount_cents, paid_cents: i64| StoredLine {
            id,
            year: 2025,
            kind,
            due_on: date(due_on),
            amount_cents,
            status: LineStatus::Planned,
            has_payments: paid_cents != 0,
            paid_cents,
        };
        [
            line("a1", LineKind::Advance, "2025-03-01", 350_000, paid[0]),
            line("a2", LineKind::Advance, "2025-10-01", 350_000, paid[1]),
            line("b", LineKind::Balance, "2026-05-31", 300_000, paid[2]),
        ]
    }

    fn committed(years: &[(i64, i64)]) -> BTreeMap<i64, Entitlement> {
        years.iter().map(|&(year, amount)| (year, Entitlement::committed(amount))).collect()
    }

    fn amounts(add: &[NewLine]) -> Vec<(LineKind, i64)> {
        add.iter().map(|new| (new.line.kind, new.line.amount_cents)).collect()
    }

    /// What a replan leaves of 2025's lines: `(id or "new", kind, amount)` of the live lines.
    fn after<'a>(lines: &[StoredLine<&'a str>], replan: &Replan<&'a str>) -> Vec<(&'a str, LineKind, i64)> {
        let mut live: Vec<(&str, LineKind, i64)> = lines
            .iter()
            .filter(|line| !replan.remove.contains(&line.id) && !replan.cancel.contains(&line.id))
            .map(|line| {
                let amount = replan.resize.iter().find(|(id, _)| *id == line.id).map_or(line.amount_cents, |r| r.1);
                (line.id, line.kind, amount)
            })
            .collect();
        live.extend(replan.add.iter().map(|new| ("new", new.line.kind, new.line.amount_cents)));
        live
    }

    #[test]
    fn a_new_schedule_adds_up_to_the_year_to_the_cent() {
        let years = committed(&[(2025, 1_000_001)]);
        let replan = super::replan::<&str>(&[], &years, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert!(replan.remove.is_empty());
        let total: i64 = replan.add.iter().map(|new| new.line.amount_cents).sum();
        assert_eq!(total, 1_000_001);
        assert_eq!(replan.add.last().map(|new| new.line.kind), Some(LineKind::Balance));
    }

    #[test]
    fn paid_lines_stay_and_the_balance_absorbs_the_difference() {
        let lines = default_year([350_000, 0, 0]);
        let years = committed(&[(2025, 800_000)]);
        let replan = super::replan(&lines, &years, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan.remove, ["a2", "b"]);
        let added: i64 = replan.add.iter().map(|new| new.line.amount_cents).sum();
        assert_eq!(350_000 + added, 800_000);
    }

    #[test]
    fn a_paid_balance_gets_an_adjustment() {
        let lines = default_year([350_000, 350_000, 300_000]);
        let years = committed(&[(2025, 900_000)]);
        let replan = super::replan(&lines, &years, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert!(replan.remove.is_empty());
        assert_eq!(amounts(&replan.add), [(LineKind::Adjustment, -100_000)]);
    }

    #[test]
    fn advances_are_computed_from_the_forecast_and_the_year_adds_up_to_it() {
        // Committed 10,000.00 €, forecast 9,000.01 €: 70% of the forecast (6,300.00 €, rounded
        // down) in two advances, the balance the rest.
        let years =
            BTreeMap::from([(2025, Entitlement { committed: 1_000_000, forecast: Some(900_001), actual: None })]);
        let replan = super::replan::<&str>(&[], &years, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(
            amounts(&replan.add),
            [(LineKind::Advance, 315_000), (LineKind::Advance, 315_000), (LineKind::Balance, 270_001)]
        );
        // A new forecast keeps the paid first advance and replans the rest from it: the advances
        // still total 70% of the forecast (5,600.00 €), the second one taking what the first did
        // not.
        let lines = default_year([350_000, 0, 0]);
        let years =
            BTreeMap::from([(2025, Entitlement { committed: 1_000_000, forecast: Some(800_000), actual: None })]);
        let replan = super::replan(&lines, &years, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan.remove, ["a2", "b"]);
        assert_eq!(amounts(&replan.add), [(LineKind::Advance, 210_000), (LineKind::Balance, 240_000)]);
        assert_eq!(after(&lines, &replan).iter().map(|line| line.2).sum::<i64>(), 800_000);
    }

    #[test]
    fn a_forecast_lowered_under_a_partly_paid_advance_never_plans_more_than_it() {
        // 1,000.00 € paid of a 3,500.00 € advance; the forecast falls to 1,500.00 €, whose
        // advances are 1,050.00 €: the first advance closes at the 1,000.00 € paid, the second
        // takes the 50.00 € left, the balance the rest.
        let mut lines = default_year([100_000, 0, 0]);
        lines[0].amount_cents = 350_000;
        let years =
            BTreeMap::from([(2025, Entitlement { committed: 1_000_000, forecast: Some(150_000), actual: None })]);
        let replan = super::replan(&lines, &years, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan.resize, [("a1", 100_000)]);
        assert_eq!(amounts(&replan.add), [(LineKind::Advance, 5_000), (LineKind::Balance, 45_000)]);
        let after = after(&lines, &replan);
        assert_eq!(after.iter().map(|line| line.2).sum::<i64>(), 150_000);
        assert!(after.iter().all(|line| line.2 >= 0), "{after:?}");
        // A forecast of 4,000.00 € still above the 3,500.00 € advance, 1,000.00 € of it paid: the
        // advance gives back what exceeds 70% of the forecast (2,800.00 €), nothing more is
        // advanced, the balance is the rest.
        let mut lines = default_year([100_000, 0, 0]);
        lines[0].amount_cents = 350_000;
        let above =
            BTreeMap::from([(2025, Entitlement { committed: 1_000_000, forecast: Some(400_000), actual: None })]);
        let replan = super::replan(&lines, &above, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan.resize, [("a1", 280_000)]);
        assert_eq!(amounts(&replan.add), [(LineKind::Balance, 120_000)]);
        // Paid beyond the whole forecast's advances: nothing more is advanced, the balance is what
        // is left of the forecast.
        let mut lines = default_year([140_000, 0, 0]);
        lines[0].amount_cents = 350_000;
        let replan = super::replan(&lines, &years, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan.resize, [("a1", 140_000)]);
        assert_eq!(amounts(&replan.add), [(LineKind::Balance, 10_000)]);
    }

    fn settled(actual: i64) -> BTreeMap<i64, Entitlement> {
        BTreeMap::from([(2025, Entitlement { committed: 1_000_000, forecast: Some(1_000_000), actual: Some(actual) })])
    }

    #[test]
    fn the_actual_settles_the_year_balance_is_actual_minus_advances_paid() {
        // Both advances paid (7,000.00 €), actual 9,500.00 €: the unpaid balance keeps its id and
        // becomes 2,500.00 €.
        let lines = default_year([350_000, 350_000, 0]);
        let replan = super::replan(&lines, &settled(950_000), &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan.resize, [("b", 250_000)]);
        assert!(replan.cancel.is_empty() && replan.remove.is_empty() && replan.add.is_empty());
        // Only the first advance paid: the second is cancelled, the balance takes the rest.
        let lines = default_year([350_000, 0, 0]);
        let replan = super::replan(&lines, &settled(950_000), &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan.cancel, ["a2"]);
        assert_eq!(replan.resize, [("b", 600_000)]);
        assert_eq!(after(&lines, &replan), [("a1", LineKind::Advance, 350_000), ("b", LineKind::Balance, 600_000)]);
    }

    #[test]
    fn a_partly_paid_advance_closes_at_what_it_paid() {
        let lines = default_year([100_000, 0, 0]);
        let replan = super::replan(&lines, &settled(500_000), &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan.cancel, ["a2"]);
        assert_eq!(replan.resize, [("a1", 100_000), ("b", 400_000)]);
        assert_eq!(after(&lines, &replan).iter().map(|line| line.2).sum::<i64>(), 500_000);
    }

    #[test]
    fn an_actual_below_the_advances_paid_is_recovered_with_its_reason() {
        // 9,100.00 € paid in advances, actual 8,000.00 €: the balance is replaced by a recovery.
        let mut lines = default_year([455_000, 455_000, 0]);
        for line in &mut lines[..2] {
            line.amount_cents = 455_000;
        }
        let replan = super::replan(&lines, &settled(800_000), &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan.cancel, ["b"]);
        assert!(replan.resize.is_empty());
        assert_eq!(replan.add.len(), 1);
        let recovery = &replan.add[0];
        assert_eq!(
            (recovery.year, recovery.line.kind, recovery.line.amount_cents),
            (2025, LineKind::Adjustment, -110_000)
        );
        assert_eq!(recovery.line.due_on, date("2026-05-31"));
        assert_eq!(
            recovery.reason.as_deref(),
            Some("recovery: actual entitlement of 8,000.00 € below the 9,100.00 € already paid")
        );
    }

    #[test]
    fn settling_again_changes_nothing_and_a_paid_balance_gets_an_adjustment() {
        let lines = default_year([350_000, 350_000, 250_000]);
        let mut lines = lines.to_vec();
        lines[2].amount_cents = 250_000;
        let replan = super::replan(&lines, &settled(950_000), &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan, Replan { remove: vec![], cancel: vec![], resize: vec![], add: vec![] });
        // A higher actual after the balance was paid: an adjustment pays the difference.
        let replan = super::replan(&lines, &settled(960_000), &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(amounts(&replan.add), [(LineKind::Adjustment, 10_000)]);
        assert_eq!(
            replan.add[0].reason.as_deref(),
            Some("adjustment: actual entitlement of 9,600.00 € above the 9,500.00 € already paid")
        );
        // The same recovery, once planned and unpaid, is kept as it is.
        let mut with_recovery = lines.clone();
        with_recovery.push(StoredLine {
            id: "r",
            kind: LineKind::Adjustment,
            amount_cents: -50_000,
            has_payments: false,
            paid_cents: 0,
            ..lines[2].clone()
        });
        let replan =
            super::replan(&with_recovery, &settled(900_000), &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan, Replan { remove: vec![], cancel: vec![], resize: vec![], add: vec![] });
        // An actual equal to what was paid cancels what is unpaid and adds nothing.
        let replan =
            super::replan(&with_recovery, &settled(950_000), &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan, Replan { remove: vec![], cancel: vec!["r"], resize: vec![], add: vec![] });
    }

    #[test]
    fn entitlements_stay_within_the_committed_amount() {
        let year = Entitlement { committed: 1_000_000, forecast: Some(1_000_000), actual: Some(1_000_001) };
        assert_eq!(year.advance_basis(), 1_000_000);
        assert_eq!(year.planned(), 1_000_001);
        let errors = check_entitlement(&year).unwrap_err();
        let found: Vec<(&str, &str)> =
            errors.iter().map(|e| (e.pointer.as_deref().unwrap_or_default(), e.code.as_str())).collect();
        assert_eq!(found, [("/actual_cents", "ABOVE_COMMITTED")]);
        assert_eq!(
            errors[0].detail,
            "10,000.01 € is above the 10,000.00 € committed for the year: correct the commitment first"
        );
        assert_eq!(check_entitlement(&Entitlement::committed(5)), Ok(()));
        let recorded =
            BTreeMap::from([(2025, year), (2026, Entitlement { forecast: Some(10), ..Entitlement::committed(10) })]);
        let errors =
            check_not_below_entitlement(&recorded, &BTreeMap::from([(2025, 1_000_001), (2026, 9)])).unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.detail.as_str()).collect::<Vec<_>>(),
            ["2026: an entitlement of 10 cents is recorded, more than 9"]
        );
        assert_eq!(check_not_below_entitlement(&recorded, &BTreeMap::new()), Ok(()), "years dropped");
    }

    #[test]
    fn euros_read_with_grouped_thousands() {
        assert_eq!(format_euros(800_000), "8,000.00 €");
        assert_eq!(format_euros(5), "0.05 €");
        assert_eq!(format_euros(-123_456_789), "-1,234,567.89 €");
        assert_eq!(format_euros(100_000_000_000), "1,000,000,000.00 €");
    }

    #[test]
    fn corrections_name_changed_years_and_those_below_paid() {
        let old = BTreeMap::from([(2024, 10), (2025, 20)]);
        let new = BTreeMap::from([(2025, 15), (2026, 5)]);
        assert_eq!(changed_years(&old, &new), BTreeSet::from([2024, 2025, 2026]));
        let paid = BTreeMap::from([(2024, 10), (2025, 15)]);
        let errors = check_not_below_paid(&paid, &new).unwrap_err();
        let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.code.as_str(), e.detail.as_str())).collect();
        assert_eq!(found, [("BELOW_PAID", "2024: 10 cents are already paid, more than 0")]);
    }

    #[test]
    fn a_line_is_seen_paid_due_or_planned() {
        let today = date("2025-06-01");
        assert_eq!(seen_status(LineStatus::Planned, 10, 10, date("2025-07-01"), today), LineStatus::Paid);
        assert_eq!(seen_status(LineStatus::Planned, 10, 5, date("2025-03-01"), today), LineStatus::Due);
        assert_eq!(seen_status(LineStatus::Planned, 10, 0, date("2025-07-01"), today), LineStatus::Planned);
        assert_eq!(seen_status(LineStatus::Cancelled, 10, 10, date("2025-03-01"), today), LineStatus::Cancelled);
        assert_eq!(status_after_payment(10, 10), LineStatus::Paid);
        assert_eq!(status_after_payment(10, 4), LineStatus::Planned);
    }

    #[test]
    fn a_year_sums_its_live_lines_and_its_payments() {
        let committed = BTreeMap::from([(2024, 100), (2025, 50)]);
        let paid = BTreeMap::from([(2024, 30), (2026, 5)]);
        let lines = [
            (2024, 70, LineStatus::Paid),
            (2024, 30, LineStatus::Planned),
            (2024, 99, LineStatus::Cancelled),
            (2027, 10, LineStatus::Planned),
        ];
        let sums = year_sums(&committed, &paid, lines);
        assert_eq!(sums[&2024], YearSums { committed: 100, scheduled: 100, paid: 30 });
        assert_eq!(sums[&2025], YearSums { committed: 50, scheduled: 0, paid: 0 });
        assert_eq!(sums[&2026], YearSums { committed: 0, scheduled: 0, paid: 5 });
        assert!(!sums.contains_key(&2027));
    }
}
