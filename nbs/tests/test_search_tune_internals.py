"""Ray Tune's private parts that resuming a search relies on (`minivit.tune_internals`) still behave as relied on,
on the Ray release series they were tested on, which settings.ini pins."""
import configparser
import re
from pathlib import Path

import ray

from minivit.tune_internals import TESTED_RAY, check_tune_internals

ROOT = Path(__file__).resolve().parents[2]


def test_private_parts_behave_as_relied_on():
    check_tune_internals()      # raises one sentence naming what changed


def test_installed_ray_is_the_tested_series():
    assert ray.__version__.startswith(TESTED_RAY + '.'), (
        f"Ray {ray.__version__} is installed, but minivit.tune_internals was tested on Ray {TESTED_RAY}.x: run "
        "nbs/tests/test_search_tune_internals.py and nbs/tests/test_search_resume.py on it, then raise TESTED_RAY and "
        "the ray[tune] pin in settings.ini together")


def test_settings_pin_ray_to_the_tested_series():
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT / 'settings.ini')
    pin = next(r for r in cfg['DEFAULT']['dev_requirements'].split() if r.startswith('ray['))
    major, minor = map(int, TESTED_RAY.split('.'))
    assert pin == f'ray[tune]>={major}.{minor},<{major}.{minor + 1}', f"settings.ini pins {pin}, TESTED_RAY is {TESTED_RAY}"
