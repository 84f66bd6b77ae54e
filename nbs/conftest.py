"""Run every notebook in `nbs/` as one pytest item, exactly as `nbdev_test` does.

Each notebook is executed by nbdev's own `test_nb` with the skip flags from `settings.ini` (`tst_flags`), so
`pytest nbs` and `nbdev_test` agree; `--flags slow` forces flagged cells to run, like `nbdev_test --flags slow`.
Unlike `nbdev_test`, pytest names each notebook as it starts, and each result line here ends with the notebook's time.
"""
import os
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_MODE", "disabled")   # tests never talk to Weights & Biases


def pytest_addoption(parser):
    parser.addoption("--flags", default="", help="space-separated nbdev test flags to run (e.g. 'slow')")


def pytest_report_teststatus(report, config):
    "Each notebook's result comes with its time: `nbs/05_train.ipynb . (41 s)`, with `-v` `PASSED (41 s)`."
    if report.when != "call" or not report.nodeid.split("::")[0].endswith(".ipynb"): return None
    if report.outcome not in ("passed", "failed"): return None
    took = f"({report.duration:.1f} s)" if report.duration < 10 else f"({report.duration:.0f} s)"
    return report.outcome, f"{'.' if report.passed else 'F'} {took}", f"{report.outcome.upper()} {took}"


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".ipynb" and not file_path.name.startswith("_") and ".ipynb_checkpoints" not in file_path.parts:
        return NotebookFile.from_parent(parent, path=file_path)


class NotebookFile(pytest.File):
    def collect(self):
        yield NotebookItem.from_parent(self, name=self.path.stem)


class NotebookError(Exception):
    pass


class NotebookItem(pytest.Item):
    def runtest(self):
        from nbdev.config import get_config
        from nbdev.test import test_nb
        cfg = get_config()
        force = self.config.getoption("flags").split()
        ok, _ = test_nb(Path(self.path).absolute(), skip_flags=cfg.tst_flags.split(), force_flags=force,
                        basepath=cfg.config_path)
        if not ok: raise NotebookError(f"notebook {self.path.name} failed (traceback above)")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, NotebookError): return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"notebook {self.path.name}"
