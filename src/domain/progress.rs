//! Progress of a followed indicator towards its targets (IATI: baseline → target → actual), in
//! exact integer arithmetic on ten-thousandths: no float between the values and the percentage;
//! and the rules its baseline and targets follow when a request sets them.

use std::ops::RangeInclusive;

use super::indicators::{DecimalValue, GeoLevel, Period, Periodicity};
use crate::problem_detail::FieldError;

/// A period and its value, as read from a request or a row.
pub type Point = (Period, DecimalValue);

/// Targets one follow-up may have: ten years of quarters.
pub const MAX_TARGETS: usize = 40;

/// How far `actual` has gone from `baseline` towards `target`, in percent rounded half away from
/// zero to one decimal: 100 when the target is met exactly, above 100 past it, negative when the
/// value moved away from it. `None` when the target equals the baseline (there is no distance to
/// cover). The direction of the indicator does not matter: a descending target lies below its
/// baseline, and a fall towards it counts as positive progress.
pub fn progress_percent(baseline: DecimalValue, target: DecimalValue, actual: DecimalValue) -> Option<DecimalValue> {
    let distance = target.ten_thousandths() - baseline.ten_thousandths();
    if distance == 0 {
        return None;
    }
    // Values stay below 10^19 ten-thousandths, so this stays far below i128::MAX.
    let covered = (actual.ten_thousandths() - baseline.ten_thousandths()) * 1000;
    let tenths = divide_rounding_half_away_from_zero(covered, distance);
    // Tenths of a percent as ten-thousandths: 625 (62.5 %) → 625_000.
    Some(DecimalValue::from_ten_thousandths(tenths * 1000))
}

/// Whether `actual` meets `target`: at or above it when higher is better, at or below it otherwise.
pub fn achieved(ascending: bool, target: DecimalValue, actual: DecimalValue) -> bool {
    if ascending { actual >= target } else { actual <= target }
}

/// A target read against what was observed for its period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetReading {
    /// The observed value, in canonical form when it reads as a decimal; `None` when nothing was
    /// observed or the value is suppressed.
    pub actual: Option<String>,
    /// Whether an observation exists but its value is suppressed for statistical secrecy.
    pub actual_suppressed: bool,
    /// See [`progress_percent`]; `None` without a baseline or an actual.
    pub progress_percent: Option<DecimalValue>,
    /// See [`achieved`]; `None` without an actual.
    pub achieved: Option<bool>,
}

/// Reads the target `target` against `observed`: `None` when nothing was observed for its period,
/// `Some(None)` when the observed value is suppressed.
pub fn read_against(
    ascending: bool,
    baseline: Option<DecimalValue>,
    target: DecimalValue,
    observed: Option<Option<&str>>,
) -> TargetReading {
    let observed_text = observed.flatten();
    let actual = observed_text.and_then(DecimalValue::parse);
    TargetReading {
        // An observation that does not read as a decimal is still shown as it was published.
        actual: actual.map(|actual| actual.to_string()).or(observed_text.map(str::to_owned)),
        actual_suppressed: observed.is_some_and(|value| value.is_none()),
        progress_percent: baseline
            .zip(actual)
            .and_then(|(baseline, actual)| progress_percent(baseline, target, actual)),
        achieved: actual.map(|actual| achieved(ascending, target, actual)),
    }
}

/// Whether period `a` is over before period `b` begins: 2023 before 2024-Q1, 2024-Q1 before
/// 2024-Q2, but 2024 not before 2024-Q3 (the year holds the quarter), nor 2024-Q4 before 2024.
pub fn ends_before(a: Period, b: Period) -> bool {
    let last_quarter_of_a = (a.year, a.quarter.unwrap_or(4));
    let first_quarter_of_b = (b.year, b.quarter.unwrap_or(1));
    last_quarter_of_a < first_quarter_of_b
}

/// Reads a period and a value a request sends at `pointer`, naming every problem in `errors`.
pub fn read_point(
    pointer: &str,
    period: &str,
    value: &str,
    periodicity: Option<Periodicity>,
    errors: &mut Vec<FieldError>,
) -> Option<(Period, DecimalValue)> {
    let parsed_period = Period::parse(period);
    match parsed_period {
        None => errors.push(FieldError::at_pointer(
            format!("{pointer}/period"),
            "INVALID_PERIOD",
            "must be a year (2024) or a quarter (2024-Q2)",
        )),
        Some(parsed) => {
            if let Some(periodicity) = periodicity
                && !parsed.fits(periodicity)
            {
                errors.push(FieldError::at_pointer(
                    format!("{pointer}/period"),
                    "PERIOD_DOES_NOT_FIT",
                    format!("the indicator's periodicity is {}", periodicity.as_str()),
                ));
            }
        }
    }
    let parsed_value = DecimalValue::parse(value);
    if parsed_value.is_none() {
        errors.push(FieldError::at_pointer(
            format!("{pointer}/value"),
            "INVALID_VALUE",
            "must be a decimal number as a string, with at most 4 decimals (\"57.3\")",
        ));
    }
    Some((parsed_period?, parsed_value?))
}

/// Reads the targets a request sends (each a period and a value), in its order (`None` for one
/// that does not read): at most [`MAX_TARGETS`], each for its own period, within the contract's
/// `years`.
pub fn read_targets(
    targets: &[(&str, &str)],
    years: RangeInclusive<i32>,
    periodicity: Option<Periodicity>,
    errors: &mut Vec<FieldError>,
) -> Vec<Option<(Period, DecimalValue)>> {
    if targets.len() > MAX_TARGETS {
        errors.push(FieldError::at_pointer("/targets", "TOO_MANY_TARGETS", format!("at most {MAX_TARGETS} targets")));
        return Vec::new();
    }
    let mut seen = Vec::with_capacity(targets.len());
    let mut read = Vec::with_capacity(targets.len());
    for (index, (period, value)) in targets.iter().enumerate() {
        let pointer = format!("/targets/{index}");
        let point = read_point(&pointer, period, value, periodicity, errors);
        if let Some((period, _)) = point {
            if seen.contains(&period) {
                errors.push(FieldError::at_pointer(
                    format!("{pointer}/period"),
                    "DUPLICATE_PERIOD",
                    format!("another target is already for {period}"),
                ));
            }
            seen.push(period);
            if !years.contains(&period.year) {
                errors.push(FieldError::at_pointer(
                    format!("{pointer}/period"),
                    "TARGET_OUTSIDE_CONTRACT",
                    format!("must be within the contract's years, {} to {}", years.start(), years.end()),
                ));
            }
        }
        read.push(point);
    }
    read
}

/// Checks that the baseline is over before every target begins. The complaint points at what the
/// request sends: the baseline when it sends one, else each target it sends that comes too early.
pub fn check_order(
    baseline: Option<Period>,
    baseline_sent: bool,
    targets: &[Option<Period>],
    errors: &mut Vec<FieldError>,
) {
    let Some(baseline) = baseline else {
        return;
    };
    let too_early: Vec<(usize, Period)> = targets
        .iter()
        .enumerate()
        .filter_map(|(index, period)| period.map(|period| (index, period)))
        .filter(|(_, period)| !ends_before(baseline, *period))
        .collect();
    if baseline_sent {
        if let Some((_, first)) = too_early.iter().min_by_key(|(_, period)| *period) {
            errors.push(FieldError::at_pointer(
                "/baseline/period",
                "BASELINE_AFTER_TARGET",
                format!("must be over before every target period; a target is for {first}"),
            ));
        }
    } else {
        for (index, _) in too_early {
            errors.push(FieldError::at_pointer(
                format!("/targets/{index}/period"),
                "BASELINE_AFTER_TARGET",
                format!("must come after the baseline period {baseline}"),
            ));
        }
    }
}

/// The periods of the points read, `None` where a point did not read.
pub fn periods(points: &[Option<Point>]) -> Vec<Option<Period>> {
    points.iter().map(|point| point.map(|(period, _)| period)).collect()
}

/// What a new follow-up is about, as the handler found it in the catalogue, the territory
/// reference and the contract's perimeter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceFacts {
    /// The level the catalogue publishes the indicator at; `None` when it does not know the code.
    pub published_at: Option<GeoLevel>,
    /// The level the request asks for.
    pub level: GeoLevel,
    /// Whether the territory reference has the place at that level.
    pub known: bool,
    /// Whether the contract's perimeter holds the place (`false` for an unknown place).
    pub inside: bool,
}

/// The indicator is in the catalogue and published at the level asked; the place exists and lies
/// in the contract's perimeter.
pub fn check_place(indicator: &str, place: &PlaceFacts) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match place.published_at {
        None => errors.push(FieldError::at_pointer(
            "/indicator",
            "UNKNOWN_INDICATOR",
            "no indicator of the catalogue has this code",
        )),
        Some(published_at) if published_at != place.level => errors.push(FieldError::at_pointer(
            "/geo_level",
            "GEO_LEVEL_MISMATCH",
            format!("indicator {indicator} is published at the {published_at} level"),
        )),
        Some(_) => {}
    }
    if !place.known {
        let detail = format!("no {} has this code in the territory reference", place.level.as_str());
        errors.push(FieldError::at_pointer("/geo_code", "UNKNOWN_GEO_CODE", detail));
    } else if !place.inside {
        let detail = match place.level {
            GeoLevel::Commune => "the contract's perimeter does not cover this commune",
            GeoLevel::Epci => "this EPCI is not in the contract's perimeter and holds none of its communes",
            GeoLevel::Department => "this is not the contract's département",
        };
        errors.push(FieldError::at_pointer("/geo_code", "GEO_CODE_OUTSIDE_PERIMETER", detail));
    }
    errors
}

/// `numerator / denominator` rounded to the nearest integer, halves away from zero.
fn divide_rounding_half_away_from_zero(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if 2 * remainder.unsigned_abs() >= denominator.unsigned_abs() {
        let away_from_zero = if (numerator < 0) == (denominator < 0) { 1 } else { -1 };
        quotient + away_from_zero
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> DecimalValue {
        DecimalValue::parse(text).unwrap()
    }

    fn progress(baseline: &str, target: &str, actual: &str) -> Option<String> {
        progress_percent(value(baseline), value(target), value(actual)).map(|p| p.to_string())
    }

    /// Checks the progress from `baseline` towards `target` at each (actual, expected percent).
    fn assert_progress(baseline: &str, target: &str, cases: &[(&str, Option<&str>)]) {
        for (actual, expected) in cases {
            assert_eq!(progress(baseline, target, actual).as_deref(), *expected, "{baseline} → {target}, at {actual}");
        }
    }

    #[test]
    fn ascending_progress_is_the_share_of_the_distance_covered() {
        let covered = [("56.25", Some("62.5")), ("50", Some("0")), ("60", Some("100")), ("65", Some("150"))];
        assert_progress("50", "60", &covered);
        assert_progress("57.3", "62.3", &[("59.3", Some("40"))]);
    }

    #[test]
    fn descending_progress_counts_a_fall_towards_the_target() {
        // Fewer households waiting: from 200 down to 100, now 150.
        assert_progress("200", "100", &[("150", Some("50")), ("90", Some("110")), ("210", Some("-10"))]);
    }

    #[test]
    fn progress_moving_away_from_the_target_is_negative() {
        assert_progress("50", "60", &[("47.5", Some("-25")), ("49.99", Some("-0.1"))]);
    }

    #[test]
    fn no_progress_when_the_target_is_the_baseline() {
        assert_progress("50", "50", &[("55", None)]);
        assert_progress("0", "0", &[("0", None)]);
    }

    #[test]
    fn progress_rounds_half_away_from_zero_to_one_decimal() {
        // 1/3 → 33.33… → 33.3; 2/3 → 66.66… → 66.7.
        assert_progress("0", "3", &[("1", Some("33.3")), ("2", Some("66.7"))]);
        // Exactly halfway: 0.05 % → 0.1, and -0.05 % → -0.1 (not towards zero, not to even).
        assert_progress("0", "2000", &[("1", Some("0.1")), ("-1", Some("-0.1")), ("3", Some("0.2"))]);
        assert_progress("0", "-2000", &[("1", Some("-0.1"))]);
        // Just under halfway stays down.
        assert_progress("0", "20000", &[("9.9999", Some("0"))]);
        assert_progress("0", "0.0003", &[("0.0001", Some("33.3"))]);
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let max = "999999999999999.9999";
        assert_eq!(progress(&format!("-{max}"), max, max).as_deref(), Some("100"));
        assert_eq!(progress("0", "0.0001", max).as_deref(), Some("999999999999999999900"));
    }

    #[test]
    fn a_baseline_ends_before_a_target_when_no_quarter_overlaps() {
        let period = |text: &str| Period::parse(text).unwrap();
        assert!(ends_before(period("2023"), period("2024")));
        assert!(ends_before(period("2023"), period("2024-Q1")));
        assert!(ends_before(period("2024-Q1"), period("2024-Q2")));
        assert!(ends_before(period("2023-Q4"), period("2024")));
        assert!(!ends_before(period("2024"), period("2024")));
        assert!(!ends_before(period("2024"), period("2024-Q3")));
        assert!(!ends_before(period("2024-Q4"), period("2024")));
        assert!(!ends_before(period("2024-Q2"), period("2024-Q2")));
        assert!(!ends_before(period("2025"), period("2024")));
    }

    fn codes(errors: &[FieldError]) -> Vec<(String, &str)> {
        errors.iter().map(|error| (error.pointer.clone().unwrap_or_default(), error.code.as_str())).collect()
    }

    #[test]
    fn a_point_names_each_of_its_problems() {
        let mut errors = Vec::new();
        let point = read_point("/baseline", "2024-Q2", "48.2", Some(Periodicity::Quarterly), &mut errors);
        assert_eq!(point, Some((Period::parse("2024-Q2").unwrap(), value("48.2"))));
        assert!(errors.is_empty());
        assert_eq!(read_point("/baseline", "2024-Q2", "1.23456", Some(Periodicity::Annual), &mut errors), None);
        assert_eq!(
            codes(&errors),
            [("/baseline/period".into(), "PERIOD_DOES_NOT_FIT"), ("/baseline/value".into(), "INVALID_VALUE")]
        );
    }

    #[test]
    fn targets_are_each_for_their_own_period_within_the_contract() {
        let mut errors = Vec::new();
        let sent = [("2025", "1"), ("2030", "2"), ("2025", "3"), ("20x5", "4")];
        let read = read_targets(&sent, 2024..=2027, None, &mut errors);
        assert_eq!(read.len(), 4);
        assert!(read[0].is_some() && read[3].is_none());
        assert_eq!(
            codes(&errors),
            [
                ("/targets/1/period".into(), "TARGET_OUTSIDE_CONTRACT"),
                ("/targets/2/period".into(), "DUPLICATE_PERIOD"),
                ("/targets/3/period".into(), "INVALID_PERIOD"),
            ]
        );
        let too_many = vec![("2025", "1"); MAX_TARGETS + 1];
        let mut errors = Vec::new();
        assert!(read_targets(&too_many, 2024..=2027, None, &mut errors).is_empty());
        assert_eq!(codes(&errors), [("/targets".into(), "TOO_MANY_TARGETS")]);
    }

    #[test]
    fn a_baseline_after_a_target_is_named_where_the_request_sets_it() {
        let period = |text: &str| Period::parse(text);
        let targets = [period("2024"), period("2026"), None];
        let mut errors = Vec::new();
        check_order(period("2024"), true, &targets, &mut errors);
        assert_eq!(codes(&errors), [("/baseline/period".into(), "BASELINE_AFTER_TARGET")]);
        let mut errors = Vec::new();
        check_order(period("2024"), false, &targets, &mut errors);
        assert_eq!(codes(&errors), [("/targets/0/period".into(), "BASELINE_AFTER_TARGET")]);
        let mut errors = Vec::new();
        check_order(None, true, &targets, &mut errors);
        assert!(errors.is_empty());
    }

    #[test]
    fn a_place_is_a_known_place_of_the_perimeter_at_the_published_level() {
        let place = PlaceFacts { published_at: Some(GeoLevel::Epci), level: GeoLevel::Epci, known: true, inside: true };
        assert!(check_place("taux", &place).is_empty());
        let outside = PlaceFacts { inside: false, ..place.clone() };
        assert_eq!(codes(&check_place("taux", &outside)), [("/geo_code".into(), "GEO_CODE_OUTSIDE_PERIMETER")]);
        let elsewhere = PlaceFacts { published_at: Some(GeoLevel::Commune), known: false, inside: false, ..place };
        let errors = check_place("taux", &elsewhere);
        assert_eq!(
            codes(&errors),
            [("/geo_level".into(), "GEO_LEVEL_MISMATCH"), ("/geo_code".into(), "UNKNOWN_GEO_CODE")]
        );
        assert_eq!(errors[0].detail, "indicator taux is published at the commune level");
        let unknown = PlaceFacts { published_at: None, ..outside };
        assert_eq!(
            codes(&check_place("taux", &unknown)),
            [("/indicator".into(), "UNKNOWN_INDICATOR"), ("/geo_code".into(), "GEO_CODE_OUTSIDE_PERIMETER")]
        );
    }

    #[test]
    fn achieved_follows_the_direction_of_the_indicator() {
        assert!(achieved(true, value("60"), value("60")));
        assert!(achieved(true, value("60"), value("60.1")));
        assert!(!achieved(true, value("60"), value("59.9999")));
        assert!(achieved(false, value("100"), value("100")));
        assert!(achieved(false, value("100"), value("99")));
        assert!(!achieved(false, value("100"), value("100.0001")));
    }

    #[test]
    fn a_target_is_read_against_its_observation() {
        let reading = read_against(true, Some(value("50")), value("60"), Some(Some("56.250")));
        assert_eq!(reading.actual.as_deref(), Some("56.25"));
        assert_eq!(reading.progress_percent, Some(value("62.5")));
        assert_eq!((reading.actual_suppressed, reading.achieved), (false, Some(false)));
        let without_baseline = read_against(false, None, value("60"), Some(Some("56")));
        assert_eq!((without_baseline.progress_percent, without_baseline.achieved), (None, Some(true)));
        let suppressed = read_against(true, Some(value("50")), value("60"), Some(None));
        assert_eq!((suppressed.actual, suppressed.actual_suppressed, suppressed.achieved), (None, true, None));
        let unobserved = read_against(true, Some(value("50")), value("60"), None);
        assert_eq!((unobserved.actual, unobserved.actual_suppressed), (None, false));
        let unreadable = read_against(true, None, value("60"), Some(Some("n/a")));
        assert_eq!((unreadable.actual.as_deref(), unreadable.achieved), (Some("n/a"), None));
    }
}
