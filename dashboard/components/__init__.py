"""Reusable pieces of pages: charts, KPI cards, tables, banners."""
