"""Who may see what, and who saw what: users, roles, row-level security and the audit log.

This state lives beside the warehouse, not inside it (``access.sqlite3`` in the project folder):
logins and the audit log must keep working while a load or a build holds the warehouse.
"""
