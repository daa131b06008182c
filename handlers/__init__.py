"""Use cases. Importing the package registers every command, action and notifier."""
from handlers import activities, deals, help, leads, notifications  # noqa: F401
from handlers import forms, home, swarm  # noqa: F401  (Slack issue: form actions, home surface, swarm)
from handlers import approvals, orders, quotes  # noqa: F401  (issue 3 A: quotes, approvals, orders)
from handlers import renewals, reports, tickets  # noqa: F401  (issue 3 B: tickets, contracts, reports)
from handlers import workspaces  # noqa: F401  (Slack workspaces: invitations decided by admins)
from handlers import ownership  # noqa: F401  (data a team can trust: owners really move)
from handlers import lead_paste  # noqa: F401  (a lead from a pasted signature)
from handlers import pool  # noqa: F401  (the lead pool, 公海)
from handlers import conversation  # noqa: F401  (📌 in a swarm channel logs to the deal)
from handlers import search  # noqa: F401  (names where references go, `search`)
from handlers import glance, record_lists  # noqa: F401  (the customer at a glance; team and all lists)
from handlers import tasks  # noqa: F401  (tasks people give each other, reminders)
from handlers import routes  # noqa: F401  (notification routes: events to team channels, `notify`)
