"""Every state change of the workflow tables lives here, one function per change.

Views, admin, management commands and ingestion call these; nothing else writes
error_assignment, error_escalation, error_resolution, error_duplicate, activity,
or an error's status. Each function takes keyword arguments, validates every rule,
writes inside one transaction, records an Activity row and queues its notification
after commit. A refused change raises DomainError (or a subclass), which views turn
into a form error.

Modules:
- errors:      DomainError and its subclasses
- activity:    record_activity, the audit trail every change writes
- occurrences: record_occurrence, the write half of ingestion
- workflow:    assign, unassign, take, escalate, acknowledge, resolve, reopen,
               ignore, unignore, mark_duplicate, unmark_duplicate
"""
