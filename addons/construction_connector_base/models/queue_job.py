from odoo import models

# Jobs that have not started yet: cancelling them means they never run.
UNSTARTED_JOB_STATES = ("wait_dependencies", "pending", "enqueued")
# Models whose records follow their processing job (each has ``job_id`` and
# ``_sync_with_job(job)``).
JOB_FOLLOWERS = ("construction.event", "construction.outbox.message")


class QueueJob(models.Model):
    """Keeps inbound events and outbound messages in step with their jobs.

    queue_job records retries and failures in its own cursor after rolling back the
    job's transaction, so the event or message follows its job here.
    """

    _inherit = "queue.job"

    def write(self, vals):
        res = super().write(vals)
        if "state" in vals:
            for model in JOB_FOLLOWERS:
                # sudo: queue_job writes jobs as superuser in its own cursor; the
                # records linked to these jobs are updated as bookkeeping, nothing
                # is returned.
                followers = self.env[model].sudo().search([("job_id", "in", self.ids)])
                for record in followers:
                    record._sync_with_job(record.job_id)
        return res

    def _cancel_unstarted(self):
        """Cancel those of these jobs that have not started yet."""
        self.filtered(lambda job: job.state in UNSTARTED_JOB_STATES).button_cancelled()
