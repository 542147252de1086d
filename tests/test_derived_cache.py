"""dashboard/derived_cache.py: a loader decorated with `per_data_version` computes once per
(arguments, public file version), and again after a publication changes the version."""

from __future__ import annotations

import polars as pl
import pytest
import streamlit as st

from dashboard import data
from dashboard.derived_cache import per_data_version


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


def test_two_loaders_with_the_same_arguments_keep_their_own_results(version):
    @per_data_version
    def persons(year: int) -> int:
        return year * 2

    @per_data_version
    def members(year: int) -> int:
        return year * 3

    assert (persons(10), members(10), persons(10)) == (20, 30, 20)


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
