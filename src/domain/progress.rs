//! Progress of a followed indicator towards its targets (IATI: baseline → target → actual), in
//! exact integer arithmetic on ten-thousandths: no float between the values and the percentage.

use super::indicators::{DecimalValue, Period};

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

/// Whether period `a` is over before period `b` begins: 2023 before 2024-Q1, 2024-Q1 before
/// 2024-Q2, but 2024 not before 2024-Q3 (the year holds the quarter), nor 2024-Q4 before 2024.
pub fn ends_before(a: Period, b: Period) -> bool {
    let last_quarter_of_a = (a.year, a.quarter.unwrap_or(4));
    let first_quarter_of_b = (b.year, b.quarter.unwrap_or(1));
    last_quarter_of_a < first_quarter_of_b
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

    #[test]
    fn ascending_progress_is_the_share_of_the_distance_covered() {
        assert_eq!(progress("50", "60", "56.25").as_deref(), Some("62.5"));
        assert_eq!(progress("50", "60", "50").as_deref(), Some("0"));
        assert_eq!(progress("50", "60", "60").as_deref(), Some("100"));
        assert_eq!(progress("50", "60", "65").as_deref(), Some("150"));
        assert_eq!(progress("57.3", "62.3", "59.3").as_deref(), Some("40"));
    }

    #[test]
    fn descending_progress_counts_a_fall_towards_the_target() {
        // Fewer households waiting: from 200 down to 100, now 150.
        assert_eq!(progress("200", "100", "150").as_deref(), Some("50"));
        assert_eq!(progress("200", "100", "90").as_deref(), Some("110"));
        assert_eq!(progress("200", "100", "210").as_deref(), Some("-10"));
    }

    #[test]
    fn progress_moving_away_from_the_target_is_negative() {
        assert_eq!(progress("50", "60", "47.5").as_deref(), Some("-25"));
        assert_eq!(progress("50", "60", "49.99").as_deref(), Some("-0.1"));
    }

    #[test]
    fn no_progress_when_the_target_is_the_baseline() {
        assert_eq!(progress("50", "50", "55"), None);
        assert_eq!(progress("0", "0", "0"), None);
    }

    #[test]
    fn progress_rounds_half_away_from_zero_to_one_decimal() {
        // 1/3 → 33.33… → 33.3; 2/3 → 66.66… → 66.7.
        assert_eq!(progress("0", "3", "1").as_deref(), Some("33.3"));
        assert_eq!(progress("0", "3", "2").as_deref(), Some("66.7"));
        // Exactly halfway: 0.05 % → 0.1, and -0.05 % → -0.1 (not towards zero, not to even).
        assert_eq!(progress("0", "2000", "1").as_deref(), Some("0.1"));
        assert_eq!(progress("0", "2000", "-1").as_deref(), Some("-0.1"));
        assert_eq!(progress("0", "-2000", "1").as_deref(), Some("-0.1"));
        assert_eq!(progress("0", "2000", "3").as_deref(), Some("0.2"));
        // Just under halfway stays down.
        assert_eq!(progress("0", "20000", "9.9999").as_deref(), Some("0"));
        assert_eq!(progress("0", "0.0003", "0.0001").as_deref(), Some("33.3"));
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

    #[test]
    fn achieved_follows_the_direction_of_the_indicator() {
        assert!(achieved(true, value("60"), value("60")));
        assert!(achieved(true, value("60"), value("60.1")));
        assert!(!achieved(true, value("60"), value("59.9999")));
        assert!(achieved(false, value("100"), value("100")));
        assert!(achieved(false, value("100"), value("99")));
        assert!(!achieved(false, value("100"), value("100.0001")));
    }
}
