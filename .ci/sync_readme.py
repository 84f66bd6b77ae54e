"""Render README.md from nbs/index.ipynb without Quarto, or check that it is current (`--check`).

Hidden cells (`#| hide`) and cell directives are dropped, code becomes fenced Python, text outputs become fenced
blocks, and image links relative to `nbs/` are rewritten relative to the repository root.
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NB, README = ROOT / "nbs" / "index.ipynb", ROOT / "README.md"
HEADER = "<!-- generated from nbs/index.ipynb by .ci/sync_readme.py: edit the notebook, not this file -->\n"


def _src(cell): return "".join(cell["source"])


def _directives(src): return [l for l in src.splitlines() if l.startswith("#|")]


def _fix_links(md):
    "Links relative to nbs/ must be relative to the repository root in README.md."
    return re.sub(r"(!?\[[^\]]*\]\()(?!https?:|/|#)([^)\s]+)", lambda m: m[1] + "nbs/" + m[2], md)


def _output_text(out):
    if out["output_type"] == "stream": return "".join(out["text"])
    data = out.get("data", {})
    if "text/markdown" in data: return None
    return "".join(data.get("text/plain", "")) or None


def render() -> str:
    nb = json.loads(NB.read_text())
    parts = []
    for cell in nb["cells"]:
        src = _src(cell)
        if any(re.match(r"#\|\s*hide\b", d) for d in _directives(src)): continue
        if cell["cell_type"] == "markdown":
            parts.append(_fix_links(src.strip()))
            continue
        code = "\n".join(l for l in src.splitlines() if not l.startswith("#|")).strip()
        if code: parts.append(f"```python\n{code}\n```")
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/markdown" in data: parts.append("".join(data["text/markdown"]).strip()); continue
            text = _output_text(out)
            if text: parts.append(f"```\n{text.rstrip()}\n```")
    return HEADER + "\n" + "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        if not README.exists() or README.read_text() != text:
            sys.exit("README.md is out of date with nbs/index.ipynb: run `python .ci/sync_readme.py`")
        print("README.md is in sync with nbs/index.ipynb")
    else:
        README.write_text(text)
