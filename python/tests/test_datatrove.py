"""The datatrove adapter (beian.datatrove.BeianFilter) against Screen.scan.

Skipped when datatrove is not installed: .ci/python.sh does not install it
(it is optional; `pip install datatrove` to run this test)."""

import pickle

import pytest

pytest.importorskip("datatrove", reason="optional: pip install datatrove")

from datatrove.data import Document  # noqa: E402

from beian.datatrove import BeianFilter  # noqa: E402


def test_filter_drops_flagged_documents_and_tags_metadata(screen, konsheng, novels):
    first = sorted(novels.iterdir())[0]
    lines = [t for t in first.read_text(encoding="utf-8").splitlines() if t.strip()][:400]
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(lines)]
    step = BeianFilter([konsheng], batch_size=64)
    kept = list(step.run(iter(docs)))
    want = [d for d in docs if not screen.scan(d.text)]
    assert [d.id for d in kept] == [d.id for d in want]
    assert 0 < len(kept) < len(docs)
    for d in docs:
        found = screen.scan(d.text)
        assert d.metadata["beian_findings"] == len(found)
        assert d.metadata["beian_risks"] == sorted({f["risk"] for f in found})
    # keep_flagged tags without dropping, one document at a time.
    tagger = BeianFilter([konsheng], keep_flagged=True)
    assert len(list(tagger.run(iter(Document(text=d.text, id=d.id) for d in docs)))) == len(docs)


def test_filter_pickles_without_its_engine(konsheng):
    step = BeianFilter([konsheng], min_term_chars=1)
    step.screen  # built
    again = pickle.loads(pickle.dumps(step))
    assert again._screen is None
    risk = again.screen.scan("法轮功")[0]["risk"]
    assert again.filter(Document(text="法轮功", id="x")) == (False, "beian:" + risk)
