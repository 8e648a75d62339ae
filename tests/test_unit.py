# SPDX-License-Identifier: MIT
"""Each C unit test (tests/unit/*.c) as its own pytest case."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNIT = os.environ.get("ISLO_UNIT") or os.path.join(ROOT, "build", "unit-tests")


def _names():
    if not os.path.exists(UNIT):
        return ["(unit-tests binary missing: run make unit)"]
    out = subprocess.run([UNIT, "--list"], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return out.stdout.split()


@pytest.mark.parametrize("name", _names())
def test_unit(name):
    assert os.path.exists(UNIT), "build/unit-tests is missing: run `make unit`"
    r = subprocess.run([UNIT, "--run", name], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS " + name in r.stdout
