"""The dashboard's counts, kept by triggers on error and error_assignment.

Every writer of those tables (ingestion's one statement, the workflow verbs,
retention, admin edits, raw SQL) changes the counts in the same transaction, without
any of them knowing. What is counted is written once more in
tracking.dashboard_counts (the recount, which tests hold these triggers to); this
migration keeps its own copy, as migrations do, so that it runs the same however the
app changes later.

The triggers are created before the backfill, in the migration's transaction: on
PostgreSQL CREATE TRIGGER locks out writers of the table until the commit, so no change
falls between the backfill and the triggers.
"""

import django.db.models.deletion
from django.db import migrations, models

# An "open" error is an unresolved one (the dashboard's charts and its assignment
# counts); an assignment is counted while active, dated and on an open error.

POSTGRESQL_FORWARD = """
CREATE FUNCTION dashboard_due_add(p_project integer, p_due timestamptz, p_delta integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    remaining bigint;
BEGIN
    IF p_delta > 0 THEN
        INSERT INTO dashboard_due_count AS c (project_id, due_date, count)
        VALUES (p_project, p_due, p_delta)
        ON CONFLICT (project_id, due_date) DO UPDATE SET count = c.count + EXCLUDED.count;
    ELSE
        -- The row stays locked from the UPDATE to the DELETE: a concurrent decrement
        -- waits and sees the row gone; a concurrent upsert inserts it anew.
        UPDATE dashboard_due_count SET count = count + p_delta
        WHERE project_id = p_project AND due_date = p_due
        RETURNING count INTO remaining;
        IF remaining <= 0 THEN
            DELETE FROM dashboard_due_count WHERE project_id = p_project AND due_date = p_due;
        END IF;
    END IF;
END $$;

CREATE FUNCTION dashboard_counts_error() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    writer_slot smallint;
    due timestamptz;
BEGIN
    -- Each backend changes its own slot of the (project, level) count, so concurrent
    -- new errors of one project and level do not queue for one row lock (held until
    -- each commit's WAL flush); the dashboard sums the slots. A slot may go negative.
    writer_slot := pg_backend_pid() % 16;
    IF TG_OP <> 'INSERT' AND OLD.status = 'unresolved' THEN
        INSERT INTO dashboard_open_count AS c (project_id, level, slot, count)
        VALUES (OLD.project_id, OLD.level, writer_slot, -1)
        ON CONFLICT (project_id, level, slot) DO UPDATE SET count = c.count - 1;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'unresolved' THEN
        INSERT INTO dashboard_open_count AS c (project_id, level, slot, count)
        VALUES (NEW.project_id, NEW.level, writer_slot, 1)
        ON CONFLICT (project_id, level, slot) DO UPDATE SET count = c.count + 1;
    END IF;
    -- The error's active dated assignment follows it in and out of "open". (A new
    -- error has no assignment yet; an error with assignments cannot be deleted.)
    IF TG_OP = 'UPDATE' AND ((OLD.status = 'unresolved') <> (NEW.status = 'unresolved')
            OR OLD.project_id <> NEW.project_id) THEN
        SELECT a.due_date INTO due FROM error_assignment a
        WHERE a.error_id = NEW.id AND a.is_active AND a.due_date IS NOT NULL;
        IF due IS NOT NULL THEN
            IF OLD.status = 'unresolved' THEN
                PERFORM dashboard_due_add(OLD.project_id, due, -1);
            END IF;
            IF NEW.status = 'unresolved' THEN
                PERFORM dashboard_due_add(NEW.project_id, due, 1);
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION dashboard_counts_assignment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    project integer;
BEGIN
    -- The workflow locks the error before it changes an assignment, so its status
    -- cannot change under this read.
    IF TG_OP <> 'INSERT' AND OLD.is_active AND OLD.due_date IS NOT NULL THEN
        SELECT e.project_id INTO project FROM error e
        WHERE e.id = OLD.error_id AND e.status = 'unresolved';
        IF FOUND THEN
            PERFORM dashboard_due_add(project, OLD.due_date, -1);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.is_active AND NEW.due_date IS NOT NULL THEN
        SELECT e.project_id INTO project FROM error e
        WHERE e.id = NEW.error_id AND e.status = 'unresolved';
        IF FOUND THEN
            PERFORM dashboard_due_add(project, NEW.due_date, 1);
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- WHEN clauses: ingestion's per-event update names status in its SET list, so the
-- update trigger's WHEN is checked on every event; only a real change fires it.
CREATE TRIGGER dashboard_counts_error_insert AFTER INSERT ON error
FOR EACH ROW WHEN (NEW.status = 'unresolved') EXECUTE FUNCTION dashboard_counts_error();
CREATE TRIGGER dashboard_counts_error_update AFTER UPDATE OF status, level, project_id ON error
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.level IS DISTINCT FROM NEW.level
    OR OLD.project_id IS DISTINCT FROM NEW.project_id)
EXECUTE FUNCTION dashboard_counts_error();
CREATE TRIGGER dashboard_counts_error_delete AFTER DELETE ON error
FOR EACH ROW WHEN (OLD.status = 'unresolved') EXECUTE FUNCTION dashboard_counts_error();

CREATE TRIGGER dashboard_counts_assignment_insert AFTER INSERT ON error_assignment
FOR EACH ROW WHEN (NEW.is_active AND NEW.due_date IS NOT NULL)
EXECUTE FUNCTION dashboard_counts_assignment();
CREATE TRIGGER dashboard_counts_assignment_update
AFTER UPDATE OF is_active, due_date, error_id ON error_assignment
FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active
    OR OLD.due_date IS DISTINCT FROM NEW.due_date OR OLD.error_id IS DISTINCT FROM NEW.error_id)
EXECUTE FUNCTION dashboard_counts_assignment();
CREATE TRIGGER dashboard_counts_assignment_delete AFTER DELETE ON error_assignment
FOR EACH ROW WHEN (OLD.is_active AND OLD.due_date IS NOT NULL)
EXECUTE FUNCTION dashboard_counts_assignment();
"""

POSTGRESQL_REVERSE = """
DROP TRIGGER dashboard_counts_error_insert ON error;
DROP TRIGGER dashboard_counts_error_update ON error;
DROP TRIGGER dashboard_counts_error_delete ON error;
DROP TRIGGER dashboard_counts_assignment_insert ON error_assignment;
DROP TRIGGER dashboard_counts_assignment_update ON error_assignment;
DROP TRIGGER dashboard_counts_assignment_delete ON error_assignment;
DROP FUNCTION dashboard_counts_error();
DROP FUNCTION dashboard_counts_assignment();
DROP FUNCTION dashboard_due_add(integer, timestamptz, integer);
"""

# SQLite's triggers are the app's (tracking.dashboard_sqlite_triggers), created after
# every migrate: SQLite rebuilds a table to alter it, which drops its triggers and
# fails on triggers of other tables that name it, so a later migration of `error`
# would break on them here.

BACKFILL = [
    "DELETE FROM dashboard_open_count",
    "DELETE FROM dashboard_due_count",
    """
INSERT INTO dashboard_open_count (project_id, level, slot, count)
SELECT project_id, level, 0, COUNT(*) FROM error WHERE status = 'unresolved'
GROUP BY project_id, level
""",
    """
INSERT INTO dashboard_due_count (project_id, due_date, count)
SELECT e.project_id, a.due_date, COUNT(*)
FROM error_assignment a JOIN error e ON e.id = a.error_id
WHERE a.is_active AND a.due_date IS NOT NULL AND e.status = 'unresolved'
GROUP BY e.project_id, a.due_date
""",
]


def install(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        statements = [POSTGRESQL_FORWARD]
    elif connection.vendor == "sqlite":
        statements = []
    else:
        raise NotImplementedError(f"no dashboard count triggers for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in [*statements, *BACKFILL]:
            cursor.execute(statement)


def uninstall(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(POSTGRESQL_REVERSE)


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0019_access_cleanups_one_default_policy"),
    ]

    operations = [
        migrations.CreateModel(
            name="DashboardDueCount",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "project_id",
                        "due_date",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("due_date", models.DateTimeField()),
                ("count", models.BigIntegerField(db_default=0, default=0)),
                (
                    "project",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tracking.project",
                    ),
                ),
            ],
            options={
                "db_table": "dashboard_due_count",
            },
        ),
        migrations.CreateModel(
            name="DashboardOpenCount",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "project_id",
                        "level",
                        "slot",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "level",
                    models.CharField(
                        choices=[
                            ("fatal", "Fatal"),
                            ("error", "Error"),
                            ("warning", "Warning"),
                            ("info", "Info"),
                            ("debug", "Debug"),
                        ],
                        max_length=10,
                    ),
                ),
                ("slot", models.SmallIntegerField(db_default=0, default=0)),
                ("count", models.BigIntegerField(db_default=0, default=0)),
                (
                    "project",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tracking.project",
                    ),
                ),
            ],
            options={
                "db_table": "dashboard_open_count",
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
