from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import ChangeOrderCommon


@tagged("post_install", "-at_install")
class TestChangeOrderApproval(ChangeOrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pm_group = cls.env["res.groups"].create({"name": "Test CO PMs"})
        cls.pm.groups_id |= pm_group
        cls.manager_group = cls.env.ref(
            "construction_connector_base.group_construction_manager"
        )
        cls.rule_pm = cls.Rule.create(
            {
                "name": "Project manager",
                "sequence": 10,
                "amount_up_to": 10000.0,
                "group_id": pm_group.id,
            }
        )
        cls.rule_cm = cls.Rule.create(
            {
                "name": "Construction manager",
                "sequence": 20,
                "amount_above": 10000.0,
                "user_ids": [(6, 0, cls.manager.ids)],
            }
        )
        cls.rule_director = cls.Rule.create(
            {
                "name": "Director",
                "sequence": 30,
                "amount_above": 50000.0,
                "user_ids": [(6, 0, cls.director.ids)],
            }
        )

    def _submitted(self, amount, side="prime", user=None):
        co = self._create_co(
            [(self.cc_concrete, self.material, 1, amount, 0.0)],
            side=side,
            user=user,
        )
        co.action_submit()
        return co

    def _levels(self, co):
        return [(a.name, a.state) for a in co._current_approvals()]

    def test_small_change_goes_to_project_manager(self):
        co = self._submitted(10000.0)  # "up to" is inclusive
        self.assertEqual(self._levels(co), [("Project manager", "pending")])
        with self.assertRaisesMsg(AccessError, "not an approver"):
            co.with_user(self.manager).action_approve()
        co.with_user(self.pm).action_approve()
        self.assertEqual(co.stage_kind, "approved")

    def test_medium_change_goes_to_construction_manager(self):
        co = self._submitted(10000.01)
        self.assertEqual(self._levels(co), [("Construction manager", "pending")])
        with self.assertRaisesMsg(AccessError, "not an approver"):
            co.with_user(self.pm).action_approve()
        co.with_user(self.manager).action_approve()
        self.assertEqual(co.stage_kind, "approved")

    def test_large_change_needs_two_levels_in_sequence(self):
        co = self._submitted(75000.0)
        self.assertEqual(
            self._levels(co),
            [("Construction manager", "pending"), ("Director", "waiting")],
        )
        # The director can't skip the construction manager.
        with self.assertRaisesMsg(AccessError, "not an approver"):
            co.with_user(self.director).action_approve()
        co.with_user(self.manager).action_approve(comment="OK for me")
        self.assertEqual(co.stage_kind, "pending")
        self.assertEqual(
            self._levels(co),
            [("Construction manager", "approved"), ("Director", "pending")],
        )
        self.assertEqual(co.next_approver_names, "Dana Director")
        # Pending approvals lock the amounts.
        with self.assertRaisesMsg(UserError, "already has approvals"):
            co.line_ids.with_user(self.engineer).unit_cost = 1.0
        self.assertEqual(
            self._columns(self.line_concrete), (75000.0, 0.0, 100000.0, 175000.0)
        )
        co.with_user(self.director).action_approve()
        self.assertEqual(co.stage_kind, "approved")
        self.assertEqual(co.approved_by_id, self.director)
        self.assertEqual(
            self._columns(self.line_concrete), (0.0, 75000.0, 175000.0, 175000.0)
        )

    def test_deductive_change_routed_on_absolute_value(self):
        co = self._submitted(-60000.0)
        self.assertEqual(
            self._levels(co),
            [("Construction manager", "pending"), ("Director", "waiting")],
        )

    def test_self_approval_refused(self):
        co = self._submitted(5000.0, user=self.pm)
        self.assertFalse(co.with_user(self.pm).can_decide)
        with self.assertRaisesMsg(AccessError, "cannot approve or reject it yourself"):
            co.with_user(self.pm).action_approve()
        with self.assertRaisesMsg(AccessError, "yourself"):
            co.with_user(self.pm).action_reject("no")
        self.assertEqual(co.stage_kind, "pending")
        # Also when someone else keyed it in for the PM.
        co2 = self._create_co(
            [(self.cc_concrete, self.material, 1, 5000.0, 0.0)],
            requested_by_id=self.pm.id,
        )
        co2.action_submit()
        with self.assertRaisesMsg(AccessError, "yourself"):
            co2.with_user(self.pm).action_approve()

    def test_same_person_cannot_approve_two_levels(self):
        self.rule_director.user_ids = [(4, self.manager.id)]
        co = self._submitted(75000.0)
        co.with_user(self.manager).action_approve()
        with self.assertRaisesMsg(AccessError, "already approved"):
            co.with_user(self.manager).action_approve()

    def test_project_rules_replace_company_rules(self):
        self.Rule.create(
            {
                "name": "Clinic owner rep",
                "project_id": self.project.id,
                "user_ids": [(6, 0, self.director.ids)],
            }
        )
        co = self._submitted(75000.0)
        self.assertEqual(self._levels(co), [("Clinic owner rep", "pending")])

    def test_side_specific_rule(self):
        self.Rule.search([]).active = False
        self.Rule.create(
            {
                "name": "Buyer",
                "side": "commitment",
                "user_ids": [(6, 0, self.pm.ids)],
            }
        )
        prime = self._submitted(100.0)
        self.assertEqual(self._levels(prime), [("Construction Manager", "pending")])
        commitment = self._submitted(100.0, side="commitment")
        self.assertEqual(self._levels(commitment), [("Buyer", "pending")])

    def test_no_rule_means_construction_manager(self):
        self.Rule.search([]).active = False
        co = self._submitted(100.0)
        self.assertEqual(self._levels(co), [("Construction Manager", "pending")])
        with self.assertRaisesMsg(AccessError, "not an approver"):
            co.with_user(self.pm).action_approve()
        co.with_user(self.director).action_approve()
        self.assertEqual(co.stage_kind, "approved")

    def test_back_to_draft_cancels_round(self):
        co = self._submitted(75000.0)
        co.with_user(self.manager).action_approve()
        co.with_user(self.engineer).action_draft()
        self.assertEqual([a.state for a in co.approval_ids], ["approved", "cancelled"])
        self.assertEqual(co.approval_state, "none")
        co.line_ids.with_user(self.engineer).unit_cost = 5000.0
        co.with_user(self.engineer).action_submit()
        self.assertEqual(self._levels(co), [("Project manager", "pending")])

    def test_no_charge(self):
        co = self._submitted(2000.0)
        with self.assertRaisesMsg(AccessError, "Construction Manager"):
            co.with_user(self.pm).action_no_charge()
        co.with_user(self.manager).action_no_charge()
        self.assertEqual(co.stage_kind, "no_charge")
        self.assertEqual(self._columns(self.line_concrete)[:2], (0.0, 0.0))
        self.assertEqual(co._current_approvals().mapped("state"), ["cancelled"])

    def test_approval_audit_is_read_only_for_users(self):
        co = self._submitted(2000.0)
        with self.assertRaises(AccessError):
            co.approval_ids.with_user(self.pm).write({"state": "approved"})
        with self.assertRaises(AccessError):
            self.env["construction.change.order.approval"].with_user(
                self.manager
            ).create({"change_order_id": co.id, "name": "Fake"})
