"""Statistics computed at publish from the PUBLISHED (disclosure-controlled) tables; no Streamlit."""
