"""The dashboard counts' triggers on SQLite, installed by the app rather than by a
migration (tracking.apps connects these to migrate's signals).

On SQLite Django alters a table by building a new one, copying the rows, dropping the
old one and renaming the new: the drop takes the table's own triggers with it, and
the rename fails while a trigger on another table names the table being replaced
("no such table: main.error"). So every `migrate` on SQLite drops these triggers
first (pre_migrate) and creates them again at the end (post_migrate), then recounts
the two tables, since writes made meanwhile were not counted (a quick-start database
is small). PostgreSQL alters tables in place: its triggers are migration 0020's.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

# SQLite has no procedural language: each trigger is a list of statements whose WHERE
# says whether it applies. One writer at a time, so no locking question: one slot (0).

# The old row's assignment leaves its due date, if it was counted (active, dated, on
# an open error); a due date left at zero goes.
_SQLITE_OLD_ASSIGNMENT_OUT = """
    UPDATE dashboard_due_count SET count = count - 1
    WHERE OLD.is_active AND due_date = OLD.due_date AND project_id =
        (SELECT e.project_id FROM error e WHERE e.id = OLD.error_id AND e.status = 'unresolved');
    DELETE FROM dashboard_due_count WHERE due_date = OLD.due_date AND count <= 0;
"""
_SQLITE_OPEN_ADD = """
    INSERT INTO dashboard_open_count (project_id, level, slot, count)
    SELECT NEW.project_id, NEW.level, 0, 1 WHERE NEW.status = 'unresolved'
    ON CONFLICT (project_id, level, slot) DO UPDATE SET count = count + 1;
"""
_SQLITE_OPEN_REMOVE = """
    UPDATE dashboard_open_count SET count = count - 1
    WHERE OLD.status = 'unresolved' AND project_id = OLD.project_id AND level = OLD.level
        AND slot = 0;
"""
_SQLITE_OPENED_OR_MOVED = (
    "((OLD.status = 'unresolved') <> (NEW.status = 'unresolved')"
    " OR OLD.project_id <> NEW.project_id)"
)

CREATE_TRIGGERS = [
    f"""
CREATE TRIGGER IF NOT EXISTS dashboard_counts_error_insert AFTER INSERT ON error
FOR EACH ROW WHEN NEW.status = 'unresolved' BEGIN {_SQLITE_OPEN_ADD} END
""",
    f"""
CREATE TRIGGER IF NOT EXISTS dashboard_counts_error_update
AFTER UPDATE OF status, level, project_id ON error
FOR EACH ROW WHEN OLD.status IS NOT NEW.status OR OLD.level IS NOT NEW.level
    OR OLD.project_id IS NOT NEW.project_id
BEGIN
    {_SQLITE_OPEN_REMOVE}
    {_SQLITE_OPEN_ADD}
    UPDATE dashboard_due_count SET count = count - 1
    WHERE OLD.status = 'unresolved' AND {_SQLITE_OPENED_OR_MOVED}
        AND project_id = OLD.project_id
        AND due_date = (SELECT a.due_date FROM error_assignment a
                        WHERE a.error_id = OLD.id AND a.is_active);
    DELETE FROM dashboard_due_count WHERE project_id = OLD.project_id AND count <= 0;
    INSERT INTO dashboard_due_count (project_id, due_date, count)
    SELECT NEW.project_id, a.due_date, 1 FROM error_assignment a
    WHERE NEW.status = 'unresolved' AND {_SQLITE_OPENED_OR_MOVED}
        AND a.error_id = NEW.id AND a.is_active AND a.due_date IS NOT NULL
    ON CONFLICT (project_id, due_date) DO UPDATE SET count = count + 1;
END
""",
    f"""
CREATE TRIGGER IF NOT EXISTS dashboard_counts_error_delete AFTER DELETE ON error
FOR EACH ROW WHEN OLD.status = 'unresolved' BEGIN {_SQLITE_OPEN_REMOVE} END
""",
    """
CREATE TRIGGER IF NOT EXISTS dashboard_counts_assignment_insert AFTER INSERT ON error_assignment
FOR EACH ROW WHEN NEW.is_active AND NEW.due_date IS NOT NULL
BEGIN
    INSERT INTO dashboard_due_count (project_id, due_date, count)
    SELECT e.project_id, NEW.due_date, 1 FROM error e
    WHERE e.id = NEW.error_id AND e.status = 'unresolved'
    ON CONFLICT (project_id, due_date) DO UPDATE SET count = count + 1;
END
""",
    f"""
CREATE TRIGGER IF NOT EXISTS dashboard_counts_assignment_update
AFTER UPDATE OF is_active, due_date, error_id ON error_assignment
FOR EACH ROW WHEN OLD.is_active IS NOT NEW.is_active OR OLD.due_date IS NOT NEW.due_date
    OR OLD.error_id IS NOT NEW.error_id
BEGIN
    {_SQLITE_OLD_ASSIGNMENT_OUT}
    INSERT INTO dashboard_due_count (project_id, due_date, count)
    SELECT e.project_id, NEW.due_date, 1 FROM error e
    WHERE NEW.is_active AND NEW.due_date IS NOT NULL
        AND e.id = NEW.error_id AND e.status = 'unresolved'
    ON CONFLICT (project_id, due_date) DO UPDATE SET count = count + 1;
END
""",
    f"""
CREATE TRIGGER IF NOT EXISTS dashboard_counts_assignment_delete AFTER DELETE ON error_assignment
FOR EACH ROW WHEN OLD.is_active AND OLD.due_date IS NOT NULL
BEGIN
    {_SQLITE_OLD_ASSIGNMENT_OUT}
END
""",
]

DROP_TRIGGERS = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "dashboard_counts_error_insert",
        "dashboard_counts_error_update",
        "dashboard_counts_error_delete",
        "dashboard_counts_assignment_insert",
        "dashboard_counts_assignment_update",
        "dashboard_counts_assignment_delete",
    )
]


def drop(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for statement in DROP_TRIGGERS:
            cursor.execute(statement)


def create(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for statement in CREATE_TRIGGERS:
            cursor.execute(statement)
