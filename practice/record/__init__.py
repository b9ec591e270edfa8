"""The clinical record beside process notes: progress notes, treatment plans, record codes."""
