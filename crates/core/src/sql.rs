//! The domain enums as diesel values (feature `diesel`, enabled only by wump-db).
//!
//! The database stores each of them as its lower-case id in a `text` column guarded by a
//! check constraint (`migrations/`). Reading goes through each enum's `FromStr`, so a value
//! the enum does not know is a deserialization error for the whole query, never a row
//! silently skipped or a string passed on unparsed.
//!
//! The impls live here, not in wump-db, because of the orphan rule: diesel's traits, the
//! `Text` type and `Pg` are foreign to wump-db as these enums are, so only the enums' own
//! crate may implement `ToSql<Text, Pg>` for them; wrapping each enum in a wump-db newtype
//! would make every row type and filter convert back and forth.

use diesel::{
    deserialize::{self, FromSql},
    pg::{Pg, PgValue},
    serialize::{self, Output, ToSql},
    sql_types::Text,
};

use crate::{DependencyKind, Ecosystem, EventKind, OrganizationKind, jobs::JobType, tier::Tier};

/// Implements `ToSql<Text, Pg>` (through `as_str`) and `FromSql<Text, Pg>` (through
/// `FromStr`) for an enum that derives `AsExpression` and `FromSqlRow`.
macro_rules! text_column {
    ($($ty:ty),+ $(,)?) => {$(
        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl FromSql<Text, Pg> for $ty {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(value)?;
                Ok(text.parse::<$ty>()?)
            }
        }
    )+};
}

text_column!(
    Ecosystem,
    DependencyKind,
    EventKind,
    OrganizationKind,
    JobType,
    Tier
);
