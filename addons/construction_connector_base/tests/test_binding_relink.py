from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import ConstructionCommon
from .common_integration import cost_code_payload, make_backend, run_pending_jobs

ACCOUNT = "account.analytic.account"


@tagged("post_install", "-at_install")
class TestBindingRelink(ConstructionCommon):
    """Unlink and relink a binding; the audit chain is kept."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env)
        cls.Event = cls.env["construction.event"].with_user(cls.backend.user_id)
        cls.manager = new_test_user(
            cls.env,
            login="binding_manager",
            name="Morgan Binding-Manager",
            groups="construction_connector_base.group_construction_manager",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.user = new_test_user(
            cls.env,
            login="binding_user",
            groups="construction_connector_base.group_construction_user",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )

    def _send(self, key, payload):
        event, _created = self.Event._receive(
            self.backend, "cost_code.upsert", key, payload
        )
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        self.assertEqual(event.state, "done", event.last_error)
        return event

    def _binding(self):
        return self.env["construction.binding"]._find_binding(
            self.backend, ACCOUNT, "pm-1"
        )

    def _history(self):
        return self.env["construction.binding.log"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("model", "=", ACCOUNT),
                ("external_id", "=", "pm-1"),
            ],
            order="id",
        )

    def _wizard(self, binding, mode, record=None, reason="Wrong cost code"):
        vals = {"binding_id": binding.id, "mode": mode, "reason": reason}
        if record:
            vals["new_res_id"] = record.id
        return (
            self.env["construction.binding.relink.wizard"]
            .with_user(self.manager)
            .create(vals)
        )

    def test_relink_then_unlink_keeps_history(self):
        self._send("k1", cost_code_payload())
        binding = self._binding()
        first = self.env[ACCOUNT].browse(binding.res_id)
        self.assertEqual(first.code, "03-370")
        self.assertEqual(
            self._history().mapped(lambda log: (log.action, log.new_res_id)),
            [("link", first.id)],
        )

        self._wizard(binding, "relink", self.cc_steel).action_confirm()
        self.assertEqual(binding.res_id, self.cc_steel.id)
        self.assertFalse(binding.last_payload_hash)
        relink = self._history()[-1]
        self.assertEqual(
            (relink.action, relink.old_res_id, relink.new_res_id, relink.user_id),
            ("relink", first.id, self.cc_steel.id, self.manager),
        )
        self.assertEqual(relink.old_record_name, first.display_name)
        self.assertEqual(relink.new_record_name, self.cc_steel.display_name)
        self.assertEqual(relink.reason, "Wrong cost code")
        self.assertEqual(binding.log_ids, self._history())

        # The next version of the entity now updates the relinked record.
        self._send("k2", cost_code_payload(version=2, name="Renamed by the PM"))
        self.assertEqual(self.cc_steel.name, "Renamed by the PM")
        self.assertNotEqual(first.name, "Renamed by the PM")

        self._wizard(binding, "unlink", reason="Duplicate in the PM").action_confirm()
        self.assertFalse(binding.exists())
        self.assertFalse(self._binding())
        history = self._history()
        self.assertEqual(
            history.mapped(
                lambda log: (log.action, log.old_res_id, log.new_res_id, log.user_id)
            ),
            [
                ("link", 0, first.id, self.backend.user_id),
                ("relink", first.id, self.cc_steel.id, self.manager),
                ("unlink", self.cc_steel.id, 0, self.manager),
            ],
        )
        self.assertEqual(history[-1].reason, "Duplicate in the PM")
        # A new event for the external id starts a new link; the chain goes on.
        self._send("k3", cost_code_payload(version=3, code="03-380", name="New"))
        self.assertEqual(
            self._history().mapped("action"), ["link", "relink", "unlink", "link"]
        )

    def test_relink_refusals(self):
        self._send("k1", cost_code_payload())
        binding = self._binding()
        original = binding.res_id
        with self.assertRaises(AccessError):
            binding.with_user(self.user)._relink(self.cc_steel, "no rights")
        with self.assertRaises(AccessError):
            binding.with_user(self.user)._unlink_binding("no rights")
        with self.assertRaisesRegex(UserError, "Pick one existing"):
            binding.with_user(self.manager)._relink(self.project, "wrong model")
        self._send("k2", cost_code_payload(external_id="pm-2", code="03-390"))
        taken = self.env["construction.binding"]._find(self.backend, ACCOUNT, "pm-2")
        with self.assertRaisesRegex(UserError, "already bound to external id pm-2"):
            self._wizard(binding, "relink", taken).action_confirm()
        self.assertEqual(binding.res_id, original)
        self.assertEqual(self._history().mapped("action"), ["link"])


@tagged("post_install", "-at_install")
class TestBindingRelinkUi(HttpCase):
    def test_manager_relinks_from_the_form(self):
        backend = make_backend(self.env, name="Tour Binding Platform")
        plan = self.env.ref("construction_connector_base.analytic_plan_division_03")
        concrete, steel = self.env[ACCOUNT].create(
            [
                {"name": "Tour Concrete", "code": "T-03-1", "plan_id": plan.id},
                {"name": "Tour Steel", "code": "T-05-1", "plan_id": plan.id},
            ]
        )
        binding = self.env["construction.binding"]._bind(
            backend, concrete, "tour-ext-1"
        )
        self.start_tour(
            "/odoo/action-construction_connector_base.construction_binding_action",
            "construction_binding_relink_tour",
            login="admin",
        )
        self.assertEqual(binding.res_id, steel.id)
        self.assertEqual(
            binding.log_ids.sorted("id").mapped("action"), ["link", "relink"]
        )
        self.assertEqual(
            binding.log_ids.sorted("id")[-1].reason, "Mapped to the wrong cost code"
        )
