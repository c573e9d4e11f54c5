//! The rules a row of observations must meet before it is written: a known indicator, a place of
//! the reference at the indicator's level and inside the caller's territory, a period of the
//! indicator's periodicity, an exact value or a suppression, a source and a vintage.
//!
//! Rows come from files (CSV or NDJSON), so each complaint names a line and a column.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use super::codes::text_codes;
use super::indicators::{DecimalValue, GeoLevel, Period, Periodicity};
use crate::problem_detail::FieldError;

/// The `source` a collectivity must give: its own figures, not a statistical office's.
pub const COLLECTIVITY_SOURCE: &str = "collectivite";
const MAX_SOURCE_CHARS: usize = 200;
const MAX_MILLESIME_CHARS: usize = 40;

/// A row as read from the file, before any check. Empty text counts as absent.
#[derive(Debug, Default)]
pub struct RawRow<'a> {
    pub line: u64,
    pub indicator: Cow<'a, str>,
    pub geo_level: Cow<'a, str>,
    pub geo_code: Cow<'a, str>,
    pub period: Cow<'a, str>,
    pub value: Option<Cow<'a, str>>,
    /// As written: `true`/`false`/`1`/`0` (CSV) or a JSON boolean; `None` means false.
    pub suppressed: Option<Cow<'a, str>>,
    pub source: Cow<'a, str>,
    pub millesime: Option<Cow<'a, str>>,
}

/// A row that passed every check, in the stored forms (canonical period and value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRow {
    /// The line in the file, stored with the row (`ingest_line`).
    pub line: i64,
    pub indicator: String,
    pub geo_level: GeoLevel,
    pub geo_code: String,
    pub period: String,
    /// `None` exactly when suppressed.
    pub value: Option<String>,
    pub suppressed: bool,
    pub source: String,
    pub millesime: Option<String>,
}

impl ValidRow {
    /// The upsert key: two rows of one file with the same key are a mistake in the file.
    pub fn key(&self) -> (&str, GeoLevel, &str, &str) {
        (&self.indicator, self.geo_level, &self.geo_code, &self.period)
    }
}

/// What a row needs to know of its indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndicatorRule {
    pub geo_level: GeoLevel,
    pub periodicity: Periodicity,
}

/// The places of the territory reference, for checking codes without a query per row.
#[derive(Debug, Default)]
pub struct Places {
    /// INSEE code → (département, SIREN of the commune).
    pub communes: HashMap<String, (String, Option<String>)>,
    /// EPCI SIREN → départements of its member communes.
    pub epcis: HashMap<String, Vec<String>>,
    pub departments: HashSet<String>,
}

impl Places {
    pub fn contains(&self, level: GeoLevel, code: &str) -> bool {
        match level {
            GeoLevel::Commune => self.communes.contains_key(code),
            GeoLevel::Epci => self.epcis.contains_key(code),
            GeoLevel::Department => self.departments.contains(code),
        }
    }

    /// The départements the place lies in: an EPCI's are those of its members.
    /// Borrowed from the reference, so that counting rows per département allocates nothing.
    pub fn departments_of(&self, level: GeoLevel, code: &str) -> &[String] {
        match level {
            GeoLevel::Commune => self.communes.get(code).map(|(department, _)| std::slice::from_ref(department)),
            GeoLevel::Epci => self.epcis.get(code).map(Vec::as_slice),
            GeoLevel::Department => self.departments.get(code).map(std::slice::from_ref),
        }
        .unwrap_or_default()
    }

    /// Whether the place lies in one of `departments`; an EPCI does when one of its members does.
    fn in_departments(&self, level: GeoLevel, code: &str, departments: &[String]) -> bool {
        match level {
            GeoLevel::Commune => {
                self.communes.get(code).is_some_and(|(department, _)| departments.contains(department))
            }
            GeoLevel::Epci => self.epcis.get(code).is_some_and(|found| found.iter().any(|d| departments.contains(d))),
            GeoLevel::Department => departments.iter().any(|d| d == code),
        }
    }

    /// Whether the place is the territory of one of the organisations `sirens`: a commune by its
    /// SIREN, an EPCI by its own.
    fn belongs_to(&self, level: GeoLevel, code: &str, sirens: &[String]) -> bool {
        match level {
            GeoLevel::Commune => {
                self.communes.get(code).and_then(|(_, siren)| siren.as_ref()).is_some_and(|s| sirens.contains(s))
            }
            GeoLevel::Epci => sirens.iter().any(|s| s == code),
            GeoLevel::Department => false,
        }
    }
}

text_codes! {
    /// Who published an observation. An official figure and a collectivity's own figure for the
    /// same place and period stand side by side; reads, progress and summaries take the official
    /// one unless asked otherwise.
    ObservationOrigin {
        /// Written by an admin, a CAF agent or an integration: the CAF's, the Cnaf's or a
        /// statistical office's figure.
        Official = "official" => "Chiffre officiel",
        /// Written by a collectivity about its own places.
        Collectivity = "collectivity" => "Chiffre de la collectivité",
    }
}

text_codes! {
    /// Where a bulk file taken as a job stands.
    ImportStatus {
        /// Taken, waiting for its turn.
        Queued = "queued" => "En attente",
        /// Being read, checked and staged: nothing is written yet, and no lock is held.
        Checking = "checking" => "En cours de contrôle",
        /// Being written, in one transaction.
        Applying = "applying" => "En cours d'écriture",
        Succeeded = "succeeded" => "Terminé",
        /// Nothing was written: `errors` says why.
        Failed = "failed" => "En échec",
    }
}

/// What is read when no origin is asked for.
impl Default for ObservationOrigin {
    fn default() -> Self {
        Self::Official
    }
}

impl ObservationOrigin {
    /// The origin of what a caller writing in `territory` publishes.
    pub fn of_writer_in(territory: &Territory) -> Self {
        match territory {
            Territory::OwnPlaces(_) => Self::Collectivity,
            Territory::Everywhere | Territory::Departments(_) => Self::Official,
        }
    }
}

/// Where a caller may read and write observations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Territory {
    Everywhere,
    /// CAF agents and integrations: the places of these départements.
    Departments(Vec<String>),
    /// Collectivities: their own commune or EPCI, with their own figures only.
    OwnPlaces(Vec<String>),
}

impl Territory {
    pub fn covers(&self, places: &Places, level: GeoLevel, code: &str) -> bool {
        match self {
            Self::Everywhere => true,
            Self::Departments(departments) => places.in_departments(level, code, departments),
            Self::OwnPlaces(sirens) => places.belongs_to(level, code, sirens),
        }
    }
}

/// Checks rows against the catalogue, the reference and the caller's territory.
pub struct RowRules<'a> {
    pub indicators: &'a HashMap<String, IndicatorRule>,
    pub places: &'a Places,
    pub territory: &'a Territory,
    /// `57,3` is read as `57.3`: files with `;` between fields come from French spreadsheets.
    pub decimal_comma: bool,
}

/// The complaints about one line, as they are found.
struct Complaints {
    line: u64,
    errors: Vec<FieldError>,
}

impl Complaints {
    fn add(&mut self, column: &str, code: &str, detail: impl Into<String>) {
        self.errors.push(FieldError::at_line(self.line, Some(column), code, detail));
    }
}

impl RowRules<'_> {
    /// The row in its stored form, or every complaint about it.
    pub fn check(&self, raw: &RawRow<'_>) -> Result<ValidRow, Vec<FieldError>> {
        let mut complaints = Complaints { line: raw.line, errors: Vec::new() };
        let rule = self.indicators.get(raw.indicator.as_ref()).copied();
        if rule.is_none() {
            let detail = format!("'{}' is not in the indicator catalogue", shown(&raw.indicator));
            complaints.add("indicator", "UNKNOWN_INDICATOR", detail);
        }
        let geo_level = self.check_place(raw, rule, &mut complaints);
        let period = Period::parse(&raw.period);
        match (period, rule) {
            (None, _) => complaints.add("period", "INVALID_PERIOD", "must be a year (2024) or a quarter (2024-Q2)"),
            (Some(period), Some(rule)) if !period.fits(rule.periodicity) => complaints.add(
                "period",
                "PERIOD_DOES_NOT_FIT",
                format!("{} is observed {}", raw.indicator, periodicity_words(rule.periodicity)),
            ),
            _ => {}
        }
        let (value, suppressed) = self.check_value(raw, &mut complaints);
        let source = raw.source.trim();
        if source.is_empty() {
            complaints.add("source", "SOURCE_REQUIRED", "name where the value comes from");
        } else if source.chars().count() > MAX_SOURCE_CHARS {
            complaints.add("source", "SOURCE_TOO_LONG", format!("at most {MAX_SOURCE_CHARS} characters"));
        } else if matches!(self.territory, Territory::OwnPlaces(_)) && source != COLLECTIVITY_SOURCE {
            let detail = format!("a collectivity reports its own figures: source must be '{COLLECTIVITY_SOURCE}'");
            complaints.add("source", "SOURCE_MUST_BE_COLLECTIVITE", detail);
        }
        let millesime = raw.millesime.as_deref().map(str::trim).filter(|m| !m.is_empty());
        if millesime.is_some_and(|m| m.chars().count() > MAX_MILLESIME_CHARS) {
            complaints.add("millesime", "MILLESIME_TOO_LONG", format!("at most {MAX_MILLESIME_CHARS} characters"));
        }

        match (complaints.errors.is_empty(), geo_level, period) {
            (true, Some(geo_level), Some(period)) => Ok(ValidRow {
                line: i64::try_from(raw.line).unwrap_or(i64::MAX),
                indicator: raw.indicator.clone().into_owned(),
                geo_level,
                geo_code: raw.geo_code.clone().into_owned(),
                period: period.to_string(),
                value,
                suppressed,
                source: source.to_owned(),
                millesime: millesime.map(str::to_owned),
            }),
            _ => Err(complaints.errors),
        }
    }

    /// The level, when it is one; the code must be a place of that level in the caller's territory.
    fn check_place(
        &self,
        raw: &RawRow<'_>,
        rule: Option<IndicatorRule>,
        complaints: &mut Complaints,
    ) -> Option<GeoLevel> {
        let geo_level = GeoLevel::parse(&raw.geo_level);
        match (geo_level, rule) {
            (None, _) => complaints.add("geo_level", "INVALID_GEO_LEVEL", "must be commune, epci or department"),
            (Some(level), Some(rule)) if level != rule.geo_level => complaints.add(
                "geo_level",
                "GEO_LEVEL_MISMATCH",
                format!("{} is published by {}", raw.indicator, rule.geo_level.as_str()),
            ),
            _ => {}
        }
        let level = geo_level?;
        if !self.places.contains(level, &raw.geo_code) {
            let detail = format!("'{}' is not a {} of the territory reference", shown(&raw.geo_code), level.as_str());
            complaints.add("geo_code", "UNKNOWN_GEO_CODE", detail);
        } else if !self.territory.covers(self.places, level, &raw.geo_code) {
            complaints.add(
                "geo_code",
                "OUTSIDE_CALLER_TERRITORY",
                format!("'{}' is outside your territory", raw.geo_code),
            );
        }
        Some(level)
    }

    /// The canonical value (none when suppressed) and whether it is suppressed.
    fn check_value(&self, raw: &RawRow<'_>, complaints: &mut Complaints) -> (Option<String>, bool) {
        let suppressed = match raw.suppressed.as_deref() {
            None | Some("" | "false" | "0") => false,
            Some("true" | "1") => true,
            Some(_) => {
                complaints.add("suppressed", "INVALID_BOOLEAN", "must be true, false, 1 or 0");
                false
            }
        };
        let value = match (raw.value.as_deref(), suppressed) {
            (None, true) => None,
            (Some(_), true) => {
                complaints.add(
                    "value",
                    "VALUE_WITH_SUPPRESSED",
                    "a suppressed value is not published: leave value empty",
                );
                None
            }
            (None, false) => {
                complaints.add("value", "VALUE_REQUIRED", "give the value, or mark the row suppressed");
                None
            }
            (Some(text), false) => {
                let text =
                    if self.decimal_comma { Cow::Owned(text.replacen(',', ".", 1)) } else { Cow::Borrowed(text) };
                let parsed = DecimalValue::parse(&text);
                if parsed.is_none() {
                    let detail = format!("'{}' is not a decimal number with at most 4 decimals", shown(&text));
                    complaints.add("value", "INVALID_VALUE", detail);
                }
                parsed.map(|value| value.to_string())
            }
        };
        (value, suppressed)
    }
}

/// A value from the file as a complaint quotes it: cut short, so an answer never echoes a
/// whole oversized field.
fn shown(text: &str) -> String {
    const SHOWN_CHARS: usize = 40;
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn periodicity_words(periodicity: Periodicity) -> &'static str {
    match periodicity {
        Periodicity::Annual => "by year (2024)",
        Periodicity::Quarterly => "by quarter (2024-Q2)",
        Periodicity::OneOff => "once",
    }
}

/// The periods a list of observations is read between, from its `period_from` and `period_to`
/// parameters: each a year (`2024`, all its quarters) or a quarter (`2024-Q2`), the last not
/// before the first. Answers the first period included and the first one after the range.
pub fn period_range(from: Option<&str>, to: Option<&str>) -> Result<(Option<Period>, Option<Period>), FieldError> {
    let from = period_parameter("period_from", from)?;
    let after = period_parameter("period_to", to)?.map(Period::following);
    if let (Some(from), Some(after)) = (from, after)
        && from >= after
    {
        let detail = "period_to must not come before period_from";
        return Err(FieldError::at_parameter("period_to", "PERIOD_BEFORE_START", detail));
    }
    Ok((from, after))
}

fn period_parameter(name: &str, text: Option<&str>) -> Result<Option<Period>, FieldError> {
    text.map(|text| {
        Period::parse(text)
            .ok_or_else(|| FieldError::at_parameter(name, "INVALID_PERIOD", "a year (2024) or a quarter (2024-Q2)"))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;

    static PLACES: LazyLock<Places> = LazyLock::new(places);
    static CATALOGUE: LazyLock<HashMap<String, IndicatorRule>> = LazyLock::new(catalogue);
    static EVERYWHERE: Territory = Territory::Everywhere;

    /// The rules of the test catalogue and places, for a caller of `territory`.
    fn rules_for(territory: &Territory, decimal_comma: bool) -> RowRules<'_> {
        RowRules { indicators: &CATALOGUE, places: &PLACES, territory, decimal_comma }
    }

    fn places() -> Places {
        let mut places = Places::default();
        places.communes.insert("74010".into(), ("74".into(), Some("217400100".into())));
        places.communes.insert("33063".into(), ("33".into(), Some("213300635".into())));
        places.epcis.insert("200000172".into(), vec!["74".into()]);
        places.departments.extend(["74".to_owned(), "33".to_owned()]);
        places
    }

    fn catalogue() -> HashMap<String, IndicatorRule> {
        HashMap::from([
            (
                "places_eaje".to_owned(),
                IndicatorRule { geo_level: GeoLevel::Commune, periodicity: Periodicity::Annual },
            ),
            (
                "heures_alsh".to_owned(),
                IndicatorRule { geo_level: GeoLevel::Epci, periodicity: Periodicity::Quarterly },
            ),
        ])
    }

    fn row<'a>(indicator: &'a str, level: &'a str, code: &'a str, period: &'a str, value: &'a str) -> RawRow<'a> {
        RawRow {
            line: 2,
            indicator: indicator.into(),
            geo_level: level.into(),
            geo_code: code.into(),
            period: period.into(),
            value: Some(value.into()).filter(|v: &Cow<str>| !v.is_empty()),
            suppressed: None,
            source: "Cnaf".into(),
            millesime: Some("2025".into()),
        }
    }

    fn codes(result: Result<ValidRow, Vec<FieldError>>) -> Vec<(String, String)> {
        result.unwrap_err().into_iter().map(|e| (e.column.map(String::from).unwrap_or_default(), e.code)).collect()
    }

    #[test]
    fn a_good_row_is_stored_in_canonical_form() {
        let rules = rules_for(&EVERYWHERE, true);
        let valid = rules.check(&row("places_eaje", "commune", "74010", "2024", "57,30")).unwrap();
        assert_eq!(valid.value.as_deref(), Some("57.3"));
        assert_eq!((valid.period.as_str(), valid.millesime.as_deref(), valid.line), ("2024", Some("2025"), 2));
    }

    #[test]
    fn each_bad_column_is_named_with_its_code() {
        let rules = rules_for(&EVERYWHERE, false);
        let check = |raw: RawRow<'_>| codes(rules.check(&raw));
        assert_eq!(
            check(row("nope", "commune", "74010", "2024", "1")),
            [("indicator".into(), "UNKNOWN_INDICATOR".into())]
        );
        assert_eq!(
            check(row("places_eaje", "region", "74010", "2024", "1")),
            [("geo_level".into(), "INVALID_GEO_LEVEL".into())]
        );
        assert_eq!(
            check(row("places_eaje", "epci", "200000172", "2024", "1")),
            [("geo_level".into(), "GEO_LEVEL_MISMATCH".into())]
        );
        assert_eq!(
            check(row("places_eaje", "commune", "74999", "2024", "1")),
            [("geo_code".into(), "UNKNOWN_GEO_CODE".into())]
        );
        assert_eq!(
            check(row("places_eaje", "commune", "74010", "2024-Q1", "1")),
            [("period".into(), "PERIOD_DOES_NOT_FIT".into())]
        );
        assert_eq!(
            check(row("heures_alsh", "epci", "200000172", "2024-Q5", "1")),
            [("period".into(), "INVALID_PERIOD".into())]
        );
        assert_eq!(
            check(row("places_eaje", "commune", "74010", "2024", "57,3")),
            [("value".into(), "INVALID_VALUE".into())]
        );
        assert_eq!(
            check(row("places_eaje", "commune", "74010", "2024", "")),
            [("value".into(), "VALUE_REQUIRED".into())]
        );
        let mut secret = row("places_eaje", "commune", "74010", "2024", "0");
        secret.suppressed = Some("true".into());
        assert_eq!(check(secret), [("value".into(), "VALUE_WITH_SUPPRESSED".into())]);
        let mut unsure = row("places_eaje", "commune", "74010", "2024", "3");
        unsure.suppressed = Some("oui".into());
        unsure.source = " ".into();
        assert_eq!(
            check(unsure),
            [("suppressed".into(), "INVALID_BOOLEAN".into()), ("source".into(), "SOURCE_REQUIRED".into())]
        );
    }

    #[test]
    fn a_suppressed_value_is_stored_as_no_value_never_zero() {
        let rules = rules_for(&EVERYWHERE, false);
        let mut secret = row("places_eaje", "commune", "74010", "2024", "");
        secret.suppressed = Some("1".into());
        let valid = rules.check(&secret).unwrap();
        assert_eq!((valid.value, valid.suppressed), (None, true));
    }

    #[test]
    fn callers_write_only_inside_their_territory() {
        let agent = Territory::Departments(vec!["74".into()]);
        let rules = rules_for(&agent, false);
        assert!(rules.check(&row("places_eaje", "commune", "74010", "2024", "1")).is_ok());
        assert!(rules.check(&row("heures_alsh", "epci", "200000172", "2024-Q1", "1")).is_ok());
        assert_eq!(
            codes(rules.check(&row("places_eaje", "commune", "33063", "2024", "1"))),
            [("geo_code".into(), "OUTSIDE_CALLER_TERRITORY".into())]
        );

        let town = Territory::OwnPlaces(vec!["217400100".into()]);
        let rules = rules_for(&town, false);
        assert_eq!(
            codes(rules.check(&row("places_eaje", "commune", "74010", "2024", "1"))),
            [("source".into(), "SOURCE_MUST_BE_COLLECTIVITE".into())]
        );
        let mut own = row("places_eaje", "commune", "74010", "2024", "1");
        own.source = COLLECTIVITY_SOURCE.into();
        assert!(rules.check(&own).is_ok());
        let mut elsewhere = row("heures_alsh", "epci", "200000172", "2024-Q1", "1");
        elsewhere.source = COLLECTIVITY_SOURCE.into();
        assert_eq!(codes(rules.check(&elsewhere)), [("geo_code".into(), "OUTSIDE_CALLER_TERRITORY".into())]);
    }

    #[test]
    fn a_period_range_ends_after_it_starts() {
        let (from, after) = period_range(Some("2022"), Some("2024-Q2")).unwrap();
        assert_eq!(from.map(|from| from.to_string()).as_deref(), Some("2022"));
        assert_eq!(after.map(|after| after.to_string()).as_deref(), Some("2024-Q3"));
        assert_eq!(period_range(None, None).unwrap(), (None, None));
        assert!(period_range(Some("2024-Q2"), Some("2024-Q2")).is_ok());
        let reversed = period_range(Some("2024-Q3"), Some("2024-Q2")).unwrap_err();
        assert_eq!((reversed.parameter.as_deref(), reversed.code.as_str()), (Some("period_to"), "PERIOD_BEFORE_START"));
        let unreadable = period_range(Some("soon"), Some("never")).unwrap_err();
        assert_eq!(
            (unreadable.parameter.as_deref(), unreadable.code.as_str()),
            (Some("period_from"), "INVALID_PERIOD")
        );
    }
}
