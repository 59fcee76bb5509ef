"""``--require-gl`` (CI): a Qt/GL test of tests/app or tests/gl that is skipped, or not run, fails the session."""

from __future__ import annotations

INNER = ["-p", "require_gl", "-p", "no:xvfb", "-p", "no:cacheprovider", "-q"]


def _suite(pytester, gl_test: str) -> None:
    pytester.makepyfile(**{
        "core/test_engine.py": "def test_engine():\n    assert True\n",
        "gl/test_window.py": "import pytest\n\n" + gl_test,
    })  # fmt: skip


def test_a_skipped_gl_test_fails_the_session_only_when_gl_is_required(pytester):
    _suite(pytester, "def test_window():\n    pytest.skip('no X display')\n")
    assert pytester.runpytest(*INNER).ret == 0  # a laptop without a display: skipped, fine
    required = pytester.runpytest(*INNER, "--require-gl")
    assert required.ret == 1
    required.stdout.fnmatch_lines(["*--require-gl: 1 of 1 Qt/GL test(s) did not run:*", "*test_window*no X display*"])
    assert pytester.runpytest(*INNER, "--require-gl", "-k", "engine").ret == 0  # deselected on purpose: fine


def test_gl_tests_that_all_ran_pass_when_gl_is_required(pytester):
    _suite(pytester, "def test_window():\n    assert True\n")
    result = pytester.runpytest(*INNER, "--require-gl")
    assert result.ret == 0
    result.assert_outcomes(passed=2)


def test_the_display_fixture_fails_instead_of_skipping_when_gl_is_required(pytester, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    _suite(pytester, "def test_window(gl_display):\n    pass\n")
    pytester.runpytest(*INNER).assert_outcomes(passed=1, skipped=1)
    pytester.runpytest(*INNER, "--require-gl").assert_outcomes(passed=1, errors=1)
