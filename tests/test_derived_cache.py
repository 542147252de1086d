"""dashboard/derived_cache.py: a loader decorated with `per_data_version` computes once per
(loader, arguments, public file version), again after a publication changes the version, and never
keeps a failure.

Every test counts the loader's calls: a decorator that cached nothing would call it at every run,
one that ignored the version would not call it again after a new release.
"""

from __future__ import annotations

import polars as pl
import pytest
import streamlit as st

from dashboard import data
from dashboard.derived_cache import per_data_version
from etl import release
from etl.paths import DB_ENV_VAR


@pytest.fixture
def version(monkeypatch):
    """The public file's version as the data module reports it, set by the test."""
    current = {"version": (1, 100, 1000)}
    monkeypatch.setattr(data, "public_version", lambda: ("/x/public.duckdb", current["version"]))
    st.cache_data.clear()
    yield current
    st.cache_data.clear()


def test_a_loader_runs_once_per_arguments_and_data_version(version):
    calls: list[tuple] = []

    @per_data_version
    def communes_of(theme: str, year: int) -> pl.DataFrame:
        calls.append((theme, year))
        return pl.DataFrame({"theme": [theme], "year": [year], "call": [len(calls)]})

    first = communes_of("alimentation", 2024)
    again = communes_of("alimentation", 2024)
    assert calls == [("alimentation", 2024)]  # the second visitor's run computed nothing
    assert again.equals(first) and first["call"].to_list() == [1]

    other = communes_of("logement", 2024)  # other arguments: computed
    assert other["theme"].to_list() == ["logement"] and len(calls) == 2

    version["version"] = (2, 200, 2000)  # a publication: the next run reads the new file
    after = communes_of("alimentation", 2024)
    assert len(calls) == 3 and after["call"].to_list() == [3]
    assert communes_of("alimentation", 2024)["call"].to_list() == [3]  # kept for the new version
    assert len(calls) == 3


def test_arguments_that_differ_never_share_a_result(version):
    """Positional values, keyword names and keyword values are all part of the key."""
    calls: list[tuple] = []

    @per_data_version
    def label(*parts: str, **options: str) -> str:
        calls.append((parts, options))
        return "/".join(parts) + "|" + ",".join(f"{k}={v}" for k, v in sorted(options.items()))

    # Each pair would give one answer to both if the key dropped a part of the call.
    assert label("ab") == "ab|"
    assert label("a", "b") == "a/b|"  # same letters, other split
    assert label("ab", langue="fr") == "ab|langue=fr"
    assert label("ab", langue="en") == "ab|langue=en"  # other keyword value
    assert label("ab", annee="fr") == "ab|annee=fr"  # same value, other keyword
    assert len(calls) == 5
    # The order keywords are written in does not matter: the same call, the cached answer.
    assert label("x", a="1", b="2") == label("x", b="2", a="1") == "x|a=1,b=2"
    assert len(calls) == 6


def test_two_loaders_with_the_same_arguments_keep_their_own_results(version):
    @per_data_version
    def persons(year: int) -> int:
        return year * 2

    @per_data_version
    def members(year: int) -> int:
        return year * 3

    assert (persons(10), members(10), persons(10)) == (20, 30, 20)


def test_a_failing_loader_is_not_cached(version):
    """An exception reaches the caller, and the next run computes again (a passing hiccup, e.g.
    a release switched during the run, must not stick until the next publication)."""
    calls: list[int] = []

    @per_data_version
    def gaps(year: int) -> int:
        calls.append(year)
        if len(calls) == 1:
            raise data.DatabaseUnavailable("fichier remplacé pendant la lecture")
        return year + 1

    with pytest.raises(data.DatabaseUnavailable, match="remplacé"):
        gaps(2024)
    assert gaps(2024) == 2025  # computed again, not the failure replayed
    assert gaps(2024) == 2025 and calls == [2024, 2024]  # then kept


def test_a_missing_database_is_not_cached(monkeypatch):
    """The loader is not reached when the file is missing; once it is back, it runs."""
    st.cache_data.clear()
    missing = {"now": True}

    def public_version():
        if missing["now"]:
            raise data.DatabaseUnavailable("introuvable")
        return "/x/public.duckdb", (1, 1, 1)

    monkeypatch.setattr(data, "public_version", public_version)

    @per_data_version
    def answer() -> int:
        return 42

    with pytest.raises(data.DatabaseUnavailable):
        answer()
    missing["now"] = False
    assert answer() == 42
    st.cache_data.clear()


def publish_release(name, content: bytes) -> None:
    """A new release of `name` whose public file holds `content`, switched in as the ETL does
    (the loader below never opens the file: only its version matters here)."""
    release_id = release.new_release_id()
    folder = name.parent / f".build-{release_id}"
    folder.mkdir()
    (folder / name.name).write_bytes(b"raw")
    (folder / release.public_file_name(name)).write_bytes(content)
    release.switch(name, folder, release_id)


def test_a_new_release_of_the_public_file_computes_again(tmp_path, monkeypatch):
    """Not a version set by hand: the one `data.public_version` reads from the release pointer."""
    name = tmp_path / "observatoire.duckdb"
    monkeypatch.setenv(DB_ENV_VAR, str(name))
    st.cache_data.clear()
    publish_release(name, b"first publication")
    calls: list[str] = []

    @per_data_version
    def summary(theme: str) -> str:
        calls.append(theme)
        return f"{theme} #{len(calls)}"

    assert summary("logement") == summary("logement") == "logement #1"
    publish_release(name, b"second publication")
    assert summary("logement") == "logement #2"  # the new release: computed again
    assert summary("logement") == "logement #2" and calls == ["logement", "logement"]
    st.cache_data.clear()
