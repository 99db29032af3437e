//! Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters
//! from a 31-character alphabet; the last is a check character computed
//! with weights 3^i mod 31.

const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a code is not a valid USCC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("must be 18 characters, got {0}")]
    Length(usize),
    #[error(
        "character {ch:?} at position {pos} is not allowed (GB 32100 alphabet excludes I, O, S, V, Z)"
    )]
    Char { ch: char, pos: usize },
    #[error("check character is {found:?}, expected {expected:?}")]
    Check { found: char, expected: char },
}

fn value(c: char) -> Option<u32> {
    ALPHABET.find(c).map(|i| i as u32)
}

/// Computes the check character for the first 17 characters.
pub fn check_char(first17: &str) -> Result<char, UsccError> {
    let mut sum = 0u32;
    for (i, c) in first17.chars().enumerate() {
        let v = value(c).ok_or(UsccError::Char { ch: c, pos: i + 1 })?;
        let w = WEIGHTS
            .get(i)
            .copied()
            .ok_or(UsccError::Length(first17.chars().count()))?;
        sum += v * w;
    }
    let check = (31 - sum % 31) % 31;
    Ok(ALPHABET.as_bytes()[check as usize] as char)
}

/// Validates a USCC (upper-case expected; surrounding spaces are not trimmed).
pub fn validate(code: &str) -> Result<(), UsccError> {
    let n = code.chars().count();
    if n != 18 {
        return Err(UsccError::Length(n));
    }
    let first17: String = code.chars().take(17).collect();
    let expected = check_char(&first17)?;
    let found = code.chars().last().unwrap_or(' ');
    if value(found).is_none() {
        return Err(UsccError::Char { ch: found, pos: 18 });
    }
    if found != expected {
        return Err(UsccError::Check { found, expected });
    }
    Ok(())
}

/// Completes 17 characters with their check character (used by tests and seeding).
pub fn complete(first17: &str) -> Result<String, UsccError> {
    Ok(format!("{first17}{}", check_char(first17)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        // Published codes of well-known companies.
        assert_eq!(validate("91350100M000100Y43"), Ok(()));
        assert_eq!(validate("91110000802100433B"), Ok(()));
    }

    #[test]
    fn rejects_bad() {
        assert!(matches!(
            validate("91350100M000100Y44"),
            Err(UsccError::Check { .. })
        ));
        assert!(matches!(validate("9135"), Err(UsccError::Length(4))));
        assert!(matches!(
            validate("91350100M000100I43"),
            Err(UsccError::Char { pos: 16, .. })
        ));
        let c = complete("91110108MA01ABCDE").unwrap();
        assert_eq!(validate(&c), Ok(()));
    }
}
