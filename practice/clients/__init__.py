"""Clients, their care team and the figures in their life."""
