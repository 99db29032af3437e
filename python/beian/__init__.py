"""beian: screen text and corpora against the 31 risks of GB/T 45654.

The engine is beian's Rust screening engine (the one behind ``beian scan``),
with the same lexicon loaders, defaults and options::

    import beian
    screen = beian.Screen(["lexicons/konsheng"], allow=["allow.txt"])
    screen.scan("一段文字")              # -> [{"start": ..., "end": ..., "risk": ...}, ...]
    screen.scan_batch(texts)             # parallel, GIL released
    findings, errors, summary = screen.scan_files(["corpus/"], field="text")

``Judge(model)`` applies a classifier trained by ``beian judge train``:
``judge.predict(text)`` -> ``{"label", "score", "flagged"}``.

``Screen`` and ``Judge`` pickle (by its lexicon paths and options), so Ray, Spark or
multiprocessing can ship it to workers; see ``examples/ray_scan.py``. A process
builds each screening engine once: ``Screen``s made or unpickled from the same
options and unchanged lexicon files share it (``engine_cache_info()``,
``clear_engine_cache()``).
"""

from ._beian import DEFAULT_MAX_RECORD_BYTES, Judge, Screen, __version__, clear_engine_cache, engine_cache_info

#: The keys of every finding dict (``severity``, ``action`` and ``via`` only
#: when present, as in ``beian scan``'s JSONL output).
FINDING_KEYS = (
    "start",
    "end",
    "char_start",
    "char_end",
    "matched",
    "term",
    "risk",
    "detector",
)

__all__ = [
    "Screen",
    "Judge",
    "FINDING_KEYS",
    "DEFAULT_MAX_RECORD_BYTES",
    "__version__",
    "engine_cache_info",
    "clear_engine_cache",
]
