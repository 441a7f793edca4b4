"""Sign-in, sessions, API tokens, roles and permission dependencies."""
