"""All tables. Import every model module here so Base.metadata knows the whole schema."""
from crm_core.models.audit import AssignmentCursor, AuditEntry, ProcessedInvocation
from crm_core.models.base import Base
from crm_core.models.imports import ImportedRow
from crm_core.models.outbox import OutboxMessage, SentMessage
from crm_core.models.swarm import Swarm
from crm_core.models.sales import Account, Activity, Contact, Deal, Lead, StageChange, Task
from crm_core.models.users import ChatIdentity, User

__all__ = [
    "Account", "Activity", "AssignmentCursor", "AuditEntry", "Base", "ChatIdentity", "Contact", "Deal",
    "ImportedRow", "Lead", "OutboxMessage", "ProcessedInvocation", "SentMessage", "StageChange", "Swarm", "Task", "User",
]
