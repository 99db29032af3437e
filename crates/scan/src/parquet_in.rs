//! Parquet input through the record API (no Arrow), one row group at a
//! time, packed into chunks by the reader thread.

use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use crate::ScanError;
use crate::input::{ChunkSink, FieldSpec, Packer, ReadCfg};

/// The bytes of a field as text (`None` for null).
fn field_bytes<'a>(f: &'a Field, tmp: &'a mut String) -> Option<&'a [u8]> {
    match f {
        Field::Str(s) => Some(s.as_bytes()),
        Field::Bytes(b) => Some(b.data()),
        Field::Null => None,
        other => {
            *tmp = other.to_string();
            Some(tmp.as_bytes())
        }
    }
}

pub(crate) fn read_parquet(
    path: &Path,
    name: &str,
    fields: &FieldSpec,
    cfg: ReadCfg,
    sink: &mut ChunkSink<'_>,
) -> Result<(), ScanError> {
    let file = File::open(path).map_err(|source| ScanError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| ScanError::Input(format!("{name}: not a readable Parquet file: {e}")))?;
    let field = fields.field();
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
    let mut packer = Packer::new(cfg);
    let (mut t1, mut t2) = (String::new(), String::new());
    for (i, row) in rows.enumerate() {
        let number = i as u64 + 1;
        match row {
            Err(e) => packer.err(number, 0, format!("unreadable row: {e}")),
            Ok(row) => {
                let cols: Vec<(&String, &Field)> = row.get_column_iter().collect();
                match cols.get(col).map(|(_, f)| *f) {
                    Some(f) => match field_bytes(f, &mut t1) {
                        Some(text) => {
                            let group = gcol
                                .and_then(|g| cols.get(g))
                                .and_then(|(_, f)| field_bytes(f, &mut t2));
                            packer.rec(number, 0, text, group);
                        }
                        None => packer.err(number, 0, format!("column `{field}` is null")),
                    },
                    None => packer.err(number, 0, format!("row has no column `{field}`")),
                }
            }
        }
        if packer.full() && !packer.flush(sink) {
            return Ok(());
        }
    }
    packer.flush(sink);
    Ok(())
}
