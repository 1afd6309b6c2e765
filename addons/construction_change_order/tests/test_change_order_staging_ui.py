from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
)

from .test_change_order_integration import co_payload


@tagged("post_install", "-at_install")
class TestChangeOrderStagingUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env, name="Tour PM Platform")
        cls.backend.approval_policy_ids = [
            Command.create({"event_type": "change_order.upsert", "policy": "stage"})
        ]

    def test_approver_rejects_from_the_queue(self):
        approver = new_test_user(
            self.env,
            login="tour_approver",
            groups="construction_connector_base.group_construction_accounting_approver",
        )
        event, _created = (
            self.env["construction.event"]
            .with_user(self.backend.user_id)
            ._receive(self.backend, "change_order.upsert", "tour-k1", co_payload())
        )
        self.start_tour(
            "/odoo/action-construction_connector_base.construction_event_action_approval",
            "construction_staging_reject_tour",
            login="tour_approver",
        )
        event.invalidate_recordset()
        self.assertEqual(event.state, "rejected")
        self.assertEqual(event.approval_user_id, approver)
        self.assertEqual(event.approval_comment, "Cost code 03-300 is closed")

    def test_synced_change_order_form_is_locked(self):
        project = self.env["project.project"].create({"name": "Tour Synced Project"})
        cost_code = self.env["account.analytic.account"].search(
            [("construction_role", "=", "cost_code")], limit=1
        )
        order = self.env["construction.change.order"].create(
            {
                "title": "Synced footing",
                "project_id": project.id,
                "line_ids": [
                    Command.create(
                        {"cost_code_id": cost_code.id, "name": "Work", "unit_cost": 10}
                    )
                ],
            }
        )
        self.env["construction.binding"].create(
            {
                "backend_id": self.backend.id,
                "model": order._name,
                "res_id": order.id,
                "external_id": "tour-co-1",
            }
        )
        self.start_tour(
            f"/odoo/construction.change.order/{order.id}",
            "construction_synced_lock_tour",
            login="admin",
        )
