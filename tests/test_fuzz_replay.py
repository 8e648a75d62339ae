# SPDX-License-Identifier: MIT
"""Replay every committed fuzz corpus (and every crasher ever found) through
its target, built with gcc + ASan/UBSan and no libFuzzer (fuzz/build.sh)."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = sorted(d for d in os.listdir(os.path.join(ROOT, "fuzz", "corpus")))


@pytest.fixture(scope="module")
def built():
    r = subprocess.run([os.path.join(ROOT, "fuzz", "build.sh"), "replay"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    return r


@pytest.mark.parametrize("target", TARGETS)
def test_corpus_replays_clean(built, target):
    binary = os.path.join(ROOT, "fuzz", "build", target + "-replay")
    assert os.path.exists(binary), built.stdout + built.stderr
    corpus = os.path.join(ROOT, "fuzz", "corpus", target)
    r = subprocess.run([binary, corpus], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "inputs replayed" in r.stdout + r.stderr
    assert len(os.listdir(corpus)) > 0
