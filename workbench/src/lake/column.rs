//! Conversion of typed record fields into polars columns, one Rust type per Parquet type.

use chrono::NaiveDate;
use polars::prelude::*;

/// A Rust field type that the lake stores as one Parquet column.
pub(crate) trait ColumnType: Sized {
    /// The polars type of the column.
    fn dtype() -> DataType;
    /// Builds the column from one value per row, borrowing them: text is copied once,
    /// into the column, never into intermediate `String`s.
    fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column
    where
        Self: 'a;
}

fn days(date: NaiveDate) -> i32 {
    // Polars stores dates as days since 1970-01-01, and every programme date fits i32.
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a valid date");
    i32::try_from(date.signed_duration_since(epoch).num_days()).expect("dates fit in i32 days")
}

macro_rules! plain_column {
    ($rust:ty, $dtype:expr) => {
        impl ColumnType for $rust {
            fn dtype() -> DataType {
                $dtype
            }
            fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
                Column::new(name.into(), values.copied().collect::<Vec<_>>())
            }
        }
    };
}

impl ColumnType for String {
    fn dtype() -> DataType {
        DataType::String
    }
    fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
        Column::new(name.into(), values.map(String::as_str).collect::<Vec<_>>())
    }
}

impl ColumnType for Option<String> {
    fn dtype() -> DataType {
        DataType::String
    }
    fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
        Column::new(
            name.into(),
            values.map(Option::as_deref).collect::<Vec<_>>(),
        )
    }
}

plain_column!(i32, DataType::Int32);
plain_column!(Option<i32>, DataType::Int32);
plain_column!(i64, DataType::Int64);
plain_column!(Option<i64>, DataType::Int64);
plain_column!(f64, DataType::Float64);
plain_column!(Option<f64>, DataType::Float64);
plain_column!(bool, DataType::Boolean);
plain_column!(Option<bool>, DataType::Boolean);

impl ColumnType for NaiveDate {
    fn dtype() -> DataType {
        DataType::Date
    }
    fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
        let raw: Vec<i32> = values.copied().map(days).collect();
        Column::new(name.into(), raw)
            .cast(&DataType::Date)
            .expect("i32 days always cast to Date")
    }
}

impl ColumnType for Option<NaiveDate> {
    fn dtype() -> DataType {
        DataType::Date
    }
    fn column<'a>(name: &str, values: impl Iterator<Item = &'a Self>) -> Column {
        let raw: Vec<Option<i32>> = values.map(|d| d.map(days)).collect();
        Column::new(name.into(), raw)
            .cast(&DataType::Date)
            .expect("i32 days always cast to Date")
    }
}

/// Defines a lake record type, its table and its conversion to a DataFrame.
macro_rules! record {
    (
        $(#[$meta:meta])*
        $name:ident => $table:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty ),+
        }

        impl $name {
            /// Column names and types, in file order.
            pub fn schema() -> Vec<(&'static str, polars::prelude::DataType)> {
                vec![ $( (stringify!($field), <$ty as $crate::lake::column::ColumnType>::dtype()) ),+ ]
            }

            /// The rows as a DataFrame with exactly [`Self::schema`].
            pub fn to_frame(rows: &[Self]) -> polars::prelude::DataFrame {
                let columns = vec![
                    $( <$ty as $crate::lake::column::ColumnType>::column(
                        stringify!($field),
                        rows.iter().map(|row| &row.$field),
                    ) ),+
                ];
                polars::prelude::DataFrame::new(rows.len(), columns)
                    .expect("record columns have equal lengths and unique names")
            }
        }

        impl $crate::lake::Record for $name {
            const TABLE: $crate::lake::Table = $crate::lake::Table::$table;
        }
    };
}

pub(crate) use record;
