"""Read-side views: database records → the plain view dataclasses the card builders take.

Shared by the use cases (handlers/*) and the time-driven jobs (scheduler/*), so that neither imports
the other's modules for presentation. Each function reads through the unit of work's session and
formats with cards/format.py (money, company time, stage names); none writes anything.

- sales.py:   lead_view, deal_view
- glance.py:  account_view, contact_view, and the quote / task / swarm lines of the deal view
- quotes.py:  quote_view, order_view, step_views, role_name, document_locale
- service.py: ticket_view, contract_view, health_view
"""
