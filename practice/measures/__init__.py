"""Outcome measures: instruments defined as data (definitions.py, data/*.json), scoring
(scoring.py), the scores recorded per session (models.py, service.py) and their place on
the theme timeline (timeline.py, lanes.py)."""
