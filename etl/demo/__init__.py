"""Demo data through the front door: fictional members' submission files, loaded by the real ETL.

`build_demo` is the entry point (command `observatoire demo`); docs/DEMO.md explains the model.
"""

from etl.demo.build import DemoSummary, build_demo

__all__ = ["DemoSummary", "build_demo"]
