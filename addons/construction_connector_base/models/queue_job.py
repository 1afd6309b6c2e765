from odoo import fields, models


class QueueJob(models.Model):
    """Keeps each construction.event's state in step with its processing job.

    queue_job records retries and failures in its own cursor after rolling back the
    job's transaction, so the event follows the job here: started -> processing,
    postponed after a RetryableJobError -> failed (retrying), failed (retries
    exhausted or crash) -> dead, cancelled -> cancelled.
    """

    _inherit = "queue.job"

    def write(self, vals):
        res = super().write(vals)
        if "state" in vals:
            self._sync_construction_events()
            self._sync_construction_outbox()
        return res

    def _sync_construction_outbox(self):
        # sudo: as above, outbound messages follow their delivery job.
        messages = (
            self.env["construction.outbox.message"]
            .sudo()
            .search([("job_id", "in", self.ids)])
        )
        for message in messages:
            message._sync_with_job(message.job_id)

    def _sync_construction_events(self):
        # sudo: queue_job writes jobs as superuser in its own cursor; the events
        # linked to these jobs are updated as bookkeeping, nothing is returned.
        events = (
            self.env["construction.event"].sudo().search([("job_id", "in", self.ids)])
        )
        for event in events:
            job = event.job_id
            vals = {}
            if job.state == "started" and event.state in ("queued", "failed", "parked"):
                vals = {"state": "processing"}
            elif job.state in ("pending", "enqueued") and event.state == "processing":
                if job.retry:  # postponed by a RetryableJobError
                    vals = {
                        "state": "failed",
                        "last_error": job.result or job.exc_message,
                        "attempts": event.attempts + 1,
                        "processed_date": fields.Datetime.now(),
                    }
                else:  # requeued (stuck job found by the garbage collector)
                    vals = {"state": "queued"}
            elif (
                job.state == "pending"
                and not job.retry
                and event.state in ("failed", "dead")
            ):
                # requeued by hand in Job Queue (its "Requeue" wizard): a replay
                vals = {"state": "queued", "replay_count": event.replay_count + 1}
            elif job.state == "failed" and event.state in (
                "queued",
                "processing",
                "failed",
                "parked",
            ):
                vals = {
                    "state": "dead",
                    "last_error": job.exc_message or job.exc_name,
                    "attempts": event.attempts + 1,
                    "processed_date": fields.Datetime.now(),
                }
            elif job.state == "cancelled" and event.state in (
                "queued",
                "failed",
                "parked",
            ):
                vals = {"state": "cancelled"}
            if vals:
                event.write(vals)
