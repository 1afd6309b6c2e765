"""Errors a handler raises to tell the framework what happened.

* ``PermanentEventError``: the event can never succeed as sent (unmapped code, invalid
  reference). The event goes to ``failed`` at once, with the message as readable reason.
* ``ParentMissing``: a record the event refers to has not arrived yet. The event is
  ``parked`` and processed again later (and as soon as another event of the backend
  is applied); it is never dropped.
* ``RetryableJobError`` (queue_job's, re-exported here): a transient problem (lock,
  remote system down). The job is retried with the function's jittered backoff; after
  the last retry the event is ``dead``.
"""

from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError


class PermanentEventError(Exception):
    """The event cannot be applied; retrying without a fix would not help."""


class ParentMissing(Exception):
    """A record the event depends on does not exist yet: park and retry later."""


class IdempotencyConflict(Exception):
    """The idempotency key is known with another body, or its twin is in flight.

    ``event`` is the first event when it is known (else an empty recordset).
    """

    def __init__(self, event, message):
        super().__init__(message)
        self.event = event


class ReconciliationRunning(UserError):
    """A reconciliation of the same external system is already in progress."""


__all__ = [
    "IdempotencyConflict",
    "ParentMissing",
    "PermanentEventError",
    "ReconciliationRunning",
    "RetryableJobError",
]
