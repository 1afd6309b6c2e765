from odoo.tests import Form, tagged

from .common import ChangeOrderCommon


@tagged("post_install", "-at_install")
class TestChangeOrderViews(ChangeOrderCommon):
    def test_form_entry_and_views(self):
        ChangeOrder = self.ChangeOrder.with_user(self.engineer)
        with Form(ChangeOrder) as form:
            form.title = "Owner asked for more parking"
            form.project_id = self.project
            form.partner_id = self.customer
            with form.line_ids.new() as line:
                line.cost_code_id = self.cc_concrete
                line.cost_type_id = self.material
                line.name = "Slab"
                line.quantity = 3
                line.unit_cost = 1000.0
                line.markup_percent = 12.5
                self.assertEqual(line.cost_amount, 3000.0)
                self.assertEqual(line.price_amount, 3375.0)
            self.assertEqual(form.amount_price, 3375.0)
        co = form.record
        self.assertEqual(co.amount_cost, 3000.0)
        self.assertIn("103,000.00", co.impact_preview_html)
        views = ChangeOrder.get_views(
            [
                (False, "kanban"),
                (False, "list"),
                (False, "form"),
                (False, "pivot"),
                (False, "search"),
            ]
        )
        self.assertEqual(
            set(views["views"]), {"kanban", "list", "form", "pivot", "search"}
        )
        groups = ChangeOrder.read_group(
            [("project_id", "=", self.project.id)], ["amount_cost"], ["status_id"]
        )
        # Kanban shows every active status as a column, empty ones included.
        self.assertEqual(len(groups), self.Status.search_count([]))

    def test_project_tier_field_readonly_once_used(self):
        self._create_co([(self.cc_concrete, self.material, 1, 1.0, 0.0)])
        with Form(self.project.with_user(self.manager)) as form:
            self.assertTrue(form.change_order_tiers_locked)
            # A prime change order leaves the commitment side's setting open.
            self.assertFalse(form.commitment_change_order_tiers_locked)
            form.commitment_change_order_tiers = "three"
        self.assertEqual(self.project.commitment_change_order_tiers, "three")
        self.assertEqual(self.project.change_order_count, 1)
