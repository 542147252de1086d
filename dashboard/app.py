"""Entry point: `streamlit run dashboard/app.py`. Navigation, language switch, demo banner."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

# `streamlit run` puts dashboard/ on sys.path, not the project root; the package imports need it.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import data, state  # noqa: E402
from dashboard.components import banner, shell  # noqa: E402
from dashboard.i18n import t  # noqa: E402

VIEWS_DIR = Path(__file__).resolve().parent / "views"


@dataclass(frozen=True)
class PageSpec:
    file: str  # in dashboard/views/
    url_path: str
    title_key: str
    icon: str


# In menu order. A page appears once its file exists, so pages can be added one at a time.
PAGES = (
    PageSpec("overview.py", "vue-d-ensemble", "common.page.overview", ":material/dashboard:"),
    PageSpec("trends.py", "tendances", "common.page.trends", ":material/show_chart:"),
    PageSpec("besoins.py", "besoins-et-lacunes", "common.page.needs", ":material/map:"),
    PageSpec("couverture.py", "couverture", "common.page.coverage", ":material/grid_on:"),
    PageSpec("fiche.py", "fiche-communale", "common.page.commune", ":material/description:"),
    PageSpec("qui_fait_quoi.py", "qui-fait-quoi", "common.page.directory", ":material/search:"),
    PageSpec("remontees.py", "remontees", "common.page.field", ":material/campaign:"),
    PageSpec("signaux.py", "signaux", "common.page.signals", ":material/notifications_active:"),
    PageSpec("donnees.py", "donnees", "common.page.data", ":material/download:"),
    PageSpec("methodologie.py", "methodologie", "common.page.methodology", ":material/menu_book:"),
    PageSpec("administration.py", "administration", "common.page.admin", ":material/settings:"),
)


def available_pages() -> list[st.Page]:
    """The pages whose file exists, the first one being the default.

    The default page is served at the root URL, so Streamlit would not find it by its own address
    (a shared link to /vue-d-ensemble showed an English "Page not found"): a hidden page with the same
    file answers that address, and the default page gets an internal path of its own.
    """
    specs = [spec for spec in PAGES if (VIEWS_DIR / spec.file).exists()]
    pages = [
        st.Page(
            VIEWS_DIR / spec.file,
            title=t(spec.title_key),
            icon=spec.icon,
            url_path=f"{spec.url_path}-accueil" if index == 0 else spec.url_path,
            default=index == 0,
        )
        for index, spec in enumerate(specs)
    ]
    if specs:
        home = specs[0]
        pages.append(
            st.Page(
                VIEWS_DIR / home.file,
                title=t(home.title_key),
                icon=home.icon,
                url_path=home.url_path,
                visibility="hidden",
            )
        )
    return pages


def main() -> None:
    lang = state.language()  # first: the browser title is translated too
    st.set_page_config(
        page_title=t("common.app_title"),
        # An emoji becomes an inline SVG; a ":material/…:" favicon is fetched from fonts.gstatic.com,
        # which the hosted site's CSP blocks (no visitor request may leave the site).
        page_icon="📊",
        layout="wide",
        initial_sidebar_state="auto",  # open on a desktop, closed on a phone,
    )
    shell.install(lang)
    state.language_switch(lang)
    pages = available_pages()
    if not pages:
        st.info(t("common.no_pages"))
        return
    page = st.navigation(pages)
    st.sidebar.caption(t("common.sidebar_note"))
    try:
        info = data.db_info()
        banner.demo_banner(info)
        banner.freshness_caption(info)
        page.run()
    except data.DatabaseUnavailable as error:
        data.stop_if_unavailable(error)


# `streamlit run` (and AppTest) execute this file as __main__; tests import it for PAGES.
if __name__ == "__main__":
    main()
