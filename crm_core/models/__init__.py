"""All tables. Import every model module here so Base.metadata knows the whole schema."""
from crm_core.models.audit import AssignmentCursor, AuditEntry, ProcessedInvocation
from crm_core.models.base import Base
from crm_core.models.delivery import (ConsoleChannel, ConsoleInboxMessage, DeliveryLogEntry, DeliveryPacing,
                                     DigestSnapshot, SchedulerMark, SlaBreach)
from crm_core.models.imports import ImportedRow
from crm_core.models.lead_identity import LeadIdentity, LeadMerge
from crm_core.models.inbox import InboxItem
from crm_core.models.outbox import OutboxMessage, SentMessage
from crm_core.models.pool import LeadHolder
from crm_core.models.quotes import Approval, ApprovalStep, Order, Payment, Quote, QuoteLine
from crm_core.models.reminders import Reminder
from crm_core.models.routes import NotificationRoute
from crm_core.models.replay import SeenSignature
from crm_core.models.search import SearchTerm
from crm_core.models.swarm import GroupLink, Swarm
from crm_core.models.sales import Account, Activity, Contact, Deal, Lead, StageChange, Task
from crm_core.models.service import Contract, Ticket
from crm_core.models.users import ChatIdentity, ChatWorkspace, User
from crm_core.models.wecom import WeComAccessToken, WeComCardTask, WeComInbound, WeComResponseCode

__all__ = [
    "LeadHolder",
    "ConsoleChannel", "ConsoleInboxMessage", "DeliveryLogEntry", "DeliveryPacing", "DigestSnapshot",
    "SchedulerMark", "SlaBreach",
    "WeComAccessToken", "WeComCardTask", "WeComInbound", "WeComResponseCode",
    "Contract", "Ticket",
    "Approval", "ApprovalStep", "Order", "Payment", "Quote", "QuoteLine",
    "Account", "Activity", "AssignmentCursor", "AuditEntry", "Base", "ChatIdentity", "Contact", "Deal",
    "GroupLink", "ImportedRow", "Lead", "OutboxMessage", "ProcessedInvocation", "SentMessage", "StageChange", "Swarm", "Task", "User",
    "SeenSignature",
    "LeadIdentity", "LeadMerge",
    "ChatWorkspace",
    "InboxItem",
    "SearchTerm",
    "Reminder",
    "NotificationRoute",
]
