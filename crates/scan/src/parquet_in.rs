//! Parquet input through the record API (no Arrow), one row group at a time.

use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use crate::ScanError;
use crate::input::{FieldSpec, Item, RecordErr, RecordIn};

fn field_text(f: &Field) -> Option<String> {
    match f {
        Field::Str(s) => Some(s.clone()),
        Field::Bytes(b) => std::str::from_utf8(b.data()).ok().map(str::to_owned),
        Field::Null => None,
        other => Some(other.to_string()),
    }
}

pub(crate) fn read_parquet(
    path: &Path,
    name: &str,
    source: u32,
    fields: &FieldSpec,
    sink: &mut dyn FnMut(Item) -> bool,
) -> Result<(), ScanError> {
    let file = File::open(path).map_err(|source| ScanError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| ScanError::Input(format!("{name}: not a readable Parquet file: {e}")))?;
    let field = fields.field.as_deref().unwrap_or("text");
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<String> = schema
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_owned())
        .collect();
    let col = names.iter().position(|n| n == field).ok_or_else(|| {
        ScanError::Input(format!(
            "{name}: record 0 (schema) at byte 0: missing column `{field}` (columns: {})",
            names.join(", ")
        ))
    })?;
    let gcol = fields
        .group
        .as_deref()
        .and_then(|g| names.iter().position(|n| n == g));
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| ScanError::Input(format!("{name}: {e}")))?;
    for (i, row) in rows.enumerate() {
        let number = i as u64 + 1;
        let item = match row {
            Err(e) => Item::Err(RecordErr {
                source,
                number,
                offset: 0,
                message: format!("unreadable row: {e}"),
            }),
            Ok(row) => {
                let cols: Vec<(&String, &Field)> = row.get_column_iter().collect();
                match cols.get(col).map(|(_, f)| *f) {
                    Some(f) => match field_text(f) {
                        Some(text) => Item::Rec(RecordIn {
                            source,
                            number,
                            offset: 0,
                            text,
                            group: gcol
                                .and_then(|g| cols.get(g))
                                .and_then(|(_, f)| field_text(f)),
                        }),
                        None => Item::Err(RecordErr {
                            source,
                            number,
                            offset: 0,
                            message: format!("column `{field}` is null or not UTF-8"),
                        }),
                    },
                    None => Item::Err(RecordErr {
                        source,
                        number,
                        offset: 0,
                        message: format!("row has no column `{field}`"),
                    }),
                }
            }
        };
        if !sink(item) {
            break;
        }
    }
    Ok(())
}
