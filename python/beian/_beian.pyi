"""Type stubs of beian's compiled extension."""

from os import PathLike
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

_Path = Union[str, "PathLike[str]"]
Finding = Dict[str, Any]

__version__: str
DEFAULT_MAX_RECORD_BYTES: int

class Screen:
    """A screening engine built from keyword lexicons, allow-lists and options.

    Takes the same defaults and options as ``beian scan``. Immutable,
    thread-safe, picklable (by lexicon paths and options).
    """

    def __init__(
        self,
        lexicons: Sequence[_Path],
        allow: Optional[Sequence[_Path]] = None,
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
    ) -> None: ...
    def scan(self, text: str) -> List[Finding]:
        """Findings in one text, ordered by position.

        Keys: ``start``, ``end`` (UTF-8 bytes), ``char_start``, ``char_end``
        (characters), ``matched``, ``term``, ``risk``, ``detector``; and
        ``severity``, ``action``, ``via`` when present.
        """
    def is_flagged(self, text: str) -> bool:
        """Whether a text has any finding."""
    def scan_batch(self, texts: Sequence[str], threads: Optional[int] = None) -> List[List[Finding]]:
        """Findings of each text, in order; screened in parallel with the GIL released."""
    def scan_files(
        self,
        paths: Sequence[_Path],
        field: Optional[str] = None,
        input_format: Optional[str] = None,
        threads: Optional[int] = None,
    ) -> Tuple[List[Finding], List[Dict[str, Any]], List[Dict[str, Any]]]:
        """Screens files as ``beian scan`` reads them: (findings with
        ``source`` and ``record``, errors, one summary per input with
        ``source``, ``records``, ``flagged``, ``findings``, ``errors``)."""
    def save_compiled(self, path: _Path) -> None:
        """Writes the lexicons as a compiled lexicon (``beian lexicon compile``)."""
    def config(self) -> Dict[str, Any]:
        """The constructor keywords this screen was built with."""
    def stats(self) -> Dict[str, Any]:
        """Counts from building (entries, patterns, memory)."""

class Judge:
    """The risk classifier trained by ``beian judge train``."""

    def __init__(self, model: _Path, threshold: Optional[float] = None) -> None: ...
    def predict(self, text: str) -> Dict[str, Any]:
        """``{"label": str, "score": float, "flagged": bool}``, as ``beian judge predict``."""
    def predict_batch(self, texts: Sequence[str], threads: Optional[int] = None) -> List[Dict[str, Any]]:
        """Verdicts in order, computed in parallel with the GIL released."""
    @property
    def labels(self) -> List[str]: ...
    @property
    def threshold(self) -> float: ...

def _screen_from_config(config: Dict[str, Any]) -> Screen: ...
