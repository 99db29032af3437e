//! Texts as data teams hand them over: a column of a pandas, NumPy or
//! PyArrow batch (what Ray Data's `map_batches` passes), a list, or any
//! iterable, with missing cells in it.
//!
//! A cell is a `str` (NumPy's `str_` included), UTF-8 `bytes`, or missing:
//! `None`, a float NaN (pandas' missing value in an object column) or
//! `pandas.NA`. A missing cell has no text, so it has no findings (and no
//! verdict). Anything else is a `TypeError` naming the cell, never a
//! silently skipped row.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyFloat, PyList, PyString, PyTuple};

/// One cell. `what` names it in errors (`text`, `texts[3]`).
pub(crate) fn text_of(
    item: &Bound<'_, PyAny>,
    what: &dyn Fn() -> String,
) -> PyResult<Option<String>> {
    if item.is_none() {
        return Ok(None);
    }
    if let Ok(s) = item.cast::<PyString>() {
        return match s.to_cow() {
            Ok(t) => Ok(Some(t.into_owned())),
            Err(_) => Err(PyValueError::new_err(format!(
                "{}: not valid Unicode (a lone surrogate); decode the source with errors=\"replace\"",
                what()
            ))),
        };
    }
    let bytes = if let Ok(b) = item.cast::<PyBytes>() {
        Some(b.as_bytes().to_vec())
    } else if let Ok(b) = item.cast::<PyByteArray>() {
        Some(b.to_vec())
    } else {
        None
    };
    if let Some(b) = bytes {
        return String::from_utf8(b).map(Some).map_err(|e| {
            PyValueError::new_err(format!(
                "{}: bytes are not UTF-8 (invalid at byte {})",
                what(),
                e.utf8_error().valid_up_to()
            ))
        });
    }
    if let Ok(f) = item.cast::<PyFloat>()
        && f.value().is_nan()
    {
        return Ok(None);
    }
    let ty = item.get_type();
    let name = ty.name().map(|n| n.to_string()).unwrap_or_default();
    if name == "NAType" {
        return Ok(None);
    }
    // A PyArrow scalar (a column iterated cell by cell).
    if item.hasattr("as_py").unwrap_or(false) && name.ends_with("Scalar") {
        let v = item.call_method0("as_py")?;
        if !v.hasattr("as_py").unwrap_or(false) {
            return text_of(&v, what);
        }
    }
    Err(PyTypeError::new_err(format!(
        "{}: expected str, UTF-8 bytes or None, got {name}",
        what()
    )))
}

/// Every cell of `texts`, in order.
pub(crate) fn texts_of(texts: &Bound<'_, PyAny>) -> PyResult<Vec<Option<String>>> {
    if texts.is_instance_of::<PyString>() || texts.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "texts: one text was given; pass a list of texts, or call scan() for one",
        ));
    }
    // PyArrow arrays and chunked arrays: their Python values, nulls as None.
    let owned;
    let texts = if !texts.is_instance_of::<PyList>()
        && !texts.is_instance_of::<PyTuple>()
        && texts.hasattr("to_pylist").unwrap_or(false)
    {
        owned = texts.call_method0("to_pylist")?;
        &owned
    } else {
        texts
    };
    let iter = texts.try_iter().map_err(|_| {
        let name = texts
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        PyTypeError::new_err(format!(
            "texts: expected a list (or any iterable) of str, got {name}"
        ))
    })?;
    let mut out = Vec::with_capacity(texts.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        out.push(text_of(&item?, &|| format!("texts[{i}]"))?);
    }
    Ok(out)
}
