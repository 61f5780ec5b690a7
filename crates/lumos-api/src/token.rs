//! The Lumos API token: validated on construction, redacted everywhere it could be printed.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

const PREFIX: &str = "lsk_";
/// Real tokens are a few dozen characters; anything far longer is a paste accident.
const MAX_LEN: usize = 512;
const MIN_SECRET_LEN: usize = 8;

/// Why a string is not a usable Lumos API token. Messages never include the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the Lumos API token is empty")]
    Empty,
    #[error("a Lumos API token starts with 'lsk_'")]
    MissingPrefix,
    #[error(
        "the Lumos API token is too short: expected at least {MIN_SECRET_LEN} characters after 'lsk_'"
    )]
    TooShort,
    #[error("the Lumos API token is too long: at most {MAX_LEN} characters")]
    TooLong,
    #[error("the Lumos API token contains whitespace or control characters")]
    BadCharacters,
}

/// A Lumos API token (`lsk_…`). `Debug` and `Display` show only `lsk_…abcd`.
#[derive(Clone)]
pub struct ApiToken(SecretString);

impl ApiToken {
    /// Validate a token's format. Surrounding whitespace (e.g. a trailing newline from stdin)
    /// is trimmed; whitespace inside the token is an error.
    pub fn parse(raw: &str) -> Result<Self, TokenError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(TokenError::Empty);
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(TokenError::BadCharacters);
        }
        if !raw.starts_with(PREFIX) {
            return Err(TokenError::MissingPrefix);
        }
        if raw.len() > MAX_LEN {
            return Err(TokenError::TooLong);
        }
        if raw.len() < PREFIX.len() + MIN_SECRET_LEN {
            return Err(TokenError::TooShort);
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// The secret, for the `Authorization` header and for sealing at rest only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// `lsk_…abcd`: safe to show, log and store.
    pub fn hint(&self) -> String {
        let s = self.expose();
        let tail: String = s
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{PREFIX}…{tail}")
    }

    /// Replace every occurrence of the secret in `text` with the hint.
    pub fn redact(&self, text: &str) -> String {
        text.replace(self.expose(), &self.hint())
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiToken({})", self.hint())
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hint())
    }
}

impl std::str::FromStr for ApiToken {
    type Err = TokenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_redacts() {
        let t = ApiToken::parse(" lsk_abcdefgh1234\n").expect("valid");
        assert_eq!(t.expose(), "lsk_abcdefgh1234");
        assert_eq!(t.hint(), "lsk_…1234");
        assert_eq!(format!("{t:?}"), "ApiToken(lsk_…1234)");
        assert_eq!(t.to_string(), "lsk_…1234");
        assert_eq!(t.redact("x lsk_abcdefgh1234 y"), "x lsk_…1234 y");
    }

    #[test]
    fn rejects_bad_formats() {
        assert_eq!(ApiToken::parse("").unwrap_err(), TokenError::Empty);
        assert_eq!(
            ApiToken::parse("abc_12345678").unwrap_err(),
            TokenError::MissingPrefix
        );
        assert_eq!(
            ApiToken::parse("lsk_abc").unwrap_err(),
            TokenError::TooShort
        );
        assert_eq!(
            ApiToken::parse("lsk_abcd efgh").unwrap_err(),
            TokenError::BadCharacters
        );
        assert_eq!(
            ApiToken::parse("lsk_abcd\u{7}efgh").unwrap_err(),
            TokenError::BadCharacters
        );
        let long = format!("lsk_{}", "a".repeat(600));
        assert_eq!(ApiToken::parse(&long).unwrap_err(), TokenError::TooLong);
    }

    #[test]
    fn errors_never_contain_the_input() {
        let err = ApiToken::parse("notatoken-secretvalue").unwrap_err();
        assert!(!err.to_string().contains("secretvalue"));
    }
}
