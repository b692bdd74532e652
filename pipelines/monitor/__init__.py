"""The vroegsignalering monitor: what came of the signal lists (intake.py reads the outcomes back)."""
