"""Users, roles, login sessions, API tokens, passwords and the access policy."""
