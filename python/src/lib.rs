//! Python bindings of beian's screening engine: `beian.Screen`.
//!
//! The engine is the one `beian scan` uses, built by the same lexicon
//! loaders with the same defaults, so `Screen.scan(text)` gives the CLI's
//! findings. Screening runs with the GIL released; `scan_batch` and
//! `scan_files` use several threads.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use beian_scan::input::{FieldSpec, InputFormat, expand_inputs};
use beian_scan::pipeline::{self, DEFAULT_MAX_RECORD_BYTES, Out, PipelineConfig};
use beian_screen::{Detector, Engine, Finding, Options, Scratch, Via};
use pyo3::IntoPyObjectExt;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyModule, PyString, PyTuple};

mod cache;
mod texts;
use texts::{text_of, texts_of};

/// Everything a `Screen` was built from (what pickling ships).
#[derive(Clone, Debug)]
struct Config {
    lexicons: Vec<PathBuf>,
    allow: Vec<PathBuf>,
    risk: Option<String>,
    detectors: Vec<String>,
    normalize: bool,
    pinyin: bool,
    initials: bool,
    traditional: bool,
    separators: bool,
    width: bool,
    case: bool,
    digits: bool,
    homophones: bool,
    min_term_chars: usize,
    max_skip: usize,
    max_record_bytes: usize,
    threads: Option<usize>,
    /// Pickle with the compiled lexicon instead of the paths.
    portable: bool,
}

const ALL_DETECTORS: [&str; 6] = ["id-card", "mobile", "bank-card", "uscc", "email", "ip"];

impl Config {
    /// The CLI's option logic (`beian scan`), flag for flag.
    fn options(&self) -> Options {
        let mut opts = if self.normalize {
            Options::default()
        } else {
            Options::none()
        };
        if !self.pinyin {
            opts.pinyin = false;
            opts.pinyin_initials = false;
            opts.mixed_pinyin = false;
        }
        if self.initials {
            opts.pinyin_initials = true;
        }
        if !self.traditional {
            opts.traditional = false;
        }
        if !self.separators {
            opts.separators = false;
        }
        if !self.width {
            opts.width = false;
        }
        if !self.case {
            opts.case = false;
        }
        if !self.digits {
            opts.digits = false;
        }
        opts.homophones = self.homophones;
        opts.min_term_chars = self.min_term_chars;
        opts.max_skip = self.max_skip;
        opts
    }

    fn detectors(&self) -> PyResult<Vec<Detector>> {
        let mut detectors = Vec::new();
        for d in &self.detectors {
            if d == "none" || d.is_empty() {
                continue;
            }
            detectors.push(Detector::from_name(d).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "unknown detector `{d}` (known: {})",
                    ALL_DETECTORS.join(", ")
                ))
            })?);
        }
        Ok(detectors)
    }

    /// Builds the engine: from source lexicons (through the lexicon cache
    /// on disk `disk`, if any: another process may have built it), or by
    /// loading one compiled lexicon (`beian lexicon compile`).
    fn build(&self, disk: Option<&beian_scan::LexiconCache>) -> PyResult<Engine> {
        let detectors = self.detectors()?;
        let mut built = beian_scan::build_engine_cached(
            &beian_scan::EngineSpec {
                lexicons: &self.lexicons,
                allow: &self.allow,
                risk: self.risk.as_deref(),
                options: self.options(),
                detectors: &detectors,
            },
            disk,
        )
        .map_err(|e| PyValueError::new_err(format!("loading lexicons: {e}")))?;
        if let Some(st) = built.store.take() {
            // A cache that cannot be written costs only the cache.
            let _ = st.write(&built.engine);
        }
        Ok(built.engine)
    }

    /// What shapes the engine besides its files: options, risk, detectors
    /// (not `threads`, `max_record_bytes` or `portable`, which only the
    /// `Screen` uses).
    fn engine_repr(&self) -> String {
        format!("{:?} {:?} {:?}", self.options(), self.risk, self.detectors)
    }

    /// The engine, built or loaded from the files, or shared with a `Screen`
    /// built before from the same files and options (see `cache`).
    fn engine(&self, disk: Option<&beian_scan::LexiconCache>) -> PyResult<Arc<Engine>> {
        let key = cache::Key::files(self.engine_repr(), &self.lexicons, &self.allow);
        cache::engine(key, || self.build(disk))
    }

    /// [`Config::load`], or the engine already loaded from the same bytes.
    fn engine_from(&self, data: &[u8]) -> PyResult<Arc<Engine>> {
        let key = cache::Key::bytes(self.engine_repr(), data);
        cache::engine(Some(key), || self.load(data))
    }

    /// The engine of a pickled portable `Screen`: its compiled lexicon.
    fn load(&self, data: &[u8]) -> PyResult<Engine> {
        use beian_scan::CompiledLoadError;
        beian_scan::load_compiled(data, &self.options(), &self.detectors()?).map_err(|e| {
            PyValueError::new_err(match e {
                CompiledLoadError::Bytes(e) => format!("unpickling a portable Screen: {e}"),
                CompiledLoadError::Options(d) => format!(
                    "unpickling a portable Screen: its compiled lexicon has other options than its config ({})",
                    d.join("; ")
                ),
            })
        })
    }

    /// The inverse of [`Config::to_dict`].
    fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Config> {
        fn get<'py, T>(d: &Bound<'py, PyDict>, k: &str) -> PyResult<T>
        where
            T: for<'a> FromPyObject<'a, 'py>,
            for<'a> <T as FromPyObject<'a, 'py>>::Error: Into<PyErr>,
        {
            let v = d
                .get_item(k)?
                .ok_or_else(|| PyValueError::new_err(format!("config without `{k}`")))?;
            v.extract::<T>().map_err(|e| {
                let e: PyErr = e.into();
                PyValueError::new_err(format!("config `{k}`: {e}"))
            })
        }
        Ok(Config {
            lexicons: get(d, "lexicons")?,
            allow: get(d, "allow")?,
            risk: get(d, "risk")?,
            detectors: get(d, "detectors")?,
            normalize: get(d, "normalize")?,
            pinyin: get(d, "pinyin")?,
            initials: get(d, "initials")?,
            traditional: get(d, "traditional")?,
            separators: get(d, "separators")?,
            width: get(d, "width")?,
            case: get(d, "case")?,
            digits: get(d, "digits")?,
            homophones: get(d, "homophones")?,
            min_term_chars: get(d, "min_term_chars")?,
            max_skip: get(d, "max_skip")?,
            max_record_bytes: get(d, "max_record_bytes")?,
            threads: get(d, "threads")?,
            portable: true,
        })
    }

    fn threads(&self) -> usize {
        self.threads.unwrap_or_else(default_threads).max(1)
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let paths =
            |v: &[PathBuf]| -> Vec<String> { v.iter().map(|p| p.display().to_string()).collect() };
        d.set_item("lexicons", paths(&self.lexicons))?;
        d.set_item("allow", paths(&self.allow))?;
        d.set_item("risk", self.risk.clone())?;
        d.set_item("detectors", self.detectors.clone())?;
        d.set_item("normalize", self.normalize)?;
        d.set_item("pinyin", self.pinyin)?;
        d.set_item("initials", self.initials)?;
        d.set_item("traditional", self.traditional)?;
        d.set_item("separators", self.separators)?;
        d.set_item("width", self.width)?;
        d.set_item("case", self.case)?;
        d.set_item("digits", self.digits)?;
        d.set_item("homophones", self.homophones)?;
        d.set_item("min_term_chars", self.min_term_chars)?;
        d.set_item("max_skip", self.max_skip)?;
        d.set_item("max_record_bytes", self.max_record_bytes)?;
        d.set_item("threads", self.threads)?;
        d.set_item("portable", self.portable)?;
        Ok(d)
    }
}

/// Threads when none are given: `OMP_NUM_THREADS` where it is a positive
/// number (Ray sets it in each worker to the CPUs the task or actor holds,
/// so that actors sharing a node do not each start a thread per core), else
/// the cores this process may use.
fn default_threads() -> usize {
    std::env::var("OMP_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A screening engine built from keyword lexicons, allow-lists and options.
///
/// ``Screen(lexicons, allow=None, **options)`` takes the same defaults and
/// options as ``beian scan``. Build it once and reuse it: building reads and
/// compiles the lexicons. It is immutable and thread-safe, and pickles (by
/// its lexicon paths and options), so Ray or Spark can ship it to workers.
/// With ``portable=True`` it pickles with its compiled lexicon instead
/// (about 15 MB for konsheng; no lexicon path is read where it is
/// unpickled): for clusters without a shared file system.
///
/// A process builds each engine once: a ``Screen`` made, or unpickled, from
/// the same options and unchanged lexicon files (the same contents, hashed)
/// as one before shares its engine, so Ray tasks that each unpickle a
/// ``Screen`` do not each rebuild it. ``engine_cache_info()`` counts the
/// reuses; ``clear_engine_cache()`` frees the engines held. Across
/// processes, an engine built from source lexicons is kept compiled in the
/// lexicon cache ``beian scan`` uses (``~/.cache/beian/lexicons``;
/// ``BEIAN_LEXICON_CACHE=0`` turns it off), and a new worker process loads
/// it instead of building it.
///
/// Each finding is a dict with the CLI's keys: ``start`` and ``end`` (UTF-8
/// byte offsets into the text), ``char_start`` and ``char_end`` (character
/// offsets, for Python slicing: ``text[f["char_start"]:f["char_end"]] ==
/// f["matched"]``), ``matched``, ``term``, ``risk``, ``detector``, and when
/// present ``severity``, ``action``, ``via``.
#[pyclass(frozen, module = "beian._beian")]
struct Screen {
    engine: Arc<Engine>,
    cfg: Config,
}

/// One path (`str` or `os.PathLike`) or a sequence of them.
fn paths_of(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<PathBuf>> {
    if v.is_instance_of::<pyo3::types::PyString>() || v.hasattr("__fspath__")? {
        return Ok(vec![v.extract::<PathBuf>()?]);
    }
    v.extract::<Vec<PathBuf>>().map_err(|_| {
        let ty = v
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        pyo3::exceptions::PyTypeError::new_err(format!(
            "{what}: expected a path or a list of paths, got {ty}"
        ))
    })
}

/// Character offsets of byte offsets into one text, counted on from the
/// last one asked (findings come ordered by position).
struct CharAt<'t> {
    text: &'t str,
    byte: usize,
    chars: usize,
}

impl<'t> CharAt<'t> {
    fn new(text: &'t str) -> Self {
        CharAt {
            text,
            byte: 0,
            chars: 0,
        }
    }

    fn at(&mut self, b: usize) -> usize {
        if b < self.byte {
            (self.byte, self.chars) = (0, 0);
        }
        self.chars += self.text.get(self.byte..b).map_or(0, |s| s.chars().count());
        self.byte = b;
        self.chars
    }
}

/// Finding dicts, with the keys (and values) of the CLI's JSONL findings,
/// `char_start` and `char_end` added, and `via` left out for plain text.
/// Built field by field (keys interned), not through `serde_json`: on
/// finding-dense text this conversion, not the screening, was most of
/// `scan_batch`'s time.
fn findings_to_py<'py>(
    py: Python<'py>,
    text: &str,
    findings: &[Finding],
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    let mut char_at = CharAt::new(text);
    for f in findings {
        let d = PyDict::new(py);
        let cs = char_at.at(f.start);
        let ce = char_at.at(f.end);
        d.set_item(intern!(py, "start"), f.start)?;
        d.set_item(intern!(py, "end"), f.end)?;
        d.set_item(intern!(py, "char_start"), cs)?;
        d.set_item(intern!(py, "char_end"), ce)?;
        d.set_item(intern!(py, "matched"), &f.matched)?;
        d.set_item(intern!(py, "term"), &*f.term)?;
        d.set_item(intern!(py, "risk"), &*f.risk)?;
        d.set_item(
            intern!(py, "risks"),
            PyList::new(py, f.risks.iter().map(|r| &**r))?,
        )?;
        if let Some(w) = f.weight {
            d.set_item(intern!(py, "weight"), weight_value(w))?;
        }
        d.set_item(intern!(py, "detector"), f.detector)?;
        if let Some(v) = &f.severity {
            d.set_item(intern!(py, "severity"), &**v)?;
        }
        if let Some(v) = &f.action {
            d.set_item(intern!(py, "action"), &**v)?;
        }
        if let Some(v) = f.via.filter(|&v| v != Via::Text) {
            d.set_item(intern!(py, "via"), via_name(v)?)?;
        }
        list.append(d)?;
    }
    Ok(list)
}

/// Findings as columns (see `Screen.scan_columns`): the values of
/// [`findings_to_py`]'s dicts, one list per key, set into `d` after the
/// columns already there. `records` are the screened texts, each with its
/// findings.
fn finding_columns<'py, 'a>(
    py: Python<'py>,
    d: &Bound<'py, PyDict>,
    records: &[(&'a str, &'a [Finding])],
) -> PyResult<()> {
    let n: usize = records.iter().map(|(_, fs)| fs.len()).sum();
    let (mut start, mut end) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut char_start, mut char_end) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (text, fs) in records {
        let mut char_at = CharAt::new(text);
        for f in fs.iter() {
            char_start.push(char_at.at(f.start));
            char_end.push(char_at.at(f.end));
            start.push(f.start);
            end.push(f.end);
        }
    }
    let all = || records.iter().flat_map(|(_, fs)| fs.iter());
    let mut strings = Strings::new(py);
    d.set_item("start", start)?;
    d.set_item("end", end)?;
    d.set_item("char_start", char_start)?;
    d.set_item("char_end", char_end)?;
    d.set_item(
        "matched",
        all().map(|f| f.matched.as_str()).collect::<Vec<_>>(),
    )?;
    d.set_item("term", strings.list(all().map(|f| Some(&*f.term)))?)?;
    d.set_item("risk", strings.list(all().map(|f| Some(&*f.risk)))?)?;
    d.set_item("detector", strings.list(all().map(|f| Some(f.detector)))?)?;
    let risks = PyList::empty(py);
    for f in all() {
        risks.append(strings.list(f.risks.iter().map(|r| Some(&**r)))?)?;
    }
    d.set_item("risks", risks)?;
    d.set_item(
        "severity",
        strings.list(all().map(|f| f.severity.as_deref()))?,
    )?;
    d.set_item("action", strings.list(all().map(|f| f.action.as_deref()))?)?;
    let mut via_names: Vec<Option<String>> = Vec::with_capacity(n);
    for f in all() {
        via_names.push(match f.via.filter(|&v| v != Via::Text) {
            Some(v) => Some(via_name(v)?),
            None => None,
        });
    }
    d.set_item("via", strings.list(via_names.iter().map(Option::as_deref))?)?;
    d.set_item(
        "weight",
        all()
            .map(|f| f.weight.map(weight_value))
            .collect::<Vec<_>>(),
    )?;
    Ok(())
}

/// Python strings made once each: risk codes, terms, sources repeat.
struct Strings<'py> {
    py: Python<'py>,
    made: HashMap<String, Bound<'py, PyString>>,
}

impl<'py> Strings<'py> {
    fn new(py: Python<'py>) -> Self {
        Strings {
            py,
            made: HashMap::new(),
        }
    }

    fn get(&mut self, s: &str) -> Bound<'py, PyString> {
        if let Some(p) = self.made.get(s) {
            return p.clone();
        }
        let p = PyString::new(self.py, s);
        self.made.insert(s.to_owned(), p.clone());
        p
    }

    /// A list of the strings, `None` for a missing one.
    fn list<'s>(
        &mut self,
        items: impl Iterator<Item = Option<&'s str>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(self.py);
        for s in items {
            match s {
                Some(s) => list.append(self.get(s))?,
                None => list.append(self.py.None())?,
            }
        }
        Ok(list)
    }
}

/// The CLI's name for `via` (serde's, not a copy of the names).
fn via_name(v: Via) -> PyResult<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Ok(other.to_string()),
        Err(e) => Err(PyValueError::new_err(format!("finding: {e}"))),
    }
}

/// An audited weight as the CLI prints it (the f32's shortest decimal: 0.9,
/// not the widened 0.8999999761581421).
fn weight_value(w: f32) -> f64 {
    w.to_string().parse::<f64>().unwrap_or(f64::from(w))
}

/// The cyclic garbage collector held off while result lists are built:
/// they hold no cycles, and its passes over tens of thousands of new
/// dicts and lists were a fifth of `scan_batch`'s time. Turned back on
/// when dropped, if it was on.
struct GcPaused<'py>(Option<Bound<'py, PyModule>>);

impl<'py> GcPaused<'py> {
    fn new(py: Python<'py>) -> PyResult<Self> {
        let gc = py.import("gc")?;
        if gc.call_method0("isenabled")?.is_truthy()? {
            gc.call_method0("disable")?;
            return Ok(GcPaused(Some(gc)));
        }
        Ok(GcPaused(None))
    }
}

impl Drop for GcPaused<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.0 {
            // Nothing to report to: enabling cannot fail in practice.
            let _ = gc.call_method0("enable");
        }
    }
}

fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_bound_py_any(py)?,
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_bound_py_any(py)?
            } else if let Some(u) = n.as_u64() {
                u.into_bound_py_any(py)?
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)?
            }
        }
        Value::String(s) => s.into_bound_py_any(py)?,
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(json_to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Each cell's findings, in order.
type Screened = Vec<Vec<Finding>>;

impl Screen {
    /// The cells of `texts` and their findings, screened on `threads`
    /// threads (default: the constructor's, else [`default_threads`]) with
    /// the GIL released: contiguous slices, one per thread, balanced by
    /// bytes.
    fn screen_cells(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<(Vec<Option<String>>, Screened)> {
        let texts = texts_of(texts)?;
        let threads = threads.unwrap_or_else(|| self.cfg.threads()).max(1);
        let max = self.cfg.max_record_bytes;
        let engine = &self.engine;
        let find = |t: &Option<String>, s: &mut Scratch| -> Vec<Finding> {
            t.as_deref()
                .map_or_else(Vec::new, |t| pipeline::find_windowed(engine, t, max, s))
        };
        let results: Vec<Vec<Finding>> = py.detach(|| {
            let n = texts.len();
            if threads == 1 || n < 2 {
                let mut s = Scratch::new();
                return texts.iter().map(|t| find(t, &mut s)).collect();
            }
            let size = |t: &Option<String>| t.as_ref().map_or(0, String::len) + 16;
            let total: usize = texts.iter().map(size).sum();
            let per = total.div_ceil(threads);
            let mut bounds = vec![0usize];
            let mut acc = 0usize;
            for (i, t) in texts.iter().enumerate() {
                acc += size(t);
                if acc >= per && i + 1 < n {
                    bounds.push(i + 1);
                    acc = 0;
                }
            }
            bounds.push(n);
            let mut out: Vec<Vec<Finding>> = Vec::with_capacity(n);
            std::thread::scope(|s| {
                let handles: Vec<_> = bounds
                    .windows(2)
                    .map(|w| {
                        let part = &texts[w[0]..w[1]];
                        let find = &find;
                        s.spawn(move || {
                            let mut sc = Scratch::new();
                            part.iter().map(|t| find(t, &mut sc)).collect::<Vec<_>>()
                        })
                    })
                    .collect();
                for h in handles {
                    match h.join() {
                        Ok(v) => out.extend(v),
                        Err(_) => out.clear(),
                    }
                }
            });
            out
        });
        if results.len() != texts.len() {
            return Err(PyValueError::new_err("a screening thread failed"));
        }
        Ok((texts, results))
    }
}

#[pymethods]
impl Screen {
    #[new]
    #[pyo3(signature = (
        lexicons,
        allow = None,
        *,
        risk = None,
        detectors = None,
        normalize = true,
        pinyin = true,
        initials = false,
        traditional = true,
        separators = true,
        width = true,
        case = true,
        digits = true,
        homophones = false,
        min_term_chars = 2,
        max_skip = 3,
        max_record_bytes = DEFAULT_MAX_RECORD_BYTES,
        threads = None,
        portable = false,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        lexicons: &Bound<'_, PyAny>,
        allow: Option<&Bound<'_, PyAny>>,
        risk: Option<String>,
        detectors: Option<Vec<String>>,
        normalize: bool,
        pinyin: bool,
        initials: bool,
        traditional: bool,
        separators: bool,
        width: bool,
        case: bool,
        digits: bool,
        homophones: bool,
        min_term_chars: usize,
        max_skip: usize,
        max_record_bytes: usize,
        threads: Option<usize>,
        portable: bool,
    ) -> PyResult<Screen> {
        let lexicons = paths_of(lexicons, "lexicons")?;
        if lexicons.is_empty() {
            return Err(PyValueError::new_err(
                "lexicons: give at least one lexicon file or directory",
            ));
        }
        let cfg = Config {
            lexicons,
            allow: allow
                .map(|a| paths_of(a, "allow"))
                .transpose()?
                .unwrap_or_default(),
            risk,
            detectors: detectors
                .unwrap_or_else(|| ALL_DETECTORS.iter().map(|s| s.to_string()).collect()),
            normalize,
            pinyin,
            initials,
            traditional,
            separators,
            width,
            case,
            digits,
            homophones,
            min_term_chars,
            max_skip,
            max_record_bytes,
            threads,
            portable,
        };
        let disk = cache::disk(py);
        let engine = py.detach(|| cfg.engine(disk.as_ref()))?;
        Ok(Screen { engine, cfg })
    }

    /// Screens one text: a list of finding dicts, ordered by position.
    /// ``text`` is a ``str`` or UTF-8 ``bytes``; a missing value (``None``,
    /// NaN, ``pandas.NA``) has no findings.
    fn scan<'py>(&self, py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let Some(owned) = text_of(text, &|| "text".to_owned())? else {
            return Ok(PyList::empty(py));
        };
        let max = self.cfg.max_record_bytes;
        let engine = &self.engine;
        let f = py.detach(|| {
            let mut s = Scratch::new();
            pipeline::find_windowed(engine, &owned, max, &mut s)
        });
        findings_to_py(py, &owned, &f)
    }

    /// Whether a text has any finding (a missing value has none).
    fn is_flagged(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Some(owned) = text_of(text, &|| "text".to_owned())? else {
            return Ok(false);
        };
        let engine = &self.engine;
        Ok(py.detach(|| engine.is_flagged(&owned)))
    }

    /// Screens many texts in parallel (GIL released): one list of finding
    /// dicts per text, in order. ``texts`` is a list, a NumPy, pandas or
    /// PyArrow column, or any iterable; missing cells (``None``, NaN,
    /// ``pandas.NA``, PyArrow nulls) get an empty list. ``threads``
    /// defaults to the ``threads`` given to the constructor, else
    /// ``OMP_NUM_THREADS`` (which Ray sets in a worker to the CPUs of its
    /// task or actor), else all cores.
    #[pyo3(signature = (texts, threads = None))]
    fn scan_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let (texts, results) = self.screen_cells(py, texts, threads)?;
        let _gc = GcPaused::new(py)?;
        let list = PyList::empty(py);
        for (t, f) in texts.iter().zip(&results) {
            list.append(findings_to_py(py, t.as_deref().unwrap_or_default(), f)?)?;
        }
        Ok(list)
    }

    /// Screens many texts as ``scan_batch`` does, and returns the findings
    /// as columns: a dict of equal-length lists, one item per finding, in
    /// order. ``row`` is the index of the finding's text in ``texts``; then
    /// ``start``, ``end``, ``char_start``, ``char_end``, ``matched``,
    /// ``term``, ``risk``, ``detector``, ``risks`` (a list each),
    /// ``severity``, ``action``, ``via`` and ``weight`` (``None`` where a
    /// finding has none; ``via`` is ``None`` for plain text). Ready for
    /// ``pyarrow.table(...)`` or ``pandas.DataFrame(...)``: no dict per
    /// finding is made, which is what most of ``scan_batch``'s time goes to
    /// on text with many findings.
    #[pyo3(signature = (texts, threads = None))]
    fn scan_columns<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (texts, results) = self.screen_cells(py, texts, threads)?;
        let _gc = GcPaused::new(py)?;
        let d = PyDict::new(py);
        let rows = results
            .iter()
            .enumerate()
            .flat_map(|(i, fs)| std::iter::repeat_n(i, fs.len()));
        d.set_item("row", rows.collect::<Vec<_>>())?;
        let records: Vec<(&str, &[Finding])> = texts
            .iter()
            .zip(&results)
            .map(|(t, fs)| (t.as_deref().unwrap_or_default(), fs.as_slice()))
            .collect();
        finding_columns(py, &d, &records)?;
        Ok(d)
    }

    /// Screens files or directories as ``beian scan`` reads them (text,
    /// JSONL, CSV, TSV, Parquet; gzip and zstd), in parallel with the GIL
    /// released. Returns ``(findings, errors, summary)``: finding dicts with
    /// ``source`` (the path) and ``record`` (1-based line or row) added, in
    /// input order; error dicts (``source``, ``record``, ``offset``,
    /// ``message``) for records or inputs that could not be read; and one
    /// summary dict per input (``source``, ``records``, ``flagged``,
    /// ``findings``, ``errors``). With ``columns=True`` the findings are
    /// columns instead, as ``scan_columns`` gives them, with ``source`` and
    /// ``record`` first (no ``row``).
    #[pyo3(signature = (paths, field = None, input_format = None, threads = None, *, columns = false))]
    fn scan_files<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
        field: Option<String>,
        input_format: Option<String>,
        threads: Option<usize>,
        columns: bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let forced = match input_format.as_deref() {
            None => None,
            Some(f) => Some(InputFormat::from_name(f).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "input_format `{f}`: one of text, jsonl, csv, tsv, parquet"
                ))
            })?),
        };
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let inputs =
            expand_inputs(&names, forced).map_err(|e| PyOSError::new_err(e.to_string()))?;
        let threads = threads.unwrap_or_else(|| self.cfg.threads()).max(1);
        let cfg = PipelineConfig {
            max_record_bytes: self.cfg.max_record_bytes,
            ..PipelineConfig::with_threads(threads)
        };
        let fields = FieldSpec { field, group: None };
        let engine = &self.engine;
        type Row = (u32, u64, String, Vec<Finding>);
        type Errs = Vec<(u32, u64, u64, String)>;
        // Per input: records, flagged, findings, errors.
        let mut counts = vec![[0u64; 4]; inputs.len()];
        let (rows, errors): (Vec<Row>, Errs) = py.detach(|| {
            let mut rows = Vec::new();
            let mut errors = Vec::new();
            pipeline::run(engine, &inputs, &fields, &cfg, &mut |o| {
                match o {
                    Out::Rec(s) => {
                        let c = &mut counts[s.rec.source as usize];
                        c[0] += 1;
                        if !s.findings.is_empty() {
                            c[1] += 1;
                            c[2] += s.findings.len() as u64;
                            rows.push((
                                s.rec.source,
                                s.rec.number,
                                s.rec.text.to_owned(),
                                s.findings,
                            ));
                        }
                    }
                    Out::Err(e) => {
                        counts[e.source as usize][3] += 1;
                        errors.push((e.source, e.number, e.offset, e.message));
                    }
                    Out::Warn(_) => {}
                }
                true
            });
            (rows, errors)
        });
        let _gc = GcPaused::new(py)?;
        let out = if columns {
            let d = PyDict::new(py);
            let mut strings = Strings::new(py);
            let each = || rows.iter().flat_map(|r| std::iter::repeat_n(r, r.3.len()));
            let sources = each().map(|r| Some(inputs[r.0 as usize].name.as_str()));
            d.set_item("source", strings.list(sources)?)?;
            d.set_item("record", each().map(|r| r.1).collect::<Vec<_>>())?;
            let records: Vec<(&str, &[Finding])> = rows
                .iter()
                .map(|r| (r.2.as_str(), r.3.as_slice()))
                .collect();
            finding_columns(py, &d, &records)?;
            d.into_any()
        } else {
            let out = PyList::empty(py);
            for (src, number, text, f) in &rows {
                for d in findings_to_py(py, text, f)?.iter() {
                    let d = d.cast_into::<PyDict>()?;
                    d.set_item("source", &inputs[*src as usize].name)?;
                    d.set_item("record", *number)?;
                    out.append(d)?;
                }
            }
            out.into_any()
        };
        let errs = PyList::empty(py);
        for (src, number, offset, message) in errors {
            let d = PyDict::new(py);
            d.set_item("source", &inputs[src as usize].name)?;
            d.set_item("record", number)?;
            d.set_item("offset", offset)?;
            d.set_item("message", message)?;
            errs.append(d)?;
        }
        let summary = PyList::empty(py);
        for (spec, c) in inputs.iter().zip(&counts) {
            let d = PyDict::new(py);
            d.set_item("source", &spec.name)?;
            d.set_item("records", c[0])?;
            d.set_item("flagged", c[1])?;
            d.set_item("findings", c[2])?;
            d.set_item("errors", c[3])?;
            summary.append(d)?;
        }
        PyTuple::new(py, [out, errs.into_any(), summary.into_any()])
    }

    /// Writes this screen's lexicons as a compiled lexicon (what
    /// ``beian lexicon compile`` writes): ``Screen([path], **same options)``
    /// then loads in milliseconds.
    fn save_compiled(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let engine = &self.engine;
        let bytes = py.detach(|| engine.to_compiled());
        std::fs::write(&path, bytes)
            .map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))
    }

    /// The options this screen was built with (constructor keywords).
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.cfg.to_dict(py)
    }

    /// Counts from building: lexicon lines, entries, patterns, memory.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(self.engine.stats())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        json_to_py(py, &v)
    }

    /// Pickles by config (lexicon paths and options), or, when built with
    /// ``portable=True``, by config and the compiled lexicon's bytes.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let m = py.import("beian._beian")?;
        if self.cfg.portable {
            let engine = &self.engine;
            let bytes = py.detach(|| engine.to_compiled());
            let args = PyTuple::new(
                py,
                [
                    self.cfg.to_dict(py)?.into_any(),
                    PyBytes::new(py, &bytes).into_any(),
                ],
            )?;
            return PyTuple::new(py, [m.getattr("_screen_from_compiled")?, args.into_any()]);
        }
        let args = PyTuple::new(py, [self.cfg.to_dict(py)?])?;
        PyTuple::new(py, [m.getattr("_screen_from_config")?, args.into_any()])
    }

    fn __repr__(&self) -> String {
        format!(
            "Screen(lexicons={:?}, entries={}, patterns={})",
            self.cfg
                .lexicons
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>(),
            self.engine.stats().entries,
            self.engine.stats().patterns
        )
    }
}

/// The risk classifier trained by ``beian judge train``.
///
/// ``Judge(model, threshold=None)`` loads a model file; ``predict(text)``
/// returns ``{"label", "score", "flagged"}`` as ``beian judge predict``
/// does (``score`` is the probability of "not safe"; ``flagged`` is
/// ``score >= threshold``, the model's calibrated threshold by default).
/// Pickles by its model path and threshold.
#[pyclass(frozen, module = "beian._beian")]
struct Judge {
    model: Arc<beian_judge::Model>,
    path: PathBuf,
    threshold: f32,
    given_threshold: Option<f32>,
}

impl Judge {
    fn verdict<'py>(
        &self,
        py: Python<'py>,
        v: beian_judge::Verdict,
    ) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let label = self
            .model
            .labels()
            .get(v.label)
            .cloned()
            .unwrap_or_default();
        d.set_item("label", label)?;
        d.set_item("score", v.score)?;
        d.set_item("flagged", v.score >= self.threshold)?;
        Ok(d)
    }
}

#[pymethods]
impl Judge {
    #[new]
    #[pyo3(signature = (model, threshold = None))]
    fn new(py: Python<'_>, model: PathBuf, threshold: Option<f32>) -> PyResult<Judge> {
        if let Some(t) = threshold
            && !(0.0..=1.0).contains(&t)
        {
            return Err(PyValueError::new_err(format!(
                "threshold {t}: must be between 0 and 1"
            )));
        }
        // Shared with a Judge of the same model file, as Screens share
        // their engines (Ray unpickles one per task).
        let m = py
            .detach(|| {
                let key =
                    cache::Key::files("judge model".into(), std::slice::from_ref(&model), &[]);
                cache::engine(key, || beian_judge::Model::load(&model))
            })
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Judge {
            threshold: threshold.unwrap_or_else(|| m.threshold()),
            model: m,
            path: model,
            given_threshold: threshold,
        })
    }

    /// The verdict on one text: ``{"label", "score", "flagged"}``; ``None``
    /// for a missing value (``None``, NaN, ``pandas.NA``).
    fn predict<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let Some(owned) = text_of(text, &|| "text".to_owned())? else {
            return Ok(py.None().into_bound(py));
        };
        let model = &self.model;
        let v = py.detach(|| model.predict(&owned));
        Ok(self.verdict(py, v)?.into_any())
    }

    /// Verdicts on many texts (as ``Screen.scan_batch`` takes them), in
    /// order, in parallel with the GIL released; ``None`` for a missing cell.
    #[pyo3(signature = (texts, threads = None))]
    fn predict_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let cells = texts_of(texts)?;
        let texts: Vec<&str> = cells.iter().flatten().map(String::as_str).collect();
        let threads = threads.unwrap_or_else(default_threads).max(1);
        let model = &self.model;
        let verdicts: Vec<beian_judge::Verdict> = py.detach(|| {
            let per = texts.len().div_ceil(threads).max(1);
            std::thread::scope(|s| {
                let hs: Vec<_> = texts
                    .chunks(per)
                    .map(|part| {
                        s.spawn(move || {
                            let mut sc = beian_judge::Scratch::default();
                            part.iter()
                                .map(|t| model.predict_with(t, &mut sc))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                hs.into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        });
        if verdicts.len() != texts.len() {
            return Err(PyValueError::new_err("a classifier thread failed"));
        }
        let list = PyList::empty(py);
        let mut verdicts = verdicts.into_iter();
        // One verdict per present cell (the lengths were checked above).
        for cell in &cells {
            match cell.as_ref().and_then(|_| verdicts.next()) {
                Some(v) => list.append(self.verdict(py, v)?)?,
                None => list.append(py.None())?,
            }
        }
        Ok(list)
    }

    /// The model's labels.
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.model.labels().to_vec()
    }

    /// The threshold in use (the model's calibrated one unless given).
    #[getter]
    fn threshold(&self) -> f32 {
        self.threshold
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let cls = py.import("beian._beian")?.getattr("Judge")?;
        let args = PyTuple::new(
            py,
            [
                self.path.display().to_string().into_bound_py_any(py)?,
                self.given_threshold.into_bound_py_any(py)?,
            ],
        )?;
        PyTuple::new(py, [cls, args.into_any()])
    }
}

/// Rebuilds a `Screen` from `Screen.config()` (what unpickling calls).
#[pyfunction]
fn _screen_from_config(py: Python<'_>, config: Bound<'_, PyDict>) -> PyResult<Py<Screen>> {
    let cls = py.import("beian._beian")?.getattr("Screen")?;
    let lex = config
        .get_item("lexicons")?
        .ok_or_else(|| PyValueError::new_err("config without `lexicons`"))?;
    let kw = PyDict::new(py);
    for (k, v) in config.iter() {
        if k.extract::<String>()? != "lexicons" {
            kw.set_item(k, v)?;
        }
    }
    let obj = cls.call((lex,), Some(&kw))?;
    Ok(obj.cast_into::<Screen>()?.unbind())
}

/// Rebuilds a portable `Screen` from its config and compiled lexicon (what
/// unpickling calls): no lexicon path is read.
#[pyfunction]
fn _screen_from_compiled(
    py: Python<'_>,
    config: Bound<'_, PyDict>,
    data: &[u8],
) -> PyResult<Screen> {
    let cfg = Config::from_dict(&config)?;
    let engine = py.detach(|| cfg.engine_from(data))?;
    Ok(Screen { engine, cfg })
}

/// The threads `scan_batch` and `predict_batch` use when not told (for
/// tests).
#[pyfunction]
fn _default_threads() -> usize {
    default_threads()
}

/// The engines (and judge models) this process holds for reuse:
/// ``{"hits", "misses", "engines", "capacity"}``.
#[pyfunction]
fn engine_cache_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let (hits, misses, engines) = cache::info();
    let d = PyDict::new(py);
    d.set_item("hits", hits)?;
    d.set_item("misses", misses)?;
    d.set_item("engines", engines)?;
    d.set_item("capacity", cache::CAPACITY)?;
    Ok(d)
}

/// Drops the engines held for reuse (a ``Screen`` keeps its own) and zeroes
/// the counts.
#[pyfunction]
fn clear_engine_cache() {
    cache::clear();
}

/// beian's screening engine.
#[pymodule]
fn _beian(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Screen>()?;
    m.add_class::<Judge>()?;
    m.add_function(wrap_pyfunction!(_screen_from_config, m)?)?;
    m.add_function(wrap_pyfunction!(_screen_from_compiled, m)?)?;
    m.add_function(wrap_pyfunction!(engine_cache_info, m)?)?;
    m.add_function(wrap_pyfunction!(_default_threads, m)?)?;
    m.add_function(wrap_pyfunction!(clear_engine_cache, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_MAX_RECORD_BYTES", DEFAULT_MAX_RECORD_BYTES)?;
    Ok(())
}
