"""The writes that are not a person's workflow action (those are tracking.workflow).

Modules:
- activity:    record_activity, the audit trail every change writes (the workflow's
               verbs and ingestion's regressions)
- occurrences: record_occurrence, the write half of ingestion
- people:      people, roles and project settings
"""
