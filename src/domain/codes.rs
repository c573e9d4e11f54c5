//! Enumerations stored as text codes: the same `snake_case` code in the API, in the database
//! (a TEXT column with a CHECK) and in the OpenAPI document.

/// Declares an enum of text codes: each variant with its `snake_case` code (the same in the API,
/// in the database and in the OpenAPI document, which serde and utoipa derive with
/// `rename_all = "snake_case"` and a unit test cross-checks) and its French `label`. The enum gets `ALL`, `as_str`, `parse`, `label`, `Display`, and the
/// conversions from and to the stored text.
macro_rules! text_codes {
    ($($(#[$meta:meta])* $ty:ident {
        $($(#[$variant_meta:meta])* $variant:ident = $text:literal => $label:literal),+ $(,)?
    })+) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $ty {
            $($(#[$variant_meta])* $variant),+
        }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($ty::$variant),)+ _ => None }
            }

            /// The French label, for people.
            pub fn label(self) -> &'static str {
                match self { $($ty::$variant => $label),+ }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Read from a TEXT column: a code the enum does not know is an error, never a default.
        impl TryFrom<&str> for $ty {
            type Error = $crate::domain::codes::UnknownCode;

            fn try_from(text: &str) -> Result<Self, Self::Error> {
                Self::parse(text).ok_or_else(|| $crate::domain::codes::UnknownCode { of: stringify!($ty), code: text.to_owned() })
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $crate::domain::codes::UnknownCode;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                Self::try_from(text.as_str())
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.as_str().to_owned()
            }
        }
    )+};
}

pub(crate) use text_codes;

/// A stored code that its enum does not know: the database holds what no write could have put
/// there, which the request answers with 500 and the log explains.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {of} code {code:?} in the database")]
pub struct UnknownCode {
    pub of: &'static str,
    pub code: String,
}
