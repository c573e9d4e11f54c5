//! Typed values in TEXT columns. Rows carry ids as [`Uuid`] and codes as their enums; they are
//! read and written through `#[diesel(deserialize_as = …, serialize_as = …)]`:
//!
//! - a NOT NULL column through `String` (`Uuid` and every text code convert both ways);
//! - a nullable one through [`NullableText`], since an `Option<Uuid>` cannot convert from an
//!   `Option<String>` by itself;
//! - a set of codes, comma-joined in one column, through [`JoinedCodes`] into a `Vec` of their enum.
//!
//! A stored value that does not parse fails the query, which the request answers with 500 and the
//! log explains: never a default.
//!
//! Rows are also what the routes answer, so this module gives their timestamps the API's
//! RFC 3339 form ([`rfc3339_json`]).

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::sql_types::{Nullable, Text};
use serde::Serializer;
use uuid::Uuid;

use crate::domain::codes::UnknownCode;
use crate::domain::contract::Field;
use crate::domain::indicators::{DecimalValue, Period};

/// A nullable TEXT column on its way to or from a typed `Option` field.
#[derive(Debug, FromSqlRow)]
pub struct NullableText(Option<String>);

impl<DB> FromSql<Nullable<Text>, DB> for NullableText
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        String::from_sql(bytes).map(|text| Self(Some(text)))
    }

    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        bytes.map_or(Ok(Self(None)), Self::from_sql)
    }
}

/// Written as the `Option<String>` it holds, so each backend binds it as its own text.
impl AsExpression<Nullable<Text>> for NullableText {
    type Expression = <Option<String> as AsExpression<Nullable<Text>>>::Expression;

    fn as_expression(self) -> Self::Expression {
        AsExpression::<Nullable<Text>>::as_expression(self.0)
    }
}

impl<T: Into<String>> From<Option<T>> for NullableText {
    fn from(value: Option<T>) -> Self {
        Self(value.map(Into::into))
    }
}

/// The typed `Option`s that a nullable TEXT column reads into.
macro_rules! read_nullable_text {
    ($($ty:ty),+ $(,)?) => {$(
        impl TryFrom<$crate::db::stored::NullableText> for Option<$ty> {
            type Error = <$ty as TryFrom<String>>::Error;

            fn try_from(stored: $crate::db::stored::NullableText) -> Result<Self, Self::Error> {
                stored.into_inner().map(<$ty>::try_from).transpose()
            }
        }
    )+};
}

impl NullableText {
    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

read_nullable_text!(Uuid, Field, Period, DecimalValue);

/// A stored id read as a UUID where a column is not (the contract a scoped child row belongs to):
/// one that does not parse fails the query, as it would through `deserialize_as`.
pub fn stored_uuid(text: &str) -> QueryResult<Uuid> {
    Uuid::try_parse(text).map_err(|error| diesel::result::Error::DeserializationError(Box::new(error)))
}

/// A set of codes in one TEXT column, comma-joined, on its way to or from a `Vec` of their enum.
/// Written sorted and without duplicates, so one set has one stored form.
#[derive(Debug, FromSqlRow)]
pub struct JoinedCodes(String);

impl<DB> FromSql<Text, DB> for JoinedCodes
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        String::from_sql(bytes).map(Self)
    }
}

impl AsExpression<Text> for JoinedCodes {
    type Expression = <String as AsExpression<Text>>::Expression;

    fn as_expression(self) -> Self::Expression {
        AsExpression::<Text>::as_expression(self.0)
    }
}

impl<T: Copy + Ord + Into<String>> From<Vec<T>> for JoinedCodes {
    fn from(mut codes: Vec<T>) -> Self {
        codes.sort_unstable();
        codes.dedup();
        Self(codes.into_iter().map(Into::into).collect::<Vec<String>>().join(","))
    }
}

impl<T: for<'a> TryFrom<&'a str, Error = UnknownCode>> TryFrom<JoinedCodes> for Vec<T> {
    type Error = UnknownCode;

    fn try_from(stored: JoinedCodes) -> Result<Self, UnknownCode> {
        stored.0.split(',').filter(|code| !code.is_empty()).map(T::try_from).collect()
    }
}

/// A list in one TEXT column, as JSON, on its way to or from a `Vec` (the ids, texts and small
/// records of a diagnostic or a meeting): kept in the client's order, since pointers name it.
#[derive(Debug, FromSqlRow)]
pub struct JsonText(String);

impl<DB> FromSql<Text, DB> for JsonText
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        String::from_sql(bytes).map(Self)
    }
}

impl AsExpression<Text> for JsonText {
    type Expression = <String as AsExpression<Text>>::Expression;

    fn as_expression(self) -> Self::Expression {
        AsExpression::<Text>::as_expression(self.0)
    }
}

impl<T: serde::Serialize> From<Vec<T>> for JsonText {
    fn from(items: Vec<T>) -> Self {
        // A list of ids, texts or records of plain fields always serialises.
        Self(serde_json::to_string(&items).unwrap_or_else(|_| unreachable!("a plain list serialises")))
    }
}

impl<T: serde::de::DeserializeOwned> TryFrom<JsonText> for Vec<T> {
    type Error = serde_json::Error;

    fn try_from(stored: JsonText) -> Result<Self, serde_json::Error> {
        serde_json::from_str(&stored.0)
    }
}

/// Serialises a stored timestamp (UTC) as the API writes it: RFC 3339 with microseconds and `Z`.
pub fn rfc3339_json<S: Serializer>(at: &chrono::NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&super::rfc3339(*at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nullable_id_reads_back_as_it_was_written() {
        let id = Uuid::new_v4();
        let stored = NullableText::from(Some(id));
        assert_eq!(Option::<Uuid>::try_from(stored).unwrap(), Some(id));
        assert_eq!(Option::<Uuid>::try_from(NullableText::from(None::<Uuid>)).unwrap(), None);
    }

    #[test]
    fn a_stored_id_that_is_not_a_uuid_is_an_error() {
        assert!(Option::<Uuid>::try_from(NullableText(Some("not-a-uuid".into()))).is_err());
        assert!(stored_uuid("not-a-uuid").is_err());
    }

    #[test]
    fn a_set_of_codes_is_stored_sorted_once_and_reads_back() {
        let stored = JoinedCodes::from(vec![Field::Jeunesse, Field::PetiteEnfance, Field::Jeunesse]);
        assert_eq!(stored.0, "petite_enfance,jeunesse");
        assert_eq!(Vec::<Field>::try_from(stored).unwrap(), [Field::PetiteEnfance, Field::Jeunesse]);
        assert_eq!(Vec::<Field>::try_from(JoinedCodes(String::new())).unwrap(), []);
        assert!(Vec::<Field>::try_from(JoinedCodes("petite_enfance,nope".into())).is_err());
    }
}
