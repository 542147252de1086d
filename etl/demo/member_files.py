"""One member's submission files, written: the work each demo worker process does.

A module of its own so that a worker (etl/parallel.py) imports only the generator, Polars and
xlsxwriter, not the ETL that loads and publishes (etl/demo/build.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from etl.demo.activity import DemoContext, member_activity, member_months, period_start
from etl.demo.files import FileWriter, plan_files
from etl.demo.members import Member


def member_files(shared: tuple, member: Member) -> list[Path]:
    """Write `member`'s files; `shared` = (context, out_dir, today, theme labels)."""
    context, out_dir, today, labels = shared
    periods = started_periods(member, context, today)
    activity = member_activity(member, context)
    writer = FileWriter(
        member,
        context,
        activity.filter(activity["period_code"].is_in(periods)),
        out_dir,
        today,
        labels,
    )
    planned = plan_files(
        member, periods, recent_from=max(context.first_year, context.last_year - 1)
    )
    return [writer.write(file) for file in planned]


def started_periods(member: Member, context: DemoContext, today: dt.date) -> list[str]:
    """The member's periods, in order, that have begun (a period not begun cannot be declared)."""
    months = member_months(member, context.first_year, context.last_year)
    codes = months["period_code"].unique(maintain_order=True).to_list()
    return [code for code in codes if period_start(code) <= today]
