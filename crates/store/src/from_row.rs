//! Rows read into structs by column name, on both backends.
//!
//! `from_row!(Run { id, workflow_id, … })` is what `#[derive(sqlx::FromRow)]` gave: each
//! field read from the column of its name, and fields after `flatten` read as whole rows of
//! their own type. The derive's proc-macro built a second copy of sqlx, SQLite and TLS for
//! the host, about a minute of a newcomer's first build. A field missing from the list is a
//! compile error (the struct literal is incomplete), so the list cannot drift.

macro_rules! from_row {
    ($t:ident { $($f:ident),* $(,)? } $(flatten { $($g:ident),* $(,)? })?) => {
        $crate::from_row::from_row!(@on sqlx::sqlite::SqliteRow, $t { $($f),* } $(flatten { $($g),* })?);
        $crate::from_row::from_row!(@on sqlx::postgres::PgRow, $t { $($f),* } $(flatten { $($g),* })?);
    };
    (@on $row:ty, $t:ident { $($f:ident),* } $(flatten { $($g:ident),* })?) => {
        impl<'r> sqlx::FromRow<'r, $row> for $t {
            fn from_row(row: &'r $row) -> ::std::result::Result<Self, sqlx::Error> {
                Ok(Self {
                    $($f: sqlx::Row::try_get(row, stringify!($f))?,)*
                    $($($g: sqlx::FromRow::from_row(row)?,)*)?
                })
            }
        }
    };
}
pub(crate) use from_row;
