"""Administration (secretariat only): sign-in, load a submission, tracker, load history, observations.

Without sign-in configuration the page explains how to enable it and reads nothing. Once signed in,
it reads the RAW database through `data.run_admin` (unsuppressed figures, non-public observations)
and loads files through `etl.submission.load.load_files`, the code path of `observatoire charger`.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard import auth, data, state
from dashboard.components import bulletin_panel, tables, upload
from dashboard.components.directory import md_escape
from dashboard.i18n import MISSING, fmt_datetime, fmt_int, t
from etl import publish
from etl.errors import UserError
from etl.paths import database_path
from etl.submission import report
from etl.submission.load import load_files
from etl.submission.results import ALREADY_LOADED, ERROR, FAILED, REJECTED, FileResult
from etl.text import printable
from etl.vocabulary import RUN_STATUSES

_UPLOAD_STATE = "_admin_upload"
HISTORY_ROWS = 200
OBSERVATION_ROWS = 500
GRACE_DAYS = (30, 45, 60, 90, 120)
TRACKER_STATUSES = ("recu", "partiel", "refuse", "en_retard", "attendu", "en_cours")
TO_FOLLOW_UP = ("partiel", "refuse", "en_retard")  # what the secretariat chases members for


# --- sign-in ----------------------------------------------------------------------------------------


def explain_configuration() -> None:
    st.warning(t("admin.not_configured_title"), icon=":material/lock:")
    st.markdown(t("admin.reserved"))
    # The setup steps are for the server's IT staff, not for officials who open the page.
    with st.expander(t("admin.how_to_enable")):
        st.markdown(t("admin.not_configured"))


def password_form(config: auth.AuthConfig, now: dt.datetime) -> auth.AdminIdentity | None:
    try:
        auth.check_hash_format(config.password_hash or "")
    except auth.HashFormatError as error:
        st.error(t("admin.bad_hash", error=error), icon=":material/error:")
        return None
    with st.columns([3, 2])[0], st.form("admin_sign_in", clear_on_submit=True):
        name = st.text_input(t("admin.user_name"), max_chars=60, key="admin_user_name")
        password = st.text_input(t("admin.password"), type="password", key="admin_password")
        submitted = st.form_submit_button(t("admin.sign_in"), type="primary")
    if not submitted:
        return None
    identity, reason = auth.sign_in_with_password(
        password, config, auth.throttle(), auth.client_key(), now
    )
    if identity is None:
        st.error(reason, icon=":material/block:")
        return None
    return dataclasses.replace(identity, name=name.strip() or identity.name)


def oidc_buttons(config: auth.AuthConfig) -> None:
    if st.user.is_logged_in:
        email = getattr(st.user, "email", None) or "?"
        st.warning(t("admin.oidc_not_allowed", email=email), icon=":material/block:")
        st.button(t("admin.sign_out"), on_click=st.logout, key="admin_oidc_logout")
    else:
        st.button(t("admin.sign_in_oidc"), on_click=st.login, key="admin_oidc_login")


def signed_in(config: auth.AuthConfig) -> auth.AdminIdentity | None:
    """The secretariat's identity, after showing the sign-in form when needed."""
    now = dt.datetime.now()
    identity = auth.session_identity(st.session_state, now)
    if identity is None and config.oidc:
        identity = auth.oidc_identity(config, st.user, now)
    if identity is not None:
        return identity
    st.subheader(t("admin.sign_in_title"))
    if config.password_hash:
        identity = password_form(config, now)
        if identity is not None:
            auth.remember(st.session_state, identity)
            st.rerun()
    if config.oidc:
        oidc_buttons(config)
    return None


def sign_out(identity: auth.AdminIdentity) -> None:
    _discard_upload()
    auth.forget(st.session_state)
    if identity.method == "oidc":
        st.logout()


# --- upload, validation report, load ----------------------------------------------------------------


@dataclasses.dataclass
class UploadState:
    file_id: str
    saved: upload.SavedUpload
    preview: list[FileResult]
    loaded: list[FileResult] | None = None


def _discard_upload() -> None:
    current = st.session_state.pop(_UPLOAD_STATE, None)
    if current is not None:
        current.saved.remove()


def _slice_text(result: FileResult) -> str:
    if result.member_code and result.period_code:
        return f"{result.member_code} · {result.period_code}"
    return ", ".join(f"{member} · {period}" for member, period in result.slices[:6]) or "—"


def issues_frame(result: FileResult) -> pl.DataFrame:
    """The grouped issue list, as `observatoire valider` prints it (texts from the file shown
    safely: control characters as codes)."""
    grouped = report.group_issues(result.issues)
    frame = pl.DataFrame(
        {
            "type": [
                t("admin.severity_error" if g.severity == ERROR else "admin.severity_warning")
                for g in grouped
            ],
            "sheet": [g.sheet for g in grouped],
            "rows": [g.rows_text for g in grouped],
            "column": [g.column or "" for g in grouped],
            "value": [g.value or "" for g in grouped],
            "message": [g.message for g in grouped],
        },
        schema=dict.fromkeys(["type", "sheet", "rows", "column", "value", "message"], pl.String),
    )
    return tables.printable_texts(frame)


def show_report(results: list[FileResult], title: str) -> None:
    st.subheader(title)
    for result in results:
        headline = (
            f"**{printable(result.file_name)}** — {report.status_label(result)} "
            f"({printable(_slice_text(result))} ; {report.summary_text(result)})"
        )
        if result.status in (REJECTED, FAILED):
            st.error(headline, icon=":material/cancel:")
        elif result.status == ALREADY_LOADED:
            st.info(headline, icon=":material/info:")
        else:
            st.success(headline, icon=":material/check_circle:")
        if result.counts:
            per_sheet = " · ".join(f"{sheet} {fmt_int(n)}" for sheet, n in result.counts.items())
            st.caption(t("admin.counts", counts=per_sheet))
        issues = issues_frame(result)
        if issues.is_empty():
            st.caption(t("admin.no_issue"))
            continue
        # A static table: « Problème et correction » is a sentence or two; it wraps, whole.
        tables.show_text_table(
            issues,
            {
                "type": t("admin.col_type"),
                "sheet": t("admin.col_sheet"),
                "rows": t("admin.col_rows"),
                "column": t("admin.col_column"),
                "value": t("admin.col_value"),
                "message": t("admin.col_message"),
            },
        )
    html = report.render_html(results, title=title)
    st.download_button(
        t("admin.report_download"),
        html.encode("utf-8"),
        file_name=report.default_report_path(results, Path(".")).name,
        mime="text/html",
        on_click="ignore",
        icon=":material/download:",
        key=f"admin_report_{title}",
    )
    with st.expander(t("admin.report_full")):
        # A data: URL gives the report its own opaque origin: its CSS cannot restyle the page.
        encoded = base64.b64encode(html.encode("utf-8")).decode("ascii")
        st.iframe(f"data:text/html;charset=utf-8;base64,{encoded}", height=520)


def receive(uploaded) -> UploadState | None:
    """Check, save and simulate the load of a newly uploaded file (once per file)."""
    current = st.session_state.get(_UPLOAD_STATE)
    if current is not None and current.file_id == uploaded.file_id:
        return current
    _discard_upload()
    try:
        saved = upload.save_upload(uploaded.name, uploaded.getvalue())
    except upload.UploadRefused as refused:
        # The file name is the uploader's: shown literally, never as Markdown (links, emphasis).
        values = {**refused.values, "name": md_escape(refused.values["name"])}
        st.error(t(refused.key, **values), icon=":material/block:")
        return None
    try:
        with st.spinner(t("admin.checking")):
            preview = load_files([saved.path], database_path(), dry_run=True)
    except UserError as error:
        saved.remove()
        st.error(t("admin.load_error", error=error), icon=":material/error:")
        return None
    current = UploadState(uploaded.file_id, saved, preview)
    st.session_state[_UPLOAD_STATE] = current
    return current


def load(current: UploadState, identity: auth.AdminIdentity) -> None:
    try:
        with st.spinner(t("admin.loading")):
            current.loaded = load_files([current.saved.path], database_path(), user=identity.name)
    except UserError as error:
        st.error(t("admin.load_error", error=error), icon=":material/error:")
        return
    current.saved.remove()
    st.rerun()


def upload_tab(identity: auth.AdminIdentity) -> None:
    if not publish.can_publish(database_path()):
        # A public replica reads the database through a read-only folder: a load would fail after
        # the member's file was checked, so say why before anything is uploaded.
        st.warning(t("admin.read_only", folder=database_path().parent), icon=":material/lock:")
        return
    st.html(
        upload.uploader_css(
            "admin_file",
            t("admin.upload_button"),
            t("admin.upload_limits", max_mb=upload.MAX_UPLOAD_MB),
            t("admin.upload_refused", max_mb=upload.MAX_UPLOAD_MB),
        )
    )
    uploaded = st.file_uploader(
        t("admin.upload_label", max_mb=upload.MAX_UPLOAD_MB),
        type=[suffix.lstrip(".") for suffix in upload.ALLOWED_SUFFIXES],
        max_upload_size=upload.MAX_UPLOAD_MB,
        help=t("admin.upload_help"),
        key="admin_file",
    )
    if uploaded is None:
        _discard_upload()
        return
    current = receive(uploaded)
    if current is None:
        return
    if current.loaded is not None:
        show_report(current.loaded, t("admin.load_report_title"))
        result = current.loaded[0]
        if result.ok:
            st.success(
                t("admin.loaded", status=report.status_label(result)), icon=":material/done_all:"
            )
        else:
            st.error(t("admin.load_failed", status=report.status_label(result)))
        return
    show_report(current.preview, t("admin.report_title"))
    status = current.preview[0].status
    if status in (REJECTED, FAILED):
        st.error(t("admin.cannot_load"), icon=":material/block:")
    elif status == ALREADY_LOADED:
        st.info(t("admin.nothing_to_do"))
    elif st.button(
        t("admin.confirm"),
        type="primary",
        help=t("admin.confirm_help"),
        icon=":material/upload:",
        key="admin_confirm_load",
    ):
        load(current, identity)


# --- tracker, history, observations -----------------------------------------------------------------


def tracker_tab() -> None:
    today = dt.date.today()
    years = data.run_admin("admin_tracker_years", today=today)["year"].to_list()
    columns = st.columns(3)
    year = state.select(
        "annee", years, default=years[0], label=t("admin.tracker_year"), container=columns[0]
    )
    grace = state.select(
        "delai",
        GRACE_DAYS,
        default=60,
        label=t("admin.tracker_late_days"),
        container=columns[1],
    )
    tracker = data.run_admin("admin_submission_tracker", year=year, late_days=grace, today=today)
    if tracker.is_empty():
        st.info(t("admin.tracker_empty"))
        return
    counts = tracker.group_by("status").len()
    by_status = dict(zip(counts["status"], counts["len"], strict=True))
    for column, status in zip(st.columns(len(TRACKER_STATUSES)), TRACKER_STATUSES, strict=True):
        column.metric(t(f"admin.tracker_status.{status}"), fmt_int(by_status.get(status, 0)))
    if state.toggle("a_relancer", default=False, label=t("admin.tracker_only_problems")):
        tracker = tracker.filter(pl.col("status").is_in(TO_FOLLOW_UP))
    column = st.column_config.TextColumn
    tables.show_table(
        tracker_display(tracker),
        column_config={
            # Pinned and large: members' names are long and must be read whole.
            "member": column(t("admin.col_member_name"), width="large", pinned=True),
            "rhythm": column(t("admin.col_rhythm")),
            "period": column(t("admin.col_period")),
            "status": column(t("admin.col_tracker_status")),
            "loaded": column(t("admin.col_periods_loaded")),
            "last_loaded": column(t("admin.col_last_loaded")),
            "last_attempt": column(t("admin.col_last_attempt")),
            "persons": column(t("admin.col_persons")),
        },
        caption=t("admin.tracker_caption", days=grace),
        key="admin_tracker",
    )


def tracker_display(tracker: pl.DataFrame) -> pl.DataFrame:
    """The tracker as text: labels in the page's language, « – » where there is nothing."""
    runs = _run_status_labels()
    rows = tracker.to_dicts()
    return pl.DataFrame(
        {
            "member": [row["member_name"] for row in rows],
            "rhythm": [t(f"admin.granularity.{row['rhythm']}") for row in rows],
            "period": [row["period_code"] for row in rows],
            "status": [t(f"admin.tracker_status.{row['status']}") for row in rows],
            "loaded": [row["periods_loaded"] or MISSING for row in rows],
            "last_loaded": [fmt_datetime(row["last_loaded_at"]) for row in rows],
            "last_attempt": [runs.get(row["last_attempt_status"], MISSING) for row in rows],
            "persons": [fmt_int(row["personnes"]) for row in rows],
        },
        schema=dict.fromkeys(
            [
                "member",
                "rhythm",
                "period",
                "status",
                "loaded",
                "last_loaded",
                "last_attempt",
                "persons",
            ],
            pl.String,
        ),
    )


def _run_status_labels() -> dict[str, str]:
    return {status: t(f"admin.run_status.{status}") for status in RUN_STATUSES}


def history_tab() -> None:
    runs = data.run_admin("admin_load_runs", limit=HISTORY_ROWS)
    display = runs.select(
        "run_id",
        "started_at",
        "username",
        "kind",
        "file_name",
        "member_code",
        "period_code",
        "rows_accepted",
        "rows_rejected",
        pl.col("status").replace_strict(_run_status_labels(), default=pl.col("status")),
        "message",
    ).with_columns(pl.col(pl.String).fill_null(MISSING))
    column = st.column_config.TextColumn
    tables.show_table(
        tables.printable_texts(display),
        column_config={
            "run_id": st.column_config.NumberColumn(t("admin.col_run"), format="%d"),
            "started_at": st.column_config.DatetimeColumn(
                t("admin.col_started"), format="DD.MM.YYYY HH:mm"
            ),
            "username": column(t("admin.col_user")),
            "kind": column(t("admin.col_kind")),
            "file_name": column(t("admin.col_file")),
            "member_code": column(t("admin.col_member")),
            "period_code": column(t("admin.col_period")),
            "rows_accepted": st.column_config.NumberColumn(t("admin.col_accepted"), format="%d"),
            "rows_rejected": st.column_config.NumberColumn(t("admin.col_rejected"), format="%d"),
            "status": column(t("admin.col_status")),
            "message": column(t("admin.col_message_run"), width="large"),
        },
        caption=t("admin.history_caption", n=fmt_int(HISTORY_ROWS)),
        key="admin_history",
    )


def observations_tab() -> None:
    rows = data.run_admin("admin_observations", limit=OBSERVATION_ROWS)
    column = st.column_config.TextColumn
    tables.show_table(
        tables.printable_texts(
            rows.select(
                "obs_date", "member_name", "theme", "niveau", "commune_name", "is_public", "texte"
            ),
            keep_lines=("texte",),
        ),
        column_config={
            "obs_date": st.column_config.DateColumn(t("admin.col_date"), format="DD.MM.YYYY"),
            "member_name": column(t("admin.col_member_name")),
            "theme": column(t("admin.col_theme")),
            "niveau": column(t("admin.col_level")),
            "commune_name": column(t("admin.col_commune")),
            "is_public": st.column_config.CheckboxColumn(t("admin.col_public")),
            "texte": column(t("admin.col_text"), width="large"),
        },
        caption=t("admin.observations_caption", n=fmt_int(OBSERVATION_ROWS)),
        key="admin_observations",
    )


# --- page -------------------------------------------------------------------------------------------

st.title(t("admin.title"))
config = auth.load_config()
if not config.enabled:
    explain_configuration()
    st.stop()
identity = signed_in(config)
if identity is None:
    st.stop()

header = st.columns([4, 1])
header[0].markdown(t("admin.signed_in_as", name=identity.name))
if header[1].button(t("admin.sign_out"), key="admin_sign_out", icon=":material/logout:"):
    sign_out(identity)
    st.rerun()
st.caption(t("admin.intro"))
TAB_KEYS = {
    "depot": "upload",
    "suivi": "tracker",
    "historique": "history",
    "remontees": "observations",
    "bulletin": "bulletin",
}
upload_area, tracker_area, history_area, observations_area, bulletin_area = state.tabs(
    "onglet",
    tuple(TAB_KEYS),
    default="depot",
    format_func=lambda code: t(f"admin.tab_{TAB_KEYS[code]}"),
)
with upload_area:
    upload_tab(identity)
with tracker_area:
    tracker_tab()
with history_area:
    history_tab()
with observations_area:
    observations_tab()
with bulletin_area:
    bulletin_panel.bulletin_tab(database_path())
