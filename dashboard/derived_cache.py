"""What pages compute from query results, cached per version of the public file.

`data.run` caches each query's answer; the Python work done on those answers (funnel limits,
flags, tooltips' figures…) was repeated at every script run, for every visitor, although it is the
same for all of them until the next publication. A loader whose result depends only on its
arguments and on the published data (no language, no session, no clock) is decorated with
`@per_data_version`: its result is then kept per (loader, arguments, public file, version), like a
query's, and a new publication gives new keys (bench/README.md, « Many visitors at once »).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import streamlit as st

from dashboard import data

P = ParamSpec("P")
R = TypeVar("R")


@st.cache_data(max_entries=512, show_spinner=False)
def _call(
    name: str,
    args: tuple,
    kwargs: tuple,
    path: str,
    version: tuple[int, int, int],
    _loader: Callable,
):
    # `name`, the arguments and the file's version make the key; `_loader` (not hashed: leading
    # underscore) is the function that `name` names.
    return _loader(*args, **dict(kwargs))


def per_data_version(loader: Callable[P, R]) -> Callable[P, R]:
    """`loader`'s result kept until the public file changes (see the module docstring).

    Its arguments must be hashable by Streamlit (numbers, strings, tuples); the caller gets a copy,
    as from `data.run`.
    """
    name = f"{loader.__module__}.{loader.__qualname__}"

    @functools.wraps(loader)
    def cached(*args: P.args, **kwargs: P.kwargs) -> R:
        path, version = data.public_version()
        return _call(
            name=name,
            args=args,
            kwargs=tuple(sorted(kwargs.items())),
            path=path,
            version=version,
            _loader=loader,
        )

    return cached
