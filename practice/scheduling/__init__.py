"""Appointments, recurring series, rooms, conflicts and the iCalendar feed."""
