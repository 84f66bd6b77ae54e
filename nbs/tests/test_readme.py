"""Every code block of README.md works as printed, run from the repository root in a fresh interpreter.

- **Python blocks** are run with `python -c`, each in its own new process. The README comes from a notebook, so a
  block's last expression is shown the way the notebook shows it (its `repr`); where the README prints output after
  the block, the output must be the same.
- **Shell blocks** install, serve or train, so they are not run. Each command in them must exist, answer `--help`
  (with its subcommand: `pip install --help`), know every long option the README gives it, and every path the README
  passes it (`nbs/demo.ipynb`) must exist in the repository.
"""
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
SEPARATORS = {"&&", "||", ";", "|", "&"}

# Runs a block as a notebook cell: every statement, then the value of a final expression, printed as its repr.
CELL = """
import ast, sys
tree = ast.parse(sys.stdin.read(), "README.md")
last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
ns = {"__name__": "__main__"}
exec(compile(tree, "README.md", "exec"), ns)
if last is not None:
    value = eval(compile(ast.Expression(last.value), "README.md", "eval"), ns)
    if value is not None: print(repr(value))
"""


def readme_blocks(text: str) -> list:
    "`(language, code, expected output or None, line)` for every fenced block; an output block belongs to the block before it."
    found = [(m[1], m[2], text.count("\n", 0, m.start()) + 1, m.start(), m.end()) for m in FENCE.finditer(text)]
    blocks, i = [], 0
    while i < len(found):
        lang, code, line, _, end = found[i]
        nxt = found[i + 1] if i + 1 < len(found) else None
        if lang == "python" and nxt and nxt[0] == "" and not text[end:nxt[3]].strip():
            blocks.append((lang, code, nxt[1], line)); i += 2
        else:
            blocks.append((lang, code, None, line)); i += 1
    return blocks


def shell_commands(script: str) -> list:
    "The simple commands of a shell script, each as a list of words: comments dropped, split at `&&`, `|`, `;`, ..."
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = []
        for tok in list(lexer) + [";"]:
            if tok in SEPARATORS:
                if words: commands.append(words)
                words = []
            else: words.append(tok)
    return [c[next(i for i, w in enumerate(c) if not re.match(r"^\w+=", w)):] for c in commands]   # drop VAR=value


def help_command(words: list) -> list:
    "The command that shows the help for `words`: the program, its subcommands (`pip install`), then `--help`."
    subs = []
    for w in words[1:]:
        if not re.fullmatch(r"[a-z][a-z-]*", w) or (ROOT / w).exists(): break
        subs.append(w)
    return [words[0], *subs, "--help"]


def test_helpers():
    text = "a\n```python\nx = 1\nx\n```\n\n```\n1\n```\n```sh\nls\n```\n"
    assert readme_blocks(text) == [("python", "x = 1\nx\n", "1\n", 2), ("sh", "ls\n", None, 10)]
    assert shell_commands('pip install -e ".[dev]" && pytest nbs   # tests\nA=1 voila x --port=1 | cat') == \
        [["pip", "install", "-e", ".[dev]"], ["pytest", "nbs"], ["voila", "x", "--port=1"], ["cat"]]
    assert help_command(["pip", "install", "-e", "."]) == ["pip", "install", "--help"]
    assert help_command(["pytest", "nbs", "-v"]) == ["pytest", "--help"]
    assert help_command(["voila", "nbs/demo.ipynb"]) == ["voila", "--help"]


BLOCKS = readme_blocks(README.read_text())
PYTHON = [(code, out) for lang, code, out, _ in BLOCKS if lang == "python"]
SHELL = [(cmd, line) for lang, code, _, line in BLOCKS if lang in ("sh", "bash", "shell") for cmd in shell_commands(code)]


def test_readme_has_blocks():
    assert PYTHON and SHELL, "README.md has no Python or no shell blocks: did its format change?"
    assert {lang for lang, *_ in BLOCKS} <= {"python", "sh", ""}, "a code block in README.md has a language this test does not check"


@pytest.mark.parametrize("code,expected", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_block(code, expected):
    r = subprocess.run([sys.executable, "-c", CELL], input=code, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"README block fails as printed:\n{code}\n{r.stderr[-3000:]}"
    if expected is not None:
        assert r.stdout.rstrip() == expected.rstrip(), f"README shows\n{expected}\nthe block prints\n{r.stdout}"


@pytest.mark.parametrize("words,line", SHELL, ids=[" ".join(w)[:60] for w, _ in SHELL])
def test_shell_command(words, line):
    where = f"README.md line {line}: `{' '.join(words)}`"
    assert shutil.which(words[0]), f"{where}: command {words[0]!r} not found"
    cmd = help_command(words)
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    help_text = r.stdout + r.stderr
    assert r.returncode == 0, f"{where}: `{' '.join(cmd)}` fails:\n{help_text[-2000:]}"
    for w in words[1:]:
        if w.startswith("--"):
            assert w.split("=")[0] in help_text, f"{where}: `{' '.join(cmd)}` does not list {w.split('=')[0]}"
        elif "/" in w and not re.match(r"^\w+://", w):
            assert (ROOT / w).exists(), f"{where}: no {w} in the repository"
