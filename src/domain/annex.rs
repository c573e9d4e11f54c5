//! The financial annex of a contract: its money per facility, manager, programme and origin, year
//! by year, with totals per year and origin. A pure sum of the commitments handed in, exact to
//! the cent.

use std::collections::BTreeMap;

use super::funding::{CommitmentStatus, MoneyOrigin, Programme};

/// One year of a commitment as the annex reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct YearMoney {
    pub amount_cents: i64,
    pub forecast_cents: Option<i64>,
    pub actual_cents: Option<i64>,
    pub paid_cents: i64,
}

/// What the annex needs of one commitment.
#[derive(Debug, Clone)]
pub struct AnnexCommitment<Id> {
    pub equipment: Option<Id>,
    pub manager: Id,
    pub programme: Programme,
    pub origin: MoneyOrigin,
    pub status: CommitmentStatus,
    /// Places paid per place (the units), when the commitment pays per place.
    pub places_paid: Option<i64>,
    /// The capacity of the facility it names, for money not paid per place.
    pub facility_capacity: Option<i64>,
    pub years: BTreeMap<i64, YearMoney>,
}

/// The figures of a line, a year or a total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnnexFigures {
    /// Yearly amounts of committed and closed commitments.
    pub committed_cents: i64,
    /// Yearly amounts of commitments still in draft (the bonus territoire a signature created
    /// stays in draft until the CAF commits it).
    pub draft_cents: i64,
    /// Sum of the forecast entitlements recorded; `None` when none is.
    pub forecast_cents: Option<i64>,
    /// Sum of the actual entitlements recorded; `None` when none is.
    pub actual_cents: Option<i64>,
    pub paid_cents: i64,
}

fn add_recorded(sum: Option<i64>, value: Option<i64>) -> Option<i64> {
    match (sum, value) {
        (None, None) => None,
        (sum, value) => Some(sum.unwrap_or(0) + value.unwrap_or(0)),
    }
}

impl AnnexFigures {
    fn of(status: CommitmentStatus, money: &YearMoney) -> Self {
        let draft = status == CommitmentStatus::Draft;
        Self {
            committed_cents: if draft { 0 } else { money.amount_cents },
            draft_cents: if draft { money.amount_cents } else { 0 },
            forecast_cents: money.forecast_cents,
            actual_cents: money.actual_cents,
            paid_cents: money.paid_cents,
        }
    }

    pub fn add(&mut self, other: &Self) {
        self.committed_cents += other.committed_cents;
        self.draft_cents += other.draft_cents;
        self.forecast_cents = add_recorded(self.forecast_cents, other.forecast_cents);
        self.actual_cents = add_recorded(self.actual_cents, other.actual_cents);
        self.paid_cents += other.paid_cents;
    }
}

/// What a line of the annex is about: a facility (or none), its manager, a programme, an origin.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineKey<Id> {
    pub equipment: Option<Id>,
    pub manager: Id,
    pub programme: Programme,
    pub origin: MoneyOrigin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnexLine<Id> {
    pub key: LineKey<Id>,
    /// The places paid per place, plus the facility's capacity once when some of its money is
    /// not paid per place; `None` for money that funds no places.
    pub places: Option<i64>,
    pub years: BTreeMap<i64, AnnexFigures>,
    pub total: AnnexFigures,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annex<Id> {
    pub lines: Vec<AnnexLine<Id>>,
    /// Per year and origin.
    pub totals: BTreeMap<(i64, MoneyOrigin), AnnexFigures>,
    pub total: AnnexFigures,
}

/// The annex of `commitments`: one line per facility, manager, programme and origin, in the
/// order of their keys, each with its figures per year and in total; totals per year and origin.
pub fn annex<Id: Clone + Ord>(commitments: &[AnnexCommitment<Id>]) -> Annex<Id> {
    struct Building {
        places_paid: Option<i64>,
        capacity: Option<i64>,
        years: BTreeMap<i64, AnnexFigures>,
    }
    let mut lines: BTreeMap<LineKey<Id>, Building> = BTreeMap::new();
    let mut totals: BTreeMap<(i64, MoneyOrigin), AnnexFigures> = BTreeMap::new();
    let mut total = AnnexFigures::default();
    for commitment in commitments {
        let key = LineKey {
            equipment: commitment.equipment.clone(),
            manager: commitment.manager.clone(),
            programme: commitment.programme,
            origin: commitment.origin,
        };
        let line = lines.entry(key).or_insert(Building { places_paid: None, capacity: None, years: BTreeMap::new() });
        line.places_paid = add_recorded(line.places_paid, commitment.places_paid);
        line.capacity = line.capacity.or(commitment.facility_capacity.filter(|_| commitment.places_paid.is_none()));
        for (&year, money) in &commitment.years {
            let figures = AnnexFigures::of(commitment.status, money);
            line.years.entry(year).or_default().add(&figures);
            totals.entry((year, commitment.origin)).or_default().add(&figures);
            total.add(&figures);
        }
    }
    let lines = lines
        .into_iter()
        .map(|(key, line)| {
            let mut line_total = AnnexFigures::default();
            for figures in line.years.values() {
                line_total.add(figures);
            }
            AnnexLine {
                key,
                places: add_recorded(line.places_paid, line.capacity),
                years: line.years,
                total: line_total,
            }
        })
        .collect();
    Annex { lines, totals, total }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount_cents: i64, forecast: Option<i64>, actual: Option<i64>, paid_cents: i64) -> YearMoney {
        YearMoney { amount_cents, forecast_cents: forecast, actual_cents: actual, paid_cents }
    }

    fn commitment(
        equipment: Option<u8>,
        programme: Programme,
        origin: MoneyOrigin,
        status: CommitmentStatus,
        places_paid: Option<i64>,
        years: &[(i64, YearMoney)],
    ) -> AnnexCommitment<u8> {
        AnnexCommitment {
            equipment,
            manager: 9,
            programme,
            origin,
            status,
            places_paid,
            facility_capacity: equipment.map(|_| 40),
            years: years.iter().copied().collect(),
        }
    }

    #[test]
    fn a_line_per_facility_programme_and_origin_with_totals_per_year_and_origin() {
        let eaje = Programme::BonusTerritoireEaje;
        let carried = commitment(
            Some(1),
            eaje,
            MoneyOrigin::ExCej,
            CommitmentStatus::Committed,
            None,
            &[(2025, money(1_000_001, Some(900_000), Some(950_000), 630_000)), (2026, money(1_000_001, None, None, 0))],
        );
        let new_places = commitment(
            Some(1),
            eaje,
            MoneyOrigin::NewPlaces,
            CommitmentStatus::Draft,
            Some(5),
            &[(2025, money(1_800_000, None, None, 0))],
        );
        let more_new_places = commitment(
            Some(1),
            eaje,
            MoneyOrigin::NewPlaces,
            CommitmentStatus::Committed,
            Some(3),
            &[(2025, money(1_080_000, Some(1_000_000), None, 0))],
        );
        let coordination = commitment(
            None,
            Programme::Coordination,
            MoneyOrigin::Other,
            CommitmentStatus::Closed,
            None,
            &[(2026, money(500_000, None, None, 500_000))],
        );
        let annex = annex(&[carried, new_places, more_new_places, coordination]);
        assert_eq!(annex.lines.len(), 3);
        let first = &annex.lines[0];
        assert_eq!((first.key.equipment, first.key.origin), (None, MoneyOrigin::Other), "no facility sorts first");
        assert_eq!(first.places, None);
        let carried_line = &annex.lines[1];
        assert_eq!(carried_line.places, Some(40), "the facility's capacity");
        assert_eq!(
            carried_line.total,
            AnnexFigures {
                committed_cents: 2_000_002,
                draft_cents: 0,
                forecast_cents: Some(900_000),
                actual_cents: Some(950_000),
                paid_cents: 630_000
            }
        );
        let new_line = &annex.lines[2];
        assert_eq!(new_line.places, Some(8), "5 + 3 places paid per place");
        assert_eq!(
            new_line.years[&2025],
            AnnexFigures {
                committed_cents: 1_080_000,
                draft_cents: 1_800_000,
                forecast_cents: Some(1_000_000),
                actual_cents: None,
                paid_cents: 0
            }
        );
        assert_eq!(annex.totals[&(2025, MoneyOrigin::NewPlaces)].draft_cents, 1_800_000);
        assert_eq!(annex.totals[&(2026, MoneyOrigin::Other)].paid_cents, 500_000);
        let sum_of_totals = annex.totals.values().fold(AnnexFigures::default(), |mut sum, figures| {
            sum.add(figures);
            sum
        });
        assert_eq!(sum_of_totals, annex.total);
        assert_eq!(annex.total.committed_cents, 1_000_001 * 2 + 1_080_000 + 500_000);
    }

    #[test]
    fn an_empty_annex_has_no_lines_and_zero_totals() {
        let annex = annex::<u8>(&[]);
        assert!(annex.lines.is_empty() && annex.totals.is_empty());
        assert_eq!(annex.total, AnnexFigures::default());
    }
}
