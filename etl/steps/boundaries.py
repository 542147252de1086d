"""Rebuild data/reference/communes.geojson and lake.geojson from the FSO shapefiles in `swiss-maps`.

The npm package `swiss-maps` (Interactive Things, BSD-3-Clause) repackages the FSO generalised
boundaries (EPSG:2056). This step makes the geometry's provenance reproducible:

    python -m etl.steps.boundaries [--version 4.7.0] [--year 2024]

It runs `npm pack swiss-maps@VERSION` in a temporary folder (the npm registry is the only network
access needed), keeps the Geneva communes (OFS 6601–6645) with the names of communes.csv, clips the
lake to the canton's bounding box, reprojects to EPSG:4326 and rounds coordinates to 1e-6°.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

import geopandas as gpd
import polars as pl
import shapely
from shapely.geometry import box, mapping

from etl.paths import REFERENCE_DIR

GENEVA_OFS = range(6601, 6646)
GENEVA_CANTON_ID = 25
LEMAN_LAKE_ID = 9757
COORDINATE_PRECISION = 6


def fetch_package(version: str, workdir: Path) -> Path:
    """Download and unpack the npm package; return its folder."""
    subprocess.run(
        ["npm", "pack", f"swiss-maps@{version}", "--silent"],
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    tarball = next(workdir.glob("swiss-maps-*.tgz"))
    with tarfile.open(tarball) as archive:
        archive.extractall(workdir, filter="data")
    return workdir / "package"


def select_communes(municipalities: gpd.GeoDataFrame, names: dict[int, str]) -> gpd.GeoDataFrame:
    """The 45 Geneva communes with our spelling of their names (the .dbf names are mis-decoded)."""
    geneva = municipalities[municipalities["id"].astype(int).isin(GENEVA_OFS)].copy()
    geneva["ofs_number"] = geneva["id"].astype(int)
    geneva["name"] = geneva["ofs_number"].map(names)
    return geneva[["ofs_number", "name", "geometry"]].sort_values("ofs_number")


def clip_lake(lakes: gpd.GeoDataFrame, cantons: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    canton = cantons[cantons["id"].astype(int) == GENEVA_CANTON_ID]
    lake = lakes[lakes["id"].astype(int) == LEMAN_LAKE_ID]
    clipped = lake.clip(box(*canton.total_bounds))
    clipped = clipped.assign(name="Léman")
    return clipped[["name", "geometry"]]


def to_geojson(frame: gpd.GeoDataFrame, properties: list[str]) -> dict:
    """RFC 7946 FeatureCollection in EPSG:4326 with rounded coordinates."""
    wgs84 = frame.to_crs(4326)
    features = []
    for row in wgs84.itertuples():
        geometry = shapely.set_precision(row.geometry, 10**-COORDINATE_PRECISION)
        features.append(
            {
                "type": "Feature",
                "properties": {p: getattr(row, p) for p in properties},
                "geometry": mapping(geometry),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def run(version: str = "4.7.0", year: int = 2024, target_dir: Path = REFERENCE_DIR) -> None:
    names = dict(pl.read_csv(target_dir / "communes.csv").select("ofs_number", "name").iter_rows())
    with tempfile.TemporaryDirectory() as tmp:
        package = fetch_package(version, Path(tmp))
        layer = package / str(year)
        municipalities = gpd.read_file(layer / "municipalities.shp").set_crs(
            2056, allow_override=True
        )
        lakes = gpd.read_file(layer / "lakes.shp").set_crs(2056, allow_override=True)
        cantons = gpd.read_file(layer / "cantons.shp").set_crs(2056, allow_override=True)
        communes = select_communes(municipalities, names)
        lake = clip_lake(lakes, cantons)
    (target_dir / "communes.geojson").write_text(
        json.dumps(to_geojson(communes, ["ofs_number", "name"]), ensure_ascii=False),
        encoding="utf-8",
    )
    (target_dir / "lake.geojson").write_text(
        json.dumps(to_geojson(lake, ["name"]), ensure_ascii=False), encoding="utf-8"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="4.7.0")
    parser.add_argument("--year", type=int, default=2024)
    args = parser.parse_args()
    run(args.version, args.year)
