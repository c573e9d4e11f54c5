//! Indicators: what is measured about a territory (unit, direction, level, periodicity), the
//! periods observations are for, and exact decimal values carried as text.

use super::codes::{UnknownCode, text_codes};

text_codes! {
    Unit {
        Count = "count" => "Nombre",
        Percent = "percent" => "Pourcentage",
        /// Places per 100 children under 3 (the early-childcare coverage rate).
        #[serde(rename = "places_per_100_children")]
        PlacesPer100Children = "places_per_100_children" => "Places pour 100 enfants de moins de 3 ans",
        Cents = "cents" => "Montant en euros (valeurs en centimes)",
        Hours = "hours" => "Heures",
        Ratio = "ratio" => "Ratio",
    }
    /// The territorial level an indicator is published at.
    GeoLevel {
        Commune = "commune" => "Commune",
        Epci = "epci" => "EPCI",
        Department = "department" => "Département",
    }
    Periodicity {
        Annual = "annual" => "Annuelle",
        Quarterly = "quarterly" => "Trimestrielle",
        OneOff = "one_off" => "Ponctuelle",
    }
}

/// Whether `code` is an indicator code: a lowercase slug of 2 to 64 characters.
pub fn is_indicator_code(code: &str) -> bool {
    (2..=64).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && code.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

/// A period of observation: a year (`2024`) or a quarter (`2024-Q2`). Periods are ordered as their
/// stored text is: `2024` < `2024-Q1` < … < `2024-Q4` < `2025`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub year: i32,
    /// 1 to 4 for a quarter; `None` for a whole year.
    pub quarter: Option<u8>,
}

impl Period {
    pub fn parse(text: &str) -> Option<Self> {
        let (year, quarter) = match text.split_once("-Q") {
            Some((year, quarter)) => (year, Some(quarter)),
            None => (text, None),
        };
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let quarter = match quarter {
            None => None,
            Some(q) if q.len() == 1 => Some(q.parse::<u8>().ok().filter(|q| (1..=4).contains(q))?),
            Some(_) => return None,
        };
        (1900..=2200).contains(&year).then_some(Self { year, quarter })
    }

    /// The first period after this one and all its quarters: the exclusive end of a range that ends
    /// with this period (`2024` → `2025`, `2024-Q2` → `2024-Q3`, `2024-Q4` → `2025`).
    #[must_use]
    pub fn following(self) -> Self {
        match self.quarter {
            Some(quarter) if quarter < 4 => Self { quarter: Some(quarter + 1), ..self },
            _ => Self { year: self.year + 1, quarter: None },
        }
    }

    /// Whether observations of an indicator of this periodicity may be for this period.
    pub fn fits(self, periodicity: Periodicity) -> bool {
        match periodicity {
            Periodicity::Quarterly => self.quarter.is_some(),
            Periodicity::Annual => self.quarter.is_none(),
            Periodicity::OneOff => true,
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.quarter {
            Some(quarter) => write!(f, "{}-Q{quarter}", self.year),
            None => write!(f, "{}", self.year),
        }
    }
}

/// Digits after the decimal point that a value keeps.
pub const DECIMALS: u32 = 4;
const SCALE: i128 = 10_i128.pow(DECIMALS);

/// An exact decimal value with at most four decimals, held as an integer of ten-thousandths: no
/// float between the request and the database and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DecimalValue(i128);

impl DecimalValue {
    /// Reads `57.3`, `-12`, `0.0001`; refuses more than four decimals, exponents, spaces and
    /// magnitudes of 10^15 or more.
    pub fn parse(text: &str) -> Option<Self> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 15
            || !all_digits(whole)
            || !all_digits(fraction)
            || fraction.len() > DECIMALS as usize
        {
            return None;
        }
        if digits.contains('.') && fraction.is_empty() {
            return None;
        }
        let whole: i128 = whole.parse().ok()?;
        let fraction_value: i128 = if fraction.is_empty() { 0 } else { format!("{fraction:0<4}").parse().ok()? };
        let magnitude = whole * SCALE + fraction_value;
        Some(Self(if negative { -magnitude } else { magnitude }))
    }

    pub fn ten_thousandths(self) -> i128 {
        self.0
    }

    pub fn from_ten_thousandths(value: i128) -> Self {
        Self(value)
    }
}

impl std::fmt::Display for DecimalValue {
    /// The shortest exact form: `57.3`, `-12`, `0.0001`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let (whole, fraction) = (magnitude / SCALE.unsigned_abs(), magnitude % SCALE.unsigned_abs());
        if fraction == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let fraction = format!("{fraction:04}");
            write!(f, "{sign}{whole}.{}", fraction.trim_end_matches('0'))
        }
    }
}

/// Periods and values are stored as their canonical text (`Display`) and read back with their
/// `parse`: a stored text that does not read fails the query rather than being shown as it is.
macro_rules! stored_as_text {
    ($($ty:ident),+) => {$(
        impl TryFrom<String> for $ty {
            type Error = UnknownCode;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                Self::parse(&text).ok_or(UnknownCode { of: stringify!($ty), code: text })
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.to_string()
            }
        }
    )+};
}

stored_as_text!(Period, DecimalValue);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_values_read_back_from_their_stored_text() {
        let period = Period::parse("2024-Q2").unwrap();
        assert_eq!(Period::try_from(String::from(period)).ok(), Some(period));
        let value = DecimalValue::parse("-12.50").unwrap();
        assert_eq!(String::from(value), "-12.5");
        assert_eq!(DecimalValue::try_from(String::from(value)).ok(), Some(value));
        assert!(Period::try_from("2024-Q5".to_owned()).is_err());
        assert!(DecimalValue::try_from("1.23456".to_owned()).is_err());
    }

    #[test]
    fn periods_are_years_or_quarters() {
        assert_eq!(Period::parse("2024"), Some(Period { year: 2024, quarter: None }));
        assert_eq!(Period::parse("2024-Q2"), Some(Period { year: 2024, quarter: Some(2) }));
        for bad in ["24", "2024-Q5", "2024-Q0", "2024-Q12", "2024-2", "2024Q2", "20x4", "", "1800"] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
        assert_eq!(Period::parse("2024-Q3").unwrap().to_string(), "2024-Q3");
        assert!(Period::parse("2024").unwrap().fits(Periodicity::Annual));
        assert!(!Period::parse("2024").unwrap().fits(Periodicity::Quarterly));
        assert!(!Period::parse("2024-Q1").unwrap().fits(Periodicity::Annual));
    }

    #[test]
    fn periods_order_as_their_text_and_follow_past_their_quarters() {
        let texts = ["2024", "2024-Q1", "2024-Q2", "2024-Q4", "2025"];
        let periods: Vec<Period> = texts.iter().map(|text| Period::parse(text).unwrap()).collect();
        assert!(periods.windows(2).all(|pair| pair[0] < pair[1]));
        let following = |text| Period::parse(text).unwrap().following().to_string();
        assert_eq!(following("2024"), "2025");
        assert_eq!(following("2024-Q2"), "2024-Q3");
        assert_eq!(following("2024-Q4"), "2025");
    }

    #[test]
    fn decimals_are_exact_to_four_places_and_print_back_the_same() {
        for (text, printed) in [
            ("57.3", "57.3"),
            ("57.30", "57.3"),
            ("-12", "-12"),
            ("0.0001", "0.0001"),
            ("100", "100"),
            ("0", "0"),
            ("-0.5", "-0.5"),
        ] {
            assert_eq!(DecimalValue::parse(text).map(|v| v.to_string()).as_deref(), Some(printed), "{text}");
        }
        for bad in ["57.30001", "1e3", " 5", "5.", ".5", "+5", "", "-", "1,5", "NaN", "1000000000000000"] {
            assert_eq!(DecimalValue::parse(bad), None, "{bad}");
        }
        assert_eq!(DecimalValue::parse("57.3").unwrap().ten_thousandths(), 573_000);
        assert!(DecimalValue::parse("0.1").unwrap() > DecimalValue::parse("0.0999").unwrap());
    }

    #[test]
    fn serde_and_stored_codes_agree() {
        for unit in Unit::ALL {
            assert_eq!(serde_json::to_value(unit).unwrap(), unit.as_str());
        }
        for level in GeoLevel::ALL {
            assert_eq!(serde_json::to_value(level).unwrap(), level.as_str());
        }
        for periodicity in Periodicity::ALL {
            assert_eq!(serde_json::to_value(periodicity).unwrap(), periodicity.as_str());
        }
    }

    #[test]
    fn codes_are_slugs() {
        assert!(is_indicator_code("taux_couverture_eaje"));
        assert!(!is_indicator_code("Taux"));
        assert!(!is_indicator_code("1abc"));
        assert!(!is_indicator_code("a-b"));
    }
}
