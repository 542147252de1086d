"""Statistical neighbours (DESIGN §5): the communes most like each commune, to compare with.

Like the CIPFA nearest-neighbour model of English local authorities: every variable is standardised
across the 45 communes (z = (x − mean) / standard deviation, sample standard deviation), and the
distance between two communes is the Euclidean distance over the K variables divided by √K:

    d(a, b) = √( Σ_k (z_ak − z_bk)² / K )

The variables are the needs indicators of the mapping (each commune's value for the year, as used by
the needs index) and the size, log10 of the population, all with the same weight. A commune lacking
an indicator gets the mean (z = 0) for it. Each commune's neighbours are the `COUNT` others at the
smallest distance, ties broken by OFS number.
"""

from __future__ import annotations

import numpy as np
import polars as pl

COUNT = 5
SIZE_VARIABLE = "log10_population"


def standardised(variables: pl.DataFrame) -> tuple[list[int], np.ndarray]:
    """OFS numbers and the matrix of z-scores (communes × variables); missing values become 0."""
    names = [c for c in variables.columns if c != "ofs_number"]
    matrix = variables.select(names).to_numpy().astype(float)
    mean = np.nanmean(matrix, axis=0)
    sd = np.nanstd(matrix, axis=0, ddof=1)
    sd[~(sd > 0)] = 1.0  # a constant variable separates no commune
    z = (matrix - mean) / sd
    return variables["ofs_number"].to_list(), np.nan_to_num(z, nan=0.0)


def distances(z: np.ndarray) -> np.ndarray:
    """d(a, b) = √(Σ_k (z_ak − z_bk)² / K) for every pair of communes."""
    difference = z[:, None, :] - z[None, :, :]
    return np.sqrt((difference**2).sum(axis=2) / z.shape[1])


def nearest_neighbours(variables: pl.DataFrame, count: int = COUNT) -> pl.DataFrame:
    """`variables`: ofs_number and one column per variable (raw values). Returns ofs_number,
    neighbour_rank (1 = nearest), neighbour_ofs, distance."""
    ofs_numbers, z = standardised(variables.sort("ofs_number"))
    matrix = distances(z)
    rows = []
    for i, ofs in enumerate(ofs_numbers):
        # Sorted by distance, then by OFS number (the order of the rows): a stable choice on ties.
        order = sorted((j for j in range(len(ofs_numbers)) if j != i), key=lambda j: matrix[i, j])
        for rank, j in enumerate(order[:count], start=1):
            rows.append((ofs, rank, ofs_numbers[j], float(matrix[i, j])))
    return pl.DataFrame(
        rows,
        schema={
            "ofs_number": pl.Int32,
            "neighbour_rank": pl.Int32,
            "neighbour_ofs": pl.Int32,
            "distance": pl.Float64,
        },
        orient="row",
    )


def neighbour_variables(values: pl.DataFrame, population: pl.DataFrame) -> pl.DataFrame:
    """The variables of the model for one year, wide: ofs_number, one column per indicator, size.

    `values`: indicator_code, ofs_number, value (one year); `population`: ofs_number, population.
    """
    wide = values.pivot(on="indicator_code", index="ofs_number", values="value")
    size = population.select(
        pl.col("ofs_number").cast(pl.Int32),
        pl.col("population").cast(pl.Float64).log10().alias(SIZE_VARIABLE),
    )
    return size.join(
        wide.with_columns(pl.col("ofs_number").cast(pl.Int32)), on="ofs_number", how="left"
    )
