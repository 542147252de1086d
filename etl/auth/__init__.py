"""Secretariat sign-in without Streamlit: password hashes (`passwords`) and the lockout shared by
every session and replica of a host (`lockout`). The page itself lives in dashboard/auth.py."""
