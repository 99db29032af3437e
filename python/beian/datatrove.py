"""A datatrove filter that screens documents with beian.

Needs ``pip install datatrove`` (not a dependency of this package)::

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from beian.datatrove import BeianFilter

    LocalPipelineExecutor(pipeline=[
        JsonlReader("corpus/"),
        BeianFilter(["lexicons/konsheng"], exclusion_writer=JsonlWriter("flagged/")),
        JsonlWriter("clean/"),
    ], tasks=16).run()

A document with any finding is dropped (reason ``beian:<risk>`` of its first
finding) unless ``keep_flagged=True``; either way its metadata gains
``beian_findings`` (count) and ``beian_risks`` (sorted risk codes). Batches
(``batch_size``, default 256) are screened with ``Screen.scan_batch``, in
parallel with the GIL released. Options are those of :class:`beian.Screen`.
"""

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from . import Screen


class BeianFilter(BaseFilter):
    """Drops (or tags) documents with beian findings; see the module docs."""

    name = "beian screen"

    def __init__(self, lexicons, allow=None, keep_flagged=False, exclusion_writer=None, batch_size=256, **options):
        super().__init__(exclusion_writer=exclusion_writer, batch_size=batch_size)
        self.lexicons = [str(p) for p in lexicons]
        self.allow = [str(p) for p in allow or []]
        self.options = options
        self.keep_flagged = keep_flagged
        self._screen = None

    @property
    def screen(self) -> Screen:
        # Built where the filter runs (datatrove pickles steps to its workers).
        if self._screen is None:
            self._screen = Screen(self.lexicons, allow=self.allow, **self.options)
        return self._screen

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_screen"] = None
        return state

    def _decide(self, doc: Document, findings: list) -> "bool | tuple[bool, str]":
        doc.metadata["beian_findings"] = len(findings)
        doc.metadata["beian_risks"] = sorted({f["risk"] for f in findings})
        if findings and not self.keep_flagged:
            return False, "beian:" + findings[0]["risk"]
        return True

    def filter(self, doc: Document) -> "bool | tuple[bool, str]":
        return self._decide(doc, self.screen.scan(doc.text))

    def filter_batch(self, batch: list) -> list:
        found = self.screen.scan_batch([d.text for d in batch])
        return [self._decide(d, f) for d, f in zip(batch, found)]
