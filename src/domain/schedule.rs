//! A commitment's payment schedule (échéancier) generated again after a new rule or corrected
//! yearly amounts: pure functions of the lines as stored and what was paid on them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::funding::{LineKind, LineStatus, PlannedLine, ScheduleRule, plan_year};
use crate::problem_detail::FieldError;

/// A schedule line as stored, with whether money moved on it; `Id` is how the store names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLine<Id> {
    pub id: Id,
    pub year: i64,
    pub kind: LineKind,
    pub due_on: NaiveDate,
    pub amount_cents: i64,
    pub status: LineStatus,
    pub has_payments: bool,
}

/// What generating the schedule again changes: lines to remove (none has payments) and lines to
/// add, each for a year.
#[derive(Debug, PartialEq, Eq)]
pub struct Replan<Id> {
    pub remove: Vec<Id>,
    pub add: Vec<(i64, PlannedLine)>,
}

/// Generates the schedule of the years in `only` again with `rule`, keeping every line that has
/// payments: missing advances are added, and the balance (or, when the balance was already paid,
/// an adjustment) takes whatever makes the year add up to its amount exactly. A year no longer
/// committed loses its unpaid lines.
pub fn replan<Id: Clone>(
    lines: &[StoredLine<Id>],
    years: &BTreeMap<i64, i64>,
    only: &BTreeSet<i64>,
    rule: &ScheduleRule,
) -> Replan<Id> {
    let mut replan = Replan { remove: Vec::new(), add: Vec::new() };
    for &year in only {
        let (kept, unpaid): (Vec<&StoredLine<Id>>, Vec<&StoredLine<Id>>) = lines
            .iter()
            .filter(|line| line.year == year && line.status != LineStatus::Cancelled)
            .partition(|line| line.has_payments);
        replan.remove.extend(unpaid.iter().map(|line| line.id.clone()));
        let Some(&amount) = years.get(&year) else { continue };
        let Ok(calendar_year) = i32::try_from(year) else { continue };
        let plan = plan_year(calendar_year, amount, rule);
        let mut scheduled: i64 = kept.iter().map(|line| line.amount_cents).sum();
        for advance in plan.iter().filter(|line| line.kind == LineKind::Advance && line.amount_cents != 0) {
            if !kept.iter().any(|line| line.kind == LineKind::Advance && line.due_on == advance.due_on) {
                scheduled += advance.amount_cents;
                replan.add.push((year, *advance));
            }
        }
        let rest = amount - scheduled;
        let balance_due = plan.iter().find(|line| line.kind == LineKind::Balance).map(|line| line.due_on);
        if let Some(due_on) = balance_due
            && rest != 0
        {
            let balance_kept = kept.iter().any(|line| line.kind == LineKind::Balance);
            let kind = if balance_kept { LineKind::Adjustment } else { LineKind::Balance };
            replan.add.push((year, PlannedLine { kind, due_on, amount_cents: rest }));
        }
    }
    replan
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

    /// The default schedule of 1,000,000 cents in 2025, with payments on the lines marked `true`.
    fn default_year(paid: [bool; 3]) -> [StoredLine<&'static str>; 3] {
        let line = |id, kind, due_on, amount_cents, has_payments| StoredLine {
            id,
            year: 2025,
            kind,
            due_on: date(due_on),
            amount_cents,
            status: LineStatus::Planned,
            has_payments,
        };
        [
            line("a1", LineKind::Advance, "2025-03-01", 350_000, paid[0]),
            line("a2", LineKind::Advance, "2025-10-01", 350_000, paid[1]),
            line("b", LineKind::Balance, "2026-05-31", 300_000, paid[2]),
        ]
    }

    #[test]
    fn a_new_schedule_adds_up_to_the_year_to_the_cent() {
        let years = BTreeMap::from([(2025, 1_000_001)]);
        let replan = replan::<&str>(&[], &years, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert!(replan.remove.is_empty());
        let total: i64 = replan.add.iter().map(|(_, line)| line.amount_cents).sum();
        assert_eq!(total, 1_000_001);
        assert_eq!(replan.add.last().map(|(_, line)| line.kind), Some(LineKind::Balance));
    }

    #[test]
    fn paid_lines_stay_and_the_balance_absorbs_the_difference() {
        let lines = default_year([true, false, false]);
        let years = BTreeMap::from([(2025, 800_000)]);
        let replan = replan(&lines, &years, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert_eq!(replan.remove, ["a2", "b"]);
        let added: i64 = replan.add.iter().map(|(_, line)| line.amount_cents).sum();
        assert_eq!(350_000 + added, 800_000);
    }

    #[test]
    fn a_paid_balance_gets_an_adjustment() {
        let lines = default_year([true; 3]);
        let years = BTreeMap::from([(2025, 900_000)]);
        let replan = replan(&lines, &years, &BTreeSet::from([2025]), &ScheduleRule::default());
        assert!(replan.remove.is_empty());
        assert_eq!(replan.add.len(), 1);
        assert_eq!((replan.add[0].1.kind, replan.add[0].1.amount_cents), (LineKind::Adjustment, -100_000));
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
