"""Demo data through the front door: fictional members' submission files, loaded by the real ETL.

`build_demo` is the entry point (command `observatoire demo`); docs/DEMO.md explains the model.
The package imports nothing itself: a worker process writing a member's files imports
`etl.demo.member_files` alone, not `etl.demo.build` and the whole ETL behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from etl.demo.build import DemoSummary, build_demo

__all__ = ["DemoSummary", "build_demo"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from etl.demo import build

        return getattr(build, name)
    raise AttributeError(f"module 'etl.demo' has no attribute {name!r}")
