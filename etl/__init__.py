"""ETL of the Observatoire social: reference data, member submissions, atomic publishing."""
