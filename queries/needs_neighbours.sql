-- name: needs_neighbours
-- grain: one row per commune × neighbour (its 5 statistical neighbours for the year, nearest first)
-- key: ofs_number, neighbour_rank
-- parameters: $year (integer)
-- used by: dashboard/components/needs.py (Besoins filter « commune et ses voisins », the brief)
-- Computed at publish (etl/analysis/neighbours.py): standardised needs indicators and size.
with
    neighbours as (
        select ofs_number, neighbour_rank, neighbour_ofs, distance
        from public.statistical_neighbours
        where year = $year
    ),
    communes as (select ofs_number, name from public.communes)
select n.ofs_number, n.neighbour_rank, n.neighbour_ofs, c.name as neighbour_name, n.distance
from neighbours as n
join communes as c on c.ofs_number = n.neighbour_ofs
order by n.ofs_number, n.neighbour_rank
