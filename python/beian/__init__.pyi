from ._beian import DEFAULT_MAX_RECORD_BYTES as DEFAULT_MAX_RECORD_BYTES
from ._beian import Screen as Screen
from ._beian import __version__ as __version__

FINDING_KEYS: tuple[str, ...]
from ._beian import Judge as Judge
from ._beian import clear_engine_cache as clear_engine_cache
from ._beian import engine_cache_info as engine_cache_info
