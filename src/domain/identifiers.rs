//! French company identifiers: SIREN (9 digits) and SIRET (14 digits), both Luhn-checked.

/// La Poste's SIREN: its establishments outnumber what a Luhn-valid numbering can hold, so its
/// SIRETs follow their own rule (digit sum a multiple of 5).
const LA_POSTE_SIREN: &str = "356000000";

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, byte)| {
            let digit = u32::from(byte - b'0');
            if position % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn all_digits(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_digit())
}

/// Why an identifier is refused, as a stable code for problem bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierError {
    /// Not the right number of digits, or not only digits.
    Format,
    /// The right shape, but the check digit is wrong.
    Checksum,
}

impl IdentifierError {
    /// The problem code for a refused SIREN.
    pub fn siren_code(self) -> &'static str {
        match self {
            Self::Format => "INVALID_SIREN_FORMAT",
            Self::Checksum => "INVALID_SIREN_CHECKSUM",
        }
    }

    /// The problem code for a refused SIRET.
    pub fn siret_code(self) -> &'static str {
        match self {
            Self::Format => "INVALID_SIRET_FORMAT",
            Self::Checksum => "INVALID_SIRET_CHECKSUM",
        }
    }
}

pub fn check_siren(siren: &str) -> Result<(), IdentifierError> {
    if !all_digits(siren, 9) {
        return Err(IdentifierError::Format);
    }
    if luhn_valid(siren) { Ok(()) } else { Err(IdentifierError::Checksum) }
}

pub fn check_siret(siret: &str) -> Result<(), IdentifierError> {
    if !all_digits(siret, 14) {
        return Err(IdentifierError::Format);
    }
    let valid = if siret.starts_with(LA_POSTE_SIREN) {
        siret.bytes().map(|b| u32::from(b - b'0')).sum::<u32>().is_multiple_of(5)
    } else {
        luhn_valid(siret)
    };
    if valid { Ok(()) } else { Err(IdentifierError::Checksum) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_sirens_pass_and_altered_ones_fail() {
        // CC Faucigny - Glières, and the commune of Bonneville.
        assert_eq!(check_siren("200000172"), Ok(()));
        assert_eq!(check_siren("217400423"), Ok(()));
        assert_eq!(check_siren("200000173"), Err(IdentifierError::Checksum));
        assert_eq!(check_siren("20000017"), Err(IdentifierError::Format));
        assert_eq!(check_siren("20000017a"), Err(IdentifierError::Format));
        assert_eq!(check_siren(" 200000172"), Err(IdentifierError::Format));
    }

    #[test]
    fn siret_uses_luhn_except_for_la_poste() {
        // A SIRET of the CC Faucigny - Glières: SIREN + NIC 00003, Luhn-valid.
        assert_eq!(check_siret("20000017200003"), Ok(()));
        assert_eq!(check_siret("20000017200004"), Err(IdentifierError::Checksum));
        // La Poste: digit sum 3+5+6+1+5 = 20, a multiple of 5, although not Luhn-valid.
        assert!(!luhn_valid("35600000000015"));
        assert_eq!(check_siret("35600000000015"), Ok(()));
        assert_eq!(check_siret("35600000000016"), Err(IdentifierError::Checksum));
    }
}
