"""A non-editable install used from another directory: the package holds its code and data
(rules, 词谱); the model is found through POETGEN_MODEL, or the error says to set it."""

import os
import subprocess
import sys

import pytest
from conftest import REPO, finish


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> str:
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                           str(REPO)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"pip could not build the package here: {done.stderr.strip().splitlines()[-1:]}")
    return str(target)


def start(installed: str, cwd, *args, **env) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if k not in ("POETGEN_MODEL", "POETGEN_CORPUS")}
    environment.update(PYTHONPATH=installed, **env)
    return subprocess.Popen([sys.executable, "-m", "poetgen", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env=environment)


def run(installed: str, cwd, *args, **env) -> subprocess.CompletedProcess:
    return finish(start(installed, cwd, *args, **env))


@pytest.fixture(scope="module")
def writes(installed, tiny_corpus, tmp_path_factory):
    """`poetgen generate` from the installed copy in another directory, without a model and with
    POETGEN_MODEL (and POETGEN_CORPUS: a few hundred poems, read in a moment), both started at
    once: each test waits for its own."""
    from poetgen.defaults import DEFAULT_MODEL

    model = str(REPO / "models" / DEFAULT_MODEL)
    started = {"no model": start(installed, tmp_path_factory.mktemp("elsewhere"), "generate", "--form", "五绝",
                                 "--seed", "1"),
               "model": start(installed, tmp_path_factory.mktemp("elsewhere"), "generate", "--form", "五绝",
                              "--seed", "1", POETGEN_MODEL=model, POETGEN_CORPUS=str(tiny_corpus))}
    yield lambda name: finish(started[name])
    for proc in started.values():  # a test that failed early leaves its process behind
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_the_installed_copy_is_the_package_not_the_repository(installed, tmp_path):
    done = subprocess.run([sys.executable, "-c", "import poetgen; print(poetgen.__file__)"], capture_output=True,
                          text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": installed})
    assert done.stdout.strip().startswith(installed)


def test_without_a_model_it_says_what_to_set(writes):
    done = writes("no model")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "POETGEN_MODEL" in done.stderr and "Traceback" not in done.stderr


def test_with_poetgen_model_it_writes_checks_and_lists_tunes(installed, writes, tmp_path):
    done = writes("model")
    assert done.returncode == 0, done.stderr
    assert "合律" in done.stdout
    done = run(installed, tmp_path, "cipai", "浣溪沙")  # the 词谱 is package data
    assert done.returncode == 0 and "中平中仄仄平平" in done.stdout
