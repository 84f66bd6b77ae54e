"""Saved outputs that match the code: every `show_doc` output saved in a notebook documents what the package defines now.

A notebook's saved outputs are what the documentation site and a reader on GitHub see. `nbdev_export` and
`nbdev_clean` keep code and package in step, but a `show_doc` output saved before a signature or docstring changed
goes on documenting the old one. This check renders every `show_doc(...)` cell again against the live package (in the
namespace of the notebook's `default_exp` module) and compares it with the output saved in the notebook: the
signature (parameters, types, defaults, and the parameters' comments where both sides show them) and the docstring.
The Markdown output says the same with a `[source]` link whose line number moves with every edit above the
definition, so the plain text is what is compared. Re-execute and save a notebook whose check fails:
`jupyter nbconvert --to notebook --execute --inplace nbs/NAME.ipynb`, then `nbdev_clean`.
"""
import importlib
import json
import re
from pathlib import Path

import pytest
from nbdev.showdoc import show_doc

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "nbs").glob("*.ipynb"))
SHOW_DOC = re.compile(r"^\s*show_doc\(")


def default_module(nb: dict) -> str | None:
    "The module a notebook exports to (`#| default_exp NAME`), as `minivit.NAME`; None when it exports nothing."
    for cell in nb["cells"]:
        found = re.search(r"^#\|\s*default_exp\s+(\S+)", "".join(cell["source"]), re.M)
        if cell["cell_type"] == "code" and found: return f"minivit.{found[1]}"
    return None


def show_doc_cells(nb: dict) -> list:
    "`(cell number, source, saved outputs {mime: text})` of every code cell that calls `show_doc`."
    out = []
    for i, cell in enumerate(nb["cells"]):
        src = "".join(cell["source"]).strip()
        if cell["cell_type"] != "code" or not SHOW_DOC.match(src): continue
        saved = {}
        for o in cell.get("outputs", []):
            for mime in ("text/plain", "text/markdown"):
                if mime in o.get("data", {}): saved[mime] = "".join(o["data"][mime])
        out.append((i, src, saved))
    return out


def signature_and_doc(text: str, module: str, comments: bool) -> tuple:
    """A plain-text `show_doc` output as `(signature, docstring)`, without what may differ between a notebook and the
    package: where a type was defined (`__main__.Shown` in the notebook), the layout of the parameters, and, unless
    `comments`, the parameters' comments (show_doc reads them from the package's source, not always in a notebook)."""
    text = re.sub(rf"\b(__main__|{re.escape(module)})\.", "", text)
    sig, _, doc = text.partition('"""')
    if not comments: sig = re.sub(r"#[^\n]*", "", sig)
    sig = re.sub(r"\(\s+", "(", re.sub(r",?\s*\)", ")", " ".join(sig.split())))
    return sig, doc.strip()


def differs(saved: str, now: str, module: str) -> bool:
    "Whether a saved plain-text show_doc output documents another signature or docstring than the code's."
    comments = "#" in saved.partition('"""')[0] and "#" in now.partition('"""')[0]
    return signature_and_doc(saved, module, comments) != signature_and_doc(now, module, comments)


def render(module: str, src: str) -> dict:
    "What `src` (a `show_doc(...)` call) shows now, evaluated among the names of `module`, as the notebook saves it."
    ns = {**vars(importlib.import_module(module)), "show_doc": show_doc}
    doc = eval(src, ns)
    return {"text/plain": repr(doc), "text/markdown": doc._repr_markdown_()}


def stale_show_docs(path: Path) -> list:
    "One line for each `show_doc` cell of the notebook at `path` whose saved output is missing or differs from the code's."
    nb = json.loads(Path(path).read_text())
    module, problems = default_module(nb), []
    for i, src, saved in show_doc_cells(nb):
        where = f"{Path(path).name} cell {i} `{src}`"
        if module is None:
            problems.append(f"{where}: the notebook has no default_exp module to look the name up in"); continue
        if not saved:
            problems.append(f"{where}: no saved output"); continue
        try: now = render(module, src)
        except Exception as e:
            problems.append(f"{where}: cannot render it from {module} ({type(e).__name__}: {e})"); continue
        if "text/plain" not in saved:
            problems.append(f"{where}: no saved plain-text output to compare"); continue
        if differs(saved["text/plain"], now["text/plain"], module):
            problems.append(f"{where}: the saved output documents\n{saved['text/plain']}\nthe code now gives\n{now['text/plain']}")
    return problems


WITH_SHOW_DOC = [p for p in NOTEBOOKS if show_doc_cells(json.loads(p.read_text()))]


def test_notebooks_have_show_doc_cells():
    assert len(WITH_SHOW_DOC) >= 10, "fewer notebooks with show_doc cells than expected: did the cell format change?"


@pytest.mark.parametrize("path", WITH_SHOW_DOC, ids=[p.stem for p in WITH_SHOW_DOC])
def test_saved_show_doc_outputs_match_the_code(path):
    problems = stale_show_docs(path)
    assert not problems, ("saved show_doc output out of date; re-execute and save the notebook "
                          f"(jupyter nbconvert --to notebook --execute --inplace nbs/{path.name}, then nbdev_clean):\n"
                          + "\n\n".join(problems))


def notebook(module: str, call: str, outputs: dict) -> dict:
    "A two-cell notebook exporting to `module`, with the cell `call` and its saved `outputs` {mime: text}."
    code = lambda src, outs: {"cell_type": "code", "metadata": {}, "source": src, "outputs": outs, "execution_count": None}
    saved = [{"output_type": "execute_result", "metadata": {}, "execution_count": None, "data": outputs}] if outputs else []
    return {"cells": [code(f"#| default_exp {module}", []), code(call, saved)], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_check_catches_a_planted_stale_output(tmp_path):
    """A saved show_doc output that documents an argument or a docstring the code no longer has fails the check, and so
    does a show_doc cell without output; how a notebook renders the same signature does not."""
    call, path = "show_doc(read_digit)", tmp_path / "nb.ipynb"
    current = render("minivit.inference", call)
    def problems(plain):
        outputs = {"text/plain": plain, "text/markdown": current["text/markdown"]} if plain else {}
        path.write_text(json.dumps(notebook("inference", call, outputs)))
        return stale_show_docs(path)
    plain = current["text/plain"]
    assert "max_pixels" in plain and "#" in plain                          # a parameter with a comment
    assert problems(plain) == []
    as_in_a_notebook = re.sub(r"\s*#[^\n]*", "", plain).replace("ndarray", "__main__.ndarray")
    assert problems(as_in_a_notebook) == []
    for stale in (plain.replace("path,", "path, mode:str='full',", 1),    # an argument that is gone
                  plain.replace("float32 digit", "float64 digit")):       # a docstring that changed
        assert stale != plain
        found = problems(stale)
        assert len(found) == 1 and found[0].startswith("nb.ipynb cell 1 `show_doc(read_digit)`: the saved output documents"), found
    assert problems(None) == ["nb.ipynb cell 1 `show_doc(read_digit)`: no saved output"]
