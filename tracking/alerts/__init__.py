"""Alerts: where messages go (channels), when they are sent (rules), and their delivery.

- `dispatch.dispatch(alert=...)`: the one way an Alert leaves: a delivery per enabled
  channel of its rule (or the one channel of a test message), each sent by a task.
- `delivery`: the task that sends one delivery, its retries and the attempt log.
"""
