//! Territory codes: départements, INSEE commune codes, and the folding used for name search.

/// Whether `code` is a département served by a CAF: 01–19, 2A, 2B, 21–95, 971–974 and 976.
/// The collectivités d'outre-mer (975, 977, 978, 98x) have no CAF.
pub fn is_caf_department(code: &str) -> bool {
    match code.len() {
        2 if code == "2A" || code == "2B" => true,
        2 => {
            code.parse::<u8>().is_ok_and(|n| (1..=95).contains(&n) && n != 20)
                && code.bytes().all(|b| b.is_ascii_digit())
        }
        3 => matches!(code, "971" | "972" | "973" | "974" | "976"),
        _ => false,
    }
}

/// Whether `code` has the shape of an INSEE commune code (five characters, Corsica's 2A/2B).
/// Shape is not enough for a code to be accepted: it must also exist in the reference.
pub fn is_insee_code_shape(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 5
        && (bytes[..2].iter().all(u8::is_ascii_digit) || matches!(&code[..2], "2A" | "2B"))
        && bytes[2..].iter().all(u8::is_ascii_digit)
}

/// Lowercase ASCII with accents, apostrophes and hyphens folded to spaces, so that `q=saint etienne`
/// finds "Saint-Étienne" on every database alike.
pub fn fold_for_search(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    let spaced: String = ascii.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caf_departments_exclude_collectivities_overseas_and_20() {
        for code in ["01", "19", "2A", "2B", "21", "33", "95", "971", "974", "976"] {
            assert!(is_caf_department(code), "{code}");
        }
        for code in ["00", "20", "96", "975", "977", "988", "1", "033", "2C", "+1", "AB"] {
            assert!(!is_caf_department(code), "{code}");
        }
    }

    #[test]
    fn insee_codes_have_five_characters_with_corsica_letters() {
        assert!(is_insee_code_shape("74042"));
        assert!(is_insee_code_shape("2A004"));
        assert!(is_insee_code_shape("97411"));
        assert!(!is_insee_code_shape("7404"));
        assert!(!is_insee_code_shape("2C004"));
        assert!(!is_insee_code_shape("74a42"));
    }

    #[test]
    fn search_folding_ignores_case_accents_and_punctuation() {
        assert_eq!(fold_for_search("Saint-Étienne"), "saint etienne");
        assert_eq!(fold_for_search("CC Faucigny - Glières"), "cc faucigny glieres");
        assert_eq!(fold_for_search("L'Abergement-Clémenciat"), "l abergement clemenciat");
    }
}
