"""Outreach: vroegsignalen matched into cases per address and month (cases.py), and the
cases triaged by the gemeente's YAML rules into werkbakjes per wijkteam (triage.py), with
deadlines in working days (deadlines.py).

Everything here works on pseudonyms only (pid, hid, sid, case_id): names and addresses stay
out of the warehouse; the list a wijkteam receives is built elsewhere.
"""
