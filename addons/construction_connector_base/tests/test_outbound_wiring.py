"""Queued server actions, the job-to-date cost export, "Send to External
System" and the purge of delivered outbound bodies."""

import json
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import ConstructionCommon
from .common_integration import make_backend, run_job


@tagged("post_install", "-at_install")
class TestOutboundWiring(ConstructionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(
            cls.env,
            name="Cost PM",
            outbound_url="http://127.0.0.1:9/hooks",
            outbound_event_types="job_cost.export, invoice.sync",
        )
        cls.quiet = make_backend(
            cls.env,
            name="Quiet PM",
            outbound_url="http://127.0.0.1:9/quiet",
            outbound_event_types="change_order.status",
        )
        cls.manager = new_test_user(
            cls.env,
            login="outbound_manager",
            groups="base.group_user,construction_connector_base."
            "group_construction_manager,account.group_account_invoice,"
            "base.group_partner_manager",
        )
        cls.Outbox = cls.env["construction.outbox.message"]

    def _messages(self, backend=None, **domain):
        search = [("backend_id", "=", (backend or self.backend).id)]
        search += [(key, "=", value) for key, value in domain.items()]
        return self.Outbox.search(search, order="id")

    # ---- queued server actions ----

    def _queued_action(self, **vals):
        return self.env["ir.actions.server"].create(
            dict(
                {
                    "name": "Tag the partner",
                    "model_id": self.env.ref("base.model_res_partner").id,
                    "state": "code",
                    "code": "records.write({'ref': 'by %s in %s' % "
                    "(env.user.login, env.company.name)})",
                    "construction_queued": True,
                    "construction_queue_priority": 7,
                },
                **vals,
            )
        )

    def _action_jobs(self):
        return (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("model_name", "=", "ir.actions.server"),
                    ("method_name", "=", "_construction_run_queued"),
                ],
                order="id",
            )
        )

    def test_queued_server_action_runs_in_a_job_as_the_same_user(self):
        company_b = self.env["res.company"].create({"name": "Outbound Co B"})
        self.manager.write({"company_ids": [Command.link(company_b.id)]})
        action = self._queued_action(
            construction_queue_channel_id=self.env.ref(
                "construction_connector_base.channel_construction_integration"
            ).id
        )
        partners = self.customer | self.vendor
        before = self._action_jobs()
        result = (
            action.with_user(self.manager)
            .with_context(
                active_model="res.partner",
                active_ids=partners.ids,
                allowed_company_ids=[company_b.id, self.company.id],
            )
            .sudo(False)
            .run()
        )
        self.assertEqual(result["tag"], "display_notification")
        # nothing ran inline
        self.assertEqual(partners.mapped("ref"), [False, False])
        job = self._action_jobs() - before
        self.assertEqual(len(job), 1)
        self.assertEqual(job.user_id, self.manager)
        self.assertEqual(job.company_id, company_b)
        self.assertEqual(job.priority, 7)
        self.assertEqual(job.channel, "root.construction_integration")
        self.assertEqual(job.args, ["res.partner", partners.ids, {}])
        self.assertEqual(run_job(self.env, job), "done")
        partners.invalidate_recordset(["ref"])
        expected = f"by outbound_manager in {company_b.name}"
        self.assertEqual(partners.mapped("ref"), [expected] * 2)

    def test_inline_server_action_is_unchanged(self):
        action = self._queued_action(construction_queued=False)
        before = self._action_jobs()
        action.with_context(
            active_model="res.partner", active_ids=self.customer.ids
        ).run()
        self.assertEqual(self.customer.ref, f"by __system__ in {self.company.name}")
        self.assertFalse(self._action_jobs() - before)

    def test_automation_rule_with_queued_action_runs_in_background(self):
        action = self._queued_action()
        self.env["base.automation"].create(
            {
                "name": "Queued on partner rename",
                "model_id": action.model_id.id,
                "trigger": "on_create_or_write",
                "trigger_field_ids": [
                    Command.set(
                        self.env["ir.model.fields"]._get("res.partner", "name").ids
                    )
                ],
                "action_server_ids": [Command.link(action.id)],
            }
        )
        before = self._action_jobs()
        self.customer.with_user(self.manager).write({"name": "Renamed Owner"})
        self.assertFalse(self.customer.ref)
        job = self._action_jobs() - before
        self.assertEqual(len(job), 1)
        self.assertEqual(job.user_id, self.manager)
        self.assertEqual(job.args[:2], ["res.partner", self.customer.ids])
        self.assertEqual(run_job(self.env, job), "done")
        self.customer.invalidate_recordset(["ref"])
        self.assertEqual(
            self.customer.ref, f"by outbound_manager in {self.company.name}"
        )

    def test_queued_action_refused_at_once_without_rights(self):
        """A user who may not run the action is told now, and nothing is queued."""
        action = self._queued_action()
        portal = new_test_user(
            self.env, login="outbound_portal", groups="base.group_portal"
        )
        before = self._action_jobs()
        with self.assertRaises(AccessError):
            action.with_user(portal).with_context(
                active_model="res.partner", active_ids=self.customer.ids
            ).sudo(False).run()
        self.assertFalse(self._action_jobs() - before)

    def test_queued_action_triggered_in_a_queued_job_gets_its_own_job(self):
        first = self._queued_action(
            name="Rename", code="records.write({'name': records.name + ' (checked)'})"
        )
        second = self._queued_action()
        self.env["base.automation"].create(
            {
                "name": "Queued on partner rename",
                "model_id": second.model_id.id,
                "trigger": "on_create_or_write",
                "trigger_field_ids": [
                    Command.set(
                        self.env["ir.model.fields"]._get("res.partner", "name").ids
                    )
                ],
                "action_server_ids": [Command.link(second.id)],
            }
        )
        before = self._action_jobs()
        first.with_context(
            active_model="res.partner", active_ids=self.customer.ids
        ).run()
        job = self._action_jobs() - before
        self.assertEqual(run_job(self.env, job), "done")
        # the rename ran in the first job; the tagging waits in its own job
        self.assertFalse(self.customer.ref)
        nested = self._action_jobs() - before - job
        self.assertEqual(len(nested), 1)
        self.assertEqual(run_job(self.env, nested), "done")
        self.customer.invalidate_recordset(["ref"])
        self.assertTrue(self.customer.ref)

    def test_queued_action_on_deleted_records_does_nothing(self):
        partner = self.env["res.partner"].create({"name": "Gone Soon"})
        action = self._queued_action()
        before = self._action_jobs()
        action.with_context(active_model="res.partner", active_ids=partner.ids).run()
        job = self._action_jobs() - before
        partner.unlink()
        self.assertEqual(run_job(self.env, job), "done")
        self.assertIn("deleted", job.result)

    # ---- job-to-date cost export ----

    def test_job_cost_export_per_project_and_cost_code(self):
        self.line_concrete.original_amount = 100000.00
        self._post_vendor_bill(1234.56, self.cc_concrete, self.material)
        self._post_vendor_bill(200.00, self.cc_steel, self.subcontract)
        messages = self.budget.with_user(self.manager).action_export_job_cost()
        self.assertEqual(messages["tag"], "display_notification")
        sent = self._messages(event_type="job_cost.export")
        self.assertEqual(len(sent), 1)
        self.assertFalse(self._messages(self.quiet))
        self.assertEqual(sent.res_model, "construction.budget")
        self.assertEqual(sent.res_id, self.budget.id)
        body = json.loads(sent.payload)
        self.assertEqual(body["event_type"], "job_cost.export")
        data = body["data"]
        self.assertEqual(
            data["project"], {"id": self.project.id, "name": "Test Clinic"}
        )
        rows = {row["cost_code"]: row for row in data["cost_codes"]}
        self.assertEqual(sorted(rows), ["T03-100", "T03-300", "T05-100"])
        concrete = rows["T03-300"]
        self.assertEqual(concrete["original_budget"], 100000.00)
        self.assertEqual(concrete["revised_budget"], 100000.00)
        self.assertEqual(concrete["approved_changes"], 0.0)
        self.assertEqual(concrete["actual_cost"], 1234.56)
        self.assertEqual(concrete["open_commitments"], 0.0)
        self.assertEqual(
            concrete["estimate_at_completion"],
            self.line_concrete.estimate_at_completion,
        )
        self.assertEqual(rows["T05-100"]["actual_cost"], 200.00)
        self.assertEqual(data["totals"]["original_budget"], 390000.00)
        self.assertEqual(data["totals"]["actual_cost"], 1434.56)

    def test_job_cost_export_from_the_project_action_menu(self):
        self.env.ref(
            "construction_connector_base.project_project_action_export_job_cost"
        ).with_user(self.manager).with_context(
            active_model="project.project", active_ids=self.project.ids
        ).run()
        sent = self._messages(event_type="job_cost.export")
        self.assertEqual(sent.mapped("res_id"), self.budget.ids)
        self.assertEqual(
            json.loads(sent.payload)["data"]["totals"]["revised_budget"], 390000.00
        )
        # A construction user (not a manager) cannot send it, even by RPC.
        user = new_test_user(
            self.env,
            login="job_cost_site_user",
            groups="construction_connector_base.group_construction_user",
        )
        with self.assertRaisesRegex(AccessError, "Construction Manager"):
            self.budget.with_user(user).action_export_job_cost()
        self.assertEqual(self._messages(event_type="job_cost.export"), sent)

    def test_job_cost_cron_one_message_per_project_and_system(self):
        other_project = self.env["project.project"].create({"name": "Test Depot"})
        other_budget = self.env["construction.budget"].create(
            {
                "project_id": other_project.id,
                "line_ids": [
                    Command.create(
                        {
                            "cost_code_id": self.cc_steel.id,
                            "original_amount": 5000.00,
                        }
                    )
                ],
            }
        )
        second = make_backend(
            self.env,
            name="Second PM",
            outbound_url="http://127.0.0.1:9/second",
            outbound_event_types="*",
        )
        self.env["construction.budget"]._cron_export_job_cost()
        for backend in (self.backend, second):
            sent = self._messages(backend, event_type="job_cost.export")
            budgets = sent.mapped("res_id")
            self.assertIn(self.budget.id, budgets)
            self.assertIn(other_budget.id, budgets)
            self.assertEqual(len(budgets), len(set(budgets)))
        depot = self._messages(res_id=other_budget.id, event_type="job_cost.export")
        self.assertEqual(
            json.loads(depot.payload)["data"]["cost_codes"][0]["original_budget"],
            5000.00,
        )

    def test_job_cost_export_without_subscriber_says_so(self):
        self.backend.outbound_event_types = "invoice.sync"
        with self.assertRaisesMsg(UserError, "No external system subscribes"):
            self.budget.action_export_job_cost()

    # ---- Send to External System ----

    def test_send_vendor_bill_through_the_wizard(self):
        bill = self._post_vendor_bill(500.00, self.cc_concrete, self.material)
        action = (
            self.env.ref(
                "construction_connector_base.action_account_move_send_outbound"
            )
            .with_user(self.manager)
            .with_context(active_model="account.move", active_ids=bill.ids)
            .run()
        )
        self.assertEqual(action["res_model"], "construction.outbound.send.wizard")
        wizard = (
            self.env["construction.outbound.send.wizard"]
            .with_user(self.manager)
            .with_context(action["context"])
            .create({})
        )
        # proposed: the system subscribed to invoice.sync, not the other one
        self.assertEqual(wizard.backend_ids, self.backend)
        self.assertEqual(wizard.event_type, "invoice.sync")
        wizard.backend_ids = self.backend | self.quiet
        wizard.action_send()
        for backend in (self.backend, self.quiet):
            message = self._messages(backend, event_type="invoice.sync")
            self.assertEqual(len(message), 1)
            self.assertEqual(message.state, "pending")
            self.assertTrue(message.job_id)
            data = json.loads(message.payload)["data"]
            self.assertEqual(data["invoice"], bill.name)
            self.assertEqual(data["move_type"], "in_invoice")
            self.assertEqual(data["amount_total"], 500.00)
            self.assertEqual(data["lines"][0]["price_subtotal"], 500.00)

    def test_send_needs_a_manager_and_a_system(self):
        bill = self._post_vendor_bill(20.00, self.cc_concrete)
        user = new_test_user(
            self.env,
            login="outbound_user",
            groups="base.group_user,construction_connector_base.group_construction_user",
        )
        action = self.env.ref(
            "construction_connector_base.action_account_move_send_outbound"
        )
        with self.assertRaises(AccessError):
            action.with_user(user).with_context(
                active_model="account.move", active_ids=bill.ids
            ).run()
        wizard = (
            self.env["construction.outbound.send.wizard"]
            .with_user(self.manager)
            .with_context(bill.action_construction_send()["context"])
            .create({})
        )
        wizard.backend_ids = False
        with self.assertRaisesMsg(UserError, "at least one external system"):
            wizard.action_send()
        self.assertFalse(self._messages(event_type="invoice.sync"))

    def test_job_cost_cron_covers_every_company(self):
        company_b = self.env["res.company"].create({"name": "Outbound Co D"})
        backend_b = make_backend(
            self.env,
            name="Co D PM",
            company=company_b,
            outbound_url="http://127.0.0.1:9/d",
            outbound_event_types="job_cost.export",
        )
        code_b = self._create_cost_code(
            "D03-100", "Co D Concrete", self.division_03, company=company_b
        )
        project_b = (
            self.env["project.project"]
            .with_company(company_b)
            .create({"name": "Co D Garage", "company_id": company_b.id})
        )
        budget_b = (
            self.env["construction.budget"]
            .with_company(company_b)
            .create(
                {
                    "project_id": project_b.id,
                    "line_ids": [
                        Command.create(
                            {"cost_code_id": code_b.id, "original_amount": 777.00}
                        )
                    ],
                }
            )
        )
        # the cron runs with the first company as the current one
        self.env["construction.budget"].with_context(
            allowed_company_ids=self.company.ids
        )._cron_export_job_cost()
        sent = self._messages(backend_b, event_type="job_cost.export")
        self.assertEqual(sent.mapped("res_id"), budget_b.ids)
        self.assertEqual(
            json.loads(sent.payload)["data"]["totals"]["original_budget"], 777.00
        )
        # the other company's system gets nothing of this company's projects
        self.assertNotIn(self.budget.id, sent.mapped("res_id"))

    def test_send_refuses_journal_entries_and_other_companies(self):
        entry = self.env["account.move"].create({"move_type": "entry"})
        with self.assertRaisesMsg(UserError, "Only customer invoices"):
            entry.action_construction_send()
        company_b = self.env["res.company"].create({"name": "Outbound Co C"})
        other = make_backend(
            self.env,
            name="Other Co PM",
            company=company_b,
            outbound_url="http://127.0.0.1:9/b",
        )
        bill = self._post_vendor_bill(10.00, self.cc_concrete)
        with self.assertRaisesMsg(UserError, "none of the chosen systems"):
            bill._construction_send(other)
        self.assertFalse(self._messages(other))

    # ---- purge ----

    def test_purge_clears_old_delivered_bodies_only(self):
        self.env["ir.config_parameter"].set_param(
            "construction_connector_base.outbox_purge_days", "30"
        )
        Event = self.env["construction.event"]
        old, recent, failed = (
            Event._publish(self.backend, "job_cost.export", self.budget, {"n": n})
            for n in range(3)
        )
        now = fields.Datetime.now()
        old.write(
            {
                "state": "done",
                "sent_date": now - timedelta(days=31),
                "last_response": '{"ok": true}',
                "last_http_status": 200,
            }
        )
        recent.write({"state": "done", "sent_date": now - timedelta(days=29)})
        failed.write({"state": "dead", "last_attempt_date": now - timedelta(days=60)})
        self.assertEqual(self.Outbox._cron_purge_bodies(), 1)
        self.assertFalse(old.payload)
        self.assertFalse(old.last_response)
        self.assertTrue(old.payload_purged)
        # metadata kept
        self.assertEqual(old.state, "done")
        self.assertEqual(old.last_http_status, 200)
        self.assertEqual(old.event_type, "job_cost.export")
        self.assertTrue(old.idempotency_key)
        for kept in (recent, failed):
            self.assertFalse(kept.payload_purged)
            self.assertEqual(
                json.loads(kept.payload)["data"]["n"], 1 if kept == recent else 2
            )
        # disabled with 0
        self.env["ir.config_parameter"].set_param(
            "construction_connector_base.outbox_purge_days", "0"
        )
        recent.sent_date = now - timedelta(days=400)
        self.assertEqual(self.Outbox._cron_purge_bodies(), 0)
        self.assertTrue(recent.payload)
