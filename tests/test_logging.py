import json
import logging

from errortracker.logging import JsonFormatter


def test_json_formatter_writes_one_valid_object_per_record():
    record = logging.makeLogRecord(
        {"name": "tracking.ingest", "levelname": "WARNING", "msg": 'quote " and %s', "args": ("x",)}
    )
    record.project_id = 7
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == 'quote " and x'
    assert entry["level"] == "warning"
    assert entry["logger"] == "tracking.ingest"
    assert entry["project_id"] == 7
    assert "\n" not in line
