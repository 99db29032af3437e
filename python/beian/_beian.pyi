"""Type stubs of beian's compiled extension."""

from os import PathLike
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

_Path = Union[str, "PathLike[str]"]
Finding = Dict[str, Any]
# A text cell: str, UTF-8 bytes, or missing (None, NaN, pandas.NA).
Text = Union[str, bytes, None, float, Any]
# A column of cells: a list, tuple, NumPy array, pandas Series, PyArrow
# (chunked) array, or any iterable.
Texts = Union[Iterable[Text], Any]

__version__: str
DEFAULT_MAX_RECORD_BYTES: int

class Screen:
    """A screening engine built from keyword lexicons, allow-lists and options.

    Takes the same defaults and options as ``beian scan``. Immutable,
    thread-safe, picklable (by lexicon paths and options, or with
    ``portable=True`` by its compiled lexicon).
    """

    def __init__(
        self,
        lexicons: Union[_Path, Sequence[_Path]],
        allow: Union[_Path, Sequence[_Path], None] = None,
        *,
        risk: Optional[str] = None,
        detectors: Optional[Sequence[str]] = None,
        normalize: bool = True,
        pinyin: bool = True,
        initials: bool = False,
        traditional: bool = True,
        separators: bool = True,
        width: bool = True,
        case: bool = True,
        digits: bool = True,
        homophones: bool = False,
        min_term_chars: int = 2,
        max_skip: int = 3,
        max_record_bytes: int = ...,
        threads: Optional[int] = None,
        portable: bool = False,
    ) -> None:
        """``portable=True``: pickles carry the compiled lexicon (about 15 MB for konsheng), so
        workers need no lexicon files; by default pickles carry the paths."""
    def scan(self, text: Text) -> List[Finding]:
        """Findings in one text (``str`` or UTF-8 ``bytes``), ordered by
        position; ``[]`` for a missing value.

        Keys: ``start``, ``end`` (UTF-8 bytes), ``char_start``, ``char_end``
        (characters), ``matched``, ``term``, ``risk``, ``detector``; and
        ``severity``, ``action``, ``via`` when present.
        """
    def is_flagged(self, text: Text) -> bool:
        """Whether a text has any finding (a missing value has none)."""
    def scan_batch(self, texts: Texts, threads: Optional[int] = None) -> List[List[Finding]]:
        """Findings of each text, in order; screened in parallel with the GIL released.

        ``threads``: the constructor's, else ``OMP_NUM_THREADS`` (Ray sets it in a
        worker to the CPUs its task or actor holds), else all cores.

        ``texts``: a list, NumPy, pandas or PyArrow column, or any iterable;
        missing cells get ``[]``; another type is a ``TypeError`` naming the cell.
        """
    def scan_columns(self, texts: Texts, threads: Optional[int] = None) -> Dict[str, List[Any]]:
        """``scan_batch``'s findings as columns: a dict of equal-length lists, one
        item per finding, in order, no dict per finding.

        Keys: ``row`` (the index of the finding's text in ``texts``), ``start``,
        ``end``, ``char_start``, ``char_end``, ``matched``, ``term``, ``risk``,
        ``detector``, ``risks`` (a list each), ``severity``, ``action``, ``via``,
        ``weight`` (``None`` where a finding has none; ``via`` is ``None`` for
        plain text). ``pyarrow.table(screen.scan_columns(col))`` or
        ``pandas.DataFrame(...)`` takes it as it is.
        """
    def scan_files(
        self,
        paths: Sequence[_Path],
        field: Optional[str] = None,
        input_format: Optional[str] = None,
        threads: Optional[int] = None,
        *,
        columns: bool = False,
    ) -> Tuple[Any, List[Dict[str, Any]], List[Dict[str, Any]]]:
        """Screens files as ``beian scan`` reads them: (findings with
        ``source`` and ``record``, errors, one summary per input with
        ``source``, ``records``, ``flagged``, ``findings``, ``errors``).

        The findings are a list of dicts, or with ``columns=True`` a dict of
        columns (``source``, ``record``, then ``scan_columns``'s keys but
        ``row``)."""
    def save_compiled(self, path: _Path) -> None:
        """Writes the lexicons as a compiled lexicon (``beian lexicon compile``)."""
    def config(self) -> Dict[str, Any]:
        """The constructor keywords this screen was built with."""
    def stats(self) -> Dict[str, Any]:
        """Counts from building (entries, patterns, memory)."""

class Judge:
    """The risk classifier trained by ``beian judge train``."""

    def __init__(self, model: _Path, threshold: Optional[float] = None) -> None: ...
    def predict(self, text: Text) -> Optional[Dict[str, Any]]:
        """``{"label": str, "score": float, "flagged": bool}``, as ``beian judge predict``;
        ``None`` for a missing value."""
    def predict_batch(self, texts: Texts, threads: Optional[int] = None) -> List[Optional[Dict[str, Any]]]:
        """Verdicts in order, computed in parallel with the GIL released."""
    @property
    def labels(self) -> List[str]: ...
    @property
    def threshold(self) -> float: ...

def _screen_from_config(config: Dict[str, Any]) -> Screen: ...
def _default_threads() -> int: ...
def engine_cache_info() -> Dict[str, int]:
    """The engines this process holds for reuse: ``hits``, ``misses``,
    ``engines`` (held now) and ``capacity``. A ``Screen`` made or unpickled
    from the same options and unchanged lexicon files (same contents) as an
    earlier one shares its engine instead of building it again; a ``Judge``
    of an unchanged model file shares its model."""
def clear_engine_cache() -> None:
    """Drops the engines held for reuse (each ``Screen`` keeps its own) and
    zeroes the counts."""
