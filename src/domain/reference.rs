//! The territory reference: départements, EPCI and communes as published by Etalab in
//! `@etalab/decoupage-administratif` (from INSEE's COG), read and checked before anything is written.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::Deserialize;

use super::codes::text_codes;
use super::identifiers::check_siren;
use super::territory::{fold_for_search, is_insee_code_shape};

text_codes! {
    /// Legal form of an intercommunality.
    EpciKind {
        /// Communauté de communes.
        Cc = "cc" => "Communauté de communes",
        /// Communauté d'agglomération.
        Ca = "ca" => "Communauté d'agglomération",
        /// Communauté urbaine.
        Cu = "cu" => "Communauté urbaine",
        /// Métropole.
        Metro = "metro" => "Métropole",
        /// Métropole de Lyon.
        Met69 = "met69" => "Métropole de Lyon",
    }
    /// Status of a commune in the COG. Delegated and associated communes (former communes merged into a
    /// commune nouvelle) are not kept: no contract covers them and they have no SIREN of their own.
    CommuneKind {
        /// A current commune.
        CommuneActuelle = "commune_actuelle" => "Commune",
        /// A municipal arrondissement of Paris, Lyon or Marseille.
        ArrondissementMunicipal = "arrondissement_municipal" => "Arrondissement municipal",
    }
    /// Where a département lies: metropolitan France, overseas départements, overseas collectivities.
    Zone {
        Metro = "metro" => "France métropolitaine",
        Drom = "drom" => "Département et région d'outre-mer",
        Com = "com" => "Collectivité d'outre-mer",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub region: String,
    pub chef_lieu: Option<String>,
    pub zone: Zone,
    /// Sum of the municipal populations of its current communes.
    pub population: i64,
    /// Number of its current communes.
    pub commune_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epci {
    pub siren: String,
    pub name: String,
    pub search_name: String,
    pub kind: EpciKind,
    pub financing_mode: Option<String>,
    /// Municipal population.
    pub population: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commune {
    pub insee: String,
    pub name: String,
    pub search_name: String,
    pub kind: CommuneKind,
    pub department: String,
    pub region: Option<String>,
    pub siren: Option<String>,
    pub epci_siren: Option<String>,
    /// The commune a municipal arrondissement belongs to.
    pub parent_insee: Option<String>,
    /// Comma-separated postal codes.
    pub postal_codes: String,
    pub population: Option<i64>,
}

/// A complete, checked reference, ready to be written.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    pub departments: Vec<Department>,
    pub epcis: Vec<Epci>,
    pub communes: Vec<Commune>,
}

/// Why a reference file set was refused. Nothing is written when this is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError {
    pub file: &'static str,
    pub message: String,
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ReferenceError {}

pub const DEPARTMENTS_FILE: &str = "departements.json";
pub const EPCIS_FILE: &str = "epci.json";
pub const COMMUNES_FILE: &str = "communes.json";

#[derive(Deserialize)]
struct RawDepartment {
    code: String,
    nom: String,
    region: String,
    #[serde(rename = "chefLieu")]
    chef_lieu: Option<String>,
    zone: String,
}

#[derive(Deserialize)]
struct RawEpci {
    code: String,
    nom: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "modeFinancement")]
    financing_mode: Option<String>,
    #[serde(rename = "populationMunicipale")]
    population: Option<i64>,
    membres: Vec<RawMember>,
}

#[derive(Deserialize)]
struct RawMember {
    code: String,
}

#[derive(Deserialize)]
struct RawCommune {
    code: String,
    nom: String,
    #[serde(rename = "type")]
    kind: String,
    departement: String,
    region: Option<String>,
    siren: Option<String>,
    commune: Option<String>,
    #[serde(rename = "codesPostaux", default)]
    postal_codes: Vec<String>,
    population: Option<i64>,
}

fn parse_file<T: for<'de> Deserialize<'de>>(file: &'static str, bytes: &[u8]) -> Result<Vec<T>, ReferenceError> {
    serde_json::from_slice(bytes)
        .map_err(|error| ReferenceError { file, message: format!("not a valid file of this format: {error}") })
}

fn refuse(file: &'static str, entry: &str, message: impl fmt::Display) -> ReferenceError {
    ReferenceError { file, message: format!("entry {entry}: {message}") }
}

impl Reference {
    /// Reads the three files' contents and checks them against each other.
    pub fn from_json(departments: &[u8], epcis: &[u8], communes: &[u8]) -> Result<Self, ReferenceError> {
        let mut departments = read_departments(parse_file(DEPARTMENTS_FILE, departments)?)?;
        let known_departments: BTreeSet<String> = departments.iter().map(|d| d.code.clone()).collect();
        let mut communes = read_communes(parse_file(COMMUNES_FILE, communes)?, &known_departments)?;
        let mut epcis = read_epcis(parse_file(EPCIS_FILE, epcis)?, &mut communes)?;
        add_department_totals(&mut departments, &communes);

        departments.sort_by(|a, b| a.code.cmp(&b.code));
        epcis.sort_by(|a, b| a.siren.cmp(&b.siren));
        communes.sort_by(|a, b| a.insee.cmp(&b.insee));
        Ok(Self { departments, epcis, communes })
    }
}

fn read_departments(raw_departments: Vec<RawDepartment>) -> Result<Vec<Department>, ReferenceError> {
    let mut codes = BTreeSet::new();
    let mut departments = Vec::with_capacity(raw_departments.len());
    for raw in raw_departments {
        let zone = Zone::parse(&raw.zone)
            .ok_or_else(|| refuse(DEPARTMENTS_FILE, &raw.code, format!("unknown zone {:?}", raw.zone)))?;
        if raw.code.is_empty() || raw.code.len() > 3 || raw.nom.trim().is_empty() {
            return Err(refuse(DEPARTMENTS_FILE, &raw.code, "a code of 2 or 3 characters and a name are required"));
        }
        if !codes.insert(raw.code.clone()) {
            return Err(refuse(DEPARTMENTS_FILE, &raw.code, "appears twice"));
        }
        departments.push(Department {
            code: raw.code,
            name: raw.nom,
            region: raw.region,
            chef_lieu: raw.chef_lieu,
            zone,
            population: 0,
            commune_count: 0,
        });
    }
    Ok(departments)
}

fn read_communes(
    raw_communes: Vec<RawCommune>,
    departments: &BTreeSet<String>,
) -> Result<Vec<Commune>, ReferenceError> {
    let mut codes = BTreeSet::new();
    let mut communes = Vec::with_capacity(raw_communes.len());
    for raw in raw_communes {
        let kind = match raw.kind.as_str() {
            "commune-actuelle" => CommuneKind::CommuneActuelle,
            "arrondissement-municipal" => CommuneKind::ArrondissementMunicipal,
            "commune-deleguee" | "commune-associee" => continue,
            other => return Err(refuse(COMMUNES_FILE, &raw.code, format!("unknown type {other:?}"))),
        };
        if !is_insee_code_shape(&raw.code) {
            return Err(refuse(COMMUNES_FILE, &raw.code, "not an INSEE commune code"));
        }
        if !departments.contains(&raw.departement) {
            let message = format!("département {} is not in {DEPARTMENTS_FILE}", raw.departement);
            return Err(refuse(COMMUNES_FILE, &raw.code, message));
        }
        if let Some(siren) = &raw.siren {
            check_siren(siren).map_err(|_| refuse(COMMUNES_FILE, &raw.code, format!("invalid SIREN {siren}")))?;
        }
        if raw.population.is_some_and(|p| p < 0) {
            return Err(refuse(COMMUNES_FILE, &raw.code, "negative population"));
        }
        if !codes.insert(raw.code.clone()) {
            return Err(refuse(COMMUNES_FILE, &raw.code, "appears twice"));
        }
        communes.push(Commune {
            search_name: fold_for_search(&raw.nom),
            insee: raw.code,
            name: raw.nom,
            kind,
            department: raw.departement,
            region: raw.region,
            siren: raw.siren,
            epci_siren: None,
            parent_insee: raw.commune,
            postal_codes: raw.postal_codes.join(","),
            population: raw.population,
        });
    }
    Ok(communes)
}

/// Reads the EPCI and records each one's membership on its communes.
fn read_epcis(raw_epcis: Vec<RawEpci>, communes: &mut [Commune]) -> Result<Vec<Epci>, ReferenceError> {
    let index: HashMap<String, usize> =
        communes.iter().enumerate().map(|(position, commune)| (commune.insee.clone(), position)).collect();
    let mut sirens = BTreeSet::new();
    let mut epcis = Vec::with_capacity(raw_epcis.len());
    for raw in raw_epcis {
        check_siren(&raw.code).map_err(|_| refuse(EPCIS_FILE, &raw.code, "invalid SIREN"))?;
        if !sirens.insert(raw.code.clone()) {
            return Err(refuse(EPCIS_FILE, &raw.code, "appears twice"));
        }
        let kind = match raw.kind.as_str() {
            "CC" => EpciKind::Cc,
            "CA" => EpciKind::Ca,
            "CU" => EpciKind::Cu,
            "METRO" => EpciKind::Metro,
            "MET69" => EpciKind::Met69,
            other => return Err(refuse(EPCIS_FILE, &raw.code, format!("unknown type {other:?}"))),
        };
        for member in &raw.membres {
            let commune = index
                .get(&member.code)
                .map(|&position| &mut communes[position])
                .filter(|commune| commune.kind == CommuneKind::CommuneActuelle)
                .ok_or_else(|| {
                    let message = format!("member {} is not a current commune of {COMMUNES_FILE}", member.code);
                    refuse(EPCIS_FILE, &raw.code, message)
                })?;
            if let Some(other) = &commune.epci_siren {
                let message = format!("member {} already belongs to EPCI {other}", member.code);
                return Err(refuse(EPCIS_FILE, &raw.code, message));
            }
            commune.epci_siren = Some(raw.code.clone());
        }
        epcis.push(Epci {
            search_name: fold_for_search(&raw.nom),
            siren: raw.code,
            name: raw.nom,
            kind,
            financing_mode: raw.financing_mode,
            population: raw.population,
        });
    }
    Ok(epcis)
}

fn add_department_totals(departments: &mut [Department], communes: &[Commune]) {
    let mut totals: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for commune in communes.iter().filter(|c| c.kind == CommuneKind::CommuneActuelle) {
        let entry = totals.entry(commune.department.as_str()).or_default();
        entry.0 += commune.population.unwrap_or(0);
        entry.1 += 1;
    }
    for department in departments {
        if let Some((population, count)) = totals.get(department.code.as_str()) {
            department.population = *population;
            department.commune_count = *count;
        }
    }
}

/// The reference shipped inside the binary: a compact copy of `@etalab/decoupage-administratif`
/// 6.0.0 made by `reference/compact.py` (MIT licence, see `reference/`).
mod embedded {
    pub const DEPARTMENTS: &[u8] = include_bytes!("../../reference/departements.json.gz");
    pub const EPCIS: &[u8] = include_bytes!("../../reference/epci.json.gz");
    pub const COMMUNES: &[u8] = include_bytes!("../../reference/communes.json.gz");
}

fn gunzip(file: &'static str, bytes: &[u8]) -> Result<Vec<u8>, ReferenceError> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out)
        .map_err(|error| ReferenceError { file, message: format!("cannot decompress: {error}") })?;
    Ok(out)
}

impl Reference {
    /// The reference a fresh database is seeded with.
    pub fn embedded() -> Result<Self, ReferenceError> {
        Self::from_json(
            &gunzip(DEPARTMENTS_FILE, embedded::DEPARTMENTS)?,
            &gunzip(EPCIS_FILE, embedded::EPCIS)?,
            &gunzip(COMMUNES_FILE, embedded::COMMUNES)?,
        )
    }

    /// Reads `departements.json`, `epci.json` and `communes.json` from a folder (a `.json.gz`
    /// beside or instead of a file is read too).
    pub fn from_dir(dir: &std::path::Path) -> Result<Self, ReferenceError> {
        let read = |file: &'static str| -> Result<Vec<u8>, ReferenceError> {
            let plain = dir.join(file);
            match std::fs::read(&plain) {
                Ok(bytes) => Ok(bytes),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    let gz = dir.join(format!("{file}.gz"));
                    let bytes = std::fs::read(&gz).map_err(|_| ReferenceError {
                        file,
                        message: format!("not found in {} (nor {file}.gz)", dir.display()),
                    })?;
                    gunzip(file, &bytes)
                }
                Err(error) => {
                    Err(ReferenceError { file, message: format!("cannot read {}: {error}", plain.display()) })
                }
            }
        };
        Self::from_json(&read(DEPARTMENTS_FILE)?, &read(EPCIS_FILE)?, &read(COMMUNES_FILE)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPARTMENTS: &str = r#"[{"code":"74","region":"84","chefLieu":"74010","nom":"Haute-Savoie","zone":"metro"}]"#;
    const EPCIS: &str = r#"[{"code":"200000172","nom":"CC Faucigny - Glières","type":"CC","modeFinancement":"FPU","populationMunicipale":28363,"membres":[{"code":"74042"}]}]"#;
    const COMMUNES: &str = r#"[{"code":"74042","nom":"Bonneville","type":"commune-actuelle","departement":"74","region":"84","siren":"217400423","codesPostaux":["74130"],"population":13320}]"#;

    #[test]
    fn a_consistent_file_set_is_read_with_memberships_and_totals() {
        let reference = Reference::from_json(DEPARTMENTS.as_bytes(), EPCIS.as_bytes(), COMMUNES.as_bytes()).unwrap();
        assert_eq!(reference.communes[0].epci_siren.as_deref(), Some("200000172"));
        assert_eq!(reference.departments[0].population, 13320);
        assert_eq!(reference.departments[0].commune_count, 1);
        assert_eq!(reference.epcis[0].kind, EpciKind::Cc);
        assert_eq!(reference.epcis[0].search_name, "cc faucigny glieres");
    }

    #[test]
    fn a_member_missing_from_the_communes_is_refused_with_its_code() {
        let epcis = EPCIS.replace("74042", "74999");
        let error = Reference::from_json(DEPARTMENTS.as_bytes(), epcis.as_bytes(), COMMUNES.as_bytes()).unwrap_err();
        assert_eq!(error.file, EPCIS_FILE);
        assert!(error.message.contains("74999"), "{error}");
    }

    #[test]
    fn a_bad_siren_or_unknown_department_is_refused() {
        let communes = COMMUNES.replace("217400423", "217400424");
        let error = Reference::from_json(DEPARTMENTS.as_bytes(), EPCIS.as_bytes(), communes.as_bytes()).unwrap_err();
        assert!(error.message.contains("invalid SIREN"), "{error}");
        let communes = COMMUNES.replace(r#""departement":"74""#, r#""departement":"99""#);
        let error = Reference::from_json(DEPARTMENTS.as_bytes(), EPCIS.as_bytes(), communes.as_bytes()).unwrap_err();
        assert!(error.message.contains("99"), "{error}");
    }

    #[test]
    fn the_embedded_reference_is_complete() {
        let reference = Reference::embedded().unwrap();
        assert_eq!(reference.departments.len(), 109);
        assert_eq!(reference.epcis.len(), 1255);
        assert_eq!(reference.communes.len(), 35_014);
        let faucigny = reference.communes.iter().filter(|c| c.epci_siren.as_deref() == Some("200000172")).count();
        assert_eq!(faucigny, 7);
    }

    #[test]
    fn a_file_of_another_format_is_refused() {
        let error = Reference::from_json(b"{}", EPCIS.as_bytes(), COMMUNES.as_bytes()).unwrap_err();
        assert_eq!(error.file, DEPARTMENTS_FILE);
    }
}
