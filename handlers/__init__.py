"""Use cases. Importing the package registers every command, action and notifier."""
from handlers import activities, deals, help, leads, notifications  # noqa: F401
