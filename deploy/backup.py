"""Dated copies of the published database, and restoring one of them.

    python deploy/backup.py sauvegarder [--base FICHIER] [--dossier DOSSIER] [--garder N]
    python deploy/backup.py restaurer COPIE [--base FICHIER] [--dossier DOSSIER]

A copy is consistent without stopping anything: the ETL never writes a published file in place, it
builds a new release and switches the pointer to it (etl/release.py); the raw file of the release
being copied never changes, and a file already opened for copying stays readable even once an old
release is deleted.

Only the raw database is copied. The public file (all that the public pages read) and the other files
of a release are derived from it: restoring publishes the copy as a new release with the ETL's own
code (`next_version(..., source=copy)`, which rebuilds the public file), under the ETL's writer lock;
the raw file it replaces is saved first. The dashboards re-attach by themselves.

Defaults come from $OBSERVATOIRE_DB, $OBSERVATOIRE_BACKUP_DIR and $OBSERVATOIRE_BACKUP_KEEP.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from pathlib import Path

# Run as a script from deploy/: the project's packages live one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402

from etl import release  # noqa: E402
from etl.errors import UserError  # noqa: E402
from etl.paths import database_path  # noqa: E402
from etl.public import publish_public  # noqa: E402
from etl.publish import next_version  # noqa: E402

BACKUP_DIR_ENV_VAR = "OBSERVATOIRE_BACKUP_DIR"
KEEP_ENV_VAR = "OBSERVATOIRE_BACKUP_KEEP"
DEFAULT_BACKUP_DIR = Path("/var/backups/observatoire")
DEFAULT_KEEP = 14
PARTIAL_SUFFIX = ".partiel"


def backup_name(db_path: Path, when: dt.datetime, label: str = "") -> str:
    """'observatoire-20261128-023000.duckdb': names sort in time order."""
    suffix = f"-{label}" if label else ""
    return f"{db_path.stem}-{when:%Y%m%d-%H%M%S}{suffix}{db_path.suffix}"


def existing_backups(db_path: Path, backup_dir: Path) -> list[Path]:
    """The finished copies of this database, oldest first."""
    return sorted(backup_dir.glob(f"{db_path.stem}-*{db_path.suffix}"))


def check_readable(path: Path) -> None:
    """Open the file read-only with DuckDB, as a dashboard would, and read its catalogue."""
    try:
        con = duckdb.connect(":memory:")
        try:
            escaped = str(path).replace("'", "''")
            con.execute(f"attach '{escaped}' as copie (read_only)")
            con.sql("select count(*) from duckdb_tables() where database_name = 'copie'").fetchall()
        finally:
            con.close()
    except duckdb.Error as exc:
        raise UserError(f"Le fichier {path} n'est pas une base DuckDB lisible ({exc}).") from exc


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_atomically(source: Path, target: Path) -> None:
    """Copy to a partial file beside `target`, flush it, then rename: no half copy under the name."""
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    try:
        shutil.copyfile(source, partial)
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
    finally:
        partial.unlink(missing_ok=True)


def prune(db_path: Path, backup_dir: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest copies; return the deleted ones."""
    backups = existing_backups(db_path, backup_dir)
    doomed = backups[:-keep] if keep > 0 else backups
    for old in doomed:
        old.unlink()
    return doomed


def back_up(
    db_path: Path, backup_dir: Path, keep: int, now: dt.datetime | None = None, label: str = ""
) -> Path:
    """Make one dated, checked copy of the published file and keep the `keep` newest."""
    if keep < 1:
        raise UserError(f"Le nombre de copies à garder doit être au moins 1 (reçu : {keep}).")
    if not release.exists(db_path):
        raise UserError(f"Rien à sauvegarder : la base {db_path} n'existe pas.")
    backup_dir.mkdir(parents=True, exist_ok=True)
    target = backup_dir / backup_name(db_path, now or dt.datetime.now(), label)
    # The raw file of one release, which never changes (again on the next one if it was replaced
    # twice before the copy opened it).
    release.read_current(db_path, lambda live: copy_atomically(live.raw, target))
    check_readable(target)
    prune(db_path, backup_dir, keep)
    return target


def restore(backup: Path, db_path: Path, backup_dir: Path) -> Path | None:
    """Publish `backup` again as the raw database, as a new release with its public file rebuilt.

    Returns the saved copy of the raw file it replaces. Like every load, the new release is built
    beside the current one and switched in at once: a failure leaves the current release as it was.
    """
    if not backup.is_file():
        raise UserError(f"La copie {backup} n'existe pas.")
    check_readable(backup)
    saved = None
    with next_version(db_path, source=backup) as con:  # holds the writer lock: no load meanwhile
        replaced = release.current(db_path).raw
        if replaced.exists():
            saved = backup_dir / backup_name(db_path, dt.datetime.now(), "avant-restauration")
            backup_dir.mkdir(parents=True, exist_ok=True)
            copy_atomically(replaced, saved)
        # The public file is derived data: rebuilt from the restored raw file, as every load does.
        publish_public(con, db_path)
    return saved


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Copies de sauvegarde de la base publiée.")
    commands = parser.add_subparsers(dest="commande", required=True)
    for name, help_text in (
        ("sauvegarder", "Fait une copie datée de la base publiée et garde les N plus récentes."),
        ("restaurer", "Remet une copie en place (renommage atomique, sous le verrou de l'ETL)."),
    ):
        command = commands.add_parser(name, help=help_text)
        if name == "restaurer":
            command.add_argument("copie", type=Path, help="Le fichier de sauvegarde à remettre.")
        command.add_argument("--base", type=Path, default=None, help="Base publiée.")
        command.add_argument(
            "--dossier",
            type=Path,
            default=Path(os.environ.get(BACKUP_DIR_ENV_VAR) or DEFAULT_BACKUP_DIR),
            help="Dossier des copies.",
        )
        if name == "sauvegarder":
            command.add_argument(
                "--garder",
                type=int,
                default=int(os.environ.get(KEEP_ENV_VAR) or DEFAULT_KEEP),
                help="Nombre de copies gardées.",
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    db_path = release.database_name(args.base or database_path())
    try:
        if args.commande == "sauvegarder":
            copy = back_up(db_path, args.dossier, args.garder)
            print(f"Copie faite : {copy}")
        else:
            saved = restore(args.copie, db_path, args.dossier)
            if saved:
                print(f"La base remplacée est gardée dans {saved}.")
            print(f"{db_path} est maintenant la copie {args.copie}.")
    except UserError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
