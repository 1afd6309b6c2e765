from odoo import Command
from odoo.tests import HttpCase, tagged

from .common_integration import make_backend


@tagged("post_install", "-at_install")
class TestMonitorTour(HttpCase):
    def test_replay_failed_event_from_overview(self):
        # the overview counts per company: a company of its own gives exact counts
        company = self.env["res.company"].create({"name": "Tour Monitor Co"})
        self.env.ref("base.user_admin").write(
            {"company_ids": [Command.link(company.id)], "company_id": company.id}
        )
        backend = make_backend(self.env, name="Tour Field App", company=company)
        event = self.env["construction.event"].create(
            {
                "backend_id": backend.id,
                "event_type": "cost_code.upsert",
                "idempotency_key": "tour-failed-1",
                "payload": "{}",
                "state": "failed",
                "attempts": 1,
                "last_error": "Unknown cost code TOUR-404 for Tour Field App.",
            }
        )
        self.start_tour(
            "/odoo/action-construction_connector_base.construction_monitor_overview_action",
            "construction_monitor_replay_tour",
            login="admin",
        )
        self.assertEqual(event.state, "queued")
        self.assertEqual(event.replay_count, 1)
        self.assertTrue(event.job_id)
        self.assertEqual(event.job_id.state, "pending")
