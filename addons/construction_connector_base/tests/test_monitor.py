from datetime import timedelta

from lxml import html

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged

from .common_integration import make_backend


@tagged("post_install", "-at_install")
class TestMonitor(TransactionCase):
    """Integration overview tiles and the daily digest, across two companies."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Company = cls.env["res.company"]
        cls.company_a = Company.create({"name": "Monitor A Contractors"})
        cls.company_b = Company.create({"name": "Monitor B Builders"})
        cls.env.ref("base.user_admin").write(
            {
                "company_ids": [
                    Command.unlink(cls.company_a.id),
                    Command.unlink(cls.company_b.id),
                ]
            }
        )
        group = cls.env.ref(
            "construction_connector_base.group_construction_integration_manager"
        )
        cls.user_a = cls._manager("mon_a", cls.company_a, group)
        cls.user_b = cls._manager("mon_b", cls.company_b, group)
        cls.alpha = make_backend(cls.env, name="Alpha PM", company=cls.company_a)
        cls.portal = make_backend(cls.env, name="Alpha Portal", company=cls.company_a)
        cls.beta = make_backend(cls.env, name="Beta PM", company=cls.company_b)
        Project = cls.env["project.project"]
        cls.tower = Project.create(
            {"name": "Mon Tower", "company_id": cls.company_a.id}
        )
        cls.garage = Project.create(
            {"name": "Mon Garage", "company_id": cls.company_a.id}
        )
        cls.bridge = Project.create(
            {"name": "Mon Bridge", "company_id": cls.company_b.id}
        )
        long_ago = fields.Datetime.now() - timedelta(minutes=90)
        days_ago = fields.Datetime.now() - timedelta(days=3)
        cls.events = cls._events(
            [
                (cls.alpha, "awaiting_approval", cls.tower, days_ago),
                (cls.portal, "awaiting_approval", cls.garage),
                (cls.alpha, "failed", cls.tower),
                (cls.alpha, "failed", cls.tower),
                (cls.alpha, "dead", cls.garage),
                (cls.alpha, "queued", cls.tower, long_ago),
                (cls.alpha, "done", cls.tower),
                (cls.alpha, "done", cls.garage),
                (cls.portal, "failed", None),
                (cls.portal, "dead", cls.tower),
            ]
            + [(cls.beta, "failed", cls.bridge)] * 4
            + [(cls.beta, "dead", None)] * 2
        )
        cls.messages = cls._messages(
            [
                (cls.alpha, "pending"),
                (cls.alpha, "pending"),
                (cls.alpha, "retrying"),
                (cls.alpha, "failed"),
                (cls.portal, "dead"),
                (cls.portal, "done"),
                (cls.portal, "done"),
            ]
            + [(cls.beta, "failed")] * 3
        )

    @classmethod
    def _manager(cls, login, company, group):
        return (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": f"Integration manager {login}",
                    "login": login,
                    "email": f"{login}@example.com",
                    "company_id": company.id,
                    "company_ids": [Command.set(company.ids)],
                    "groups_id": [Command.link(group.id)],
                }
            )
        )

    @classmethod
    def _events(cls, specs):
        vals_list = []
        for index, (backend, state, project, *date) in enumerate(specs):
            vals = {
                "backend_id": backend.id,
                "event_type": "cost_code.upsert",
                "idempotency_key": f"mon-{index}",
                "payload": "{}",
                "state": state,
                "project_id": project.id if project else False,
            }
            if date:
                vals["received_date"] = date[0]
            vals_list.append(vals)
        return cls.env["construction.event"].create(vals_list)

    @classmethod
    def _messages(cls, specs):
        return cls.env["construction.outbox.message"].create(
            [
                {
                    "backend_id": backend.id,
                    "event_type": "test.monitored",
                    "payload": "{}",
                    "state": state,
                }
                for backend, state in specs
            ]
        )

    def _tiles(self, user):
        tiles = self.env["construction.monitor.tile"].with_user(user)._overview_tiles()
        keys = [tile["key"] for tile in tiles]
        self.assertEqual(len(keys), len(set(keys)), "tile keys are unique")
        return {tile["key"]: tile for tile in tiles}

    def _counts(self, tiles, keys):
        return {key: (tiles[key]["count"], tiles[key]["detail"]) for key in keys}

    def test_counts_of_company_a(self):
        tiles = self._tiles(self.user_a)
        alpha, portal = self.alpha.id, self.portal.id
        tower, garage = self.tower.id, self.garage.id
        self.assertEqual(tiles["event_failed"]["count"], 3)
        self.assertEqual(tiles["event_dead"]["count"], 2)
        self.assertEqual(tiles["event_pending"]["count"], 1)
        self.assertEqual(tiles["event_pending"]["severity"], "warning")
        self.assertEqual(tiles["event_pending"]["detail"], "oldest waiting 1 h 30 min")
        # Staged for accounting approval: a warning once the oldest waits 48 h.
        staged = tiles["event_awaiting_approval"]
        self.assertEqual(staged["count"], 2)
        self.assertEqual(staged["detail"], "oldest waiting 3 d 0 h")
        self.assertEqual(staged["severity"], "warning")
        self.env["ir.config_parameter"].set_param(
            "construction_connector_base.monitor_approval_alert_hours", "100"
        )
        self.assertEqual(
            self._tiles(self.user_a)["event_awaiting_approval"]["severity"], "info"
        )
        self.assertEqual(
            self._counts(
                tiles,
                [
                    f"event_backend_{alpha}",
                    f"event_backend_{portal}",
                    f"event_project_{tower}",
                    f"event_project_{garage}",
                    "outbox_backlog",
                    "outbox_failed",
                    f"outbox_backend_{alpha}",
                    f"outbox_backend_{portal}",
                ],
            ),
            {
                f"event_backend_{alpha}": (3, "2 failed, 1 dead"),
                f"event_backend_{portal}": (2, "1 failed, 1 dead"),
                f"event_project_{tower}": (3, "2 failed, 1 dead"),
                f"event_project_{garage}": (1, "1 dead"),
                "outbox_backlog": (3, tiles["outbox_backlog"]["detail"]),
                "outbox_failed": (2, "1 failed, 1 dead"),
                f"outbox_backend_{alpha}": (4, "2 pending, 1 retrying, 1 failed"),
                f"outbox_backend_{portal}": (1, "1 dead"),
            },
        )
        # nothing of company B leaks into company A's overview
        self.assertNotIn(f"event_backend_{self.beta.id}", tiles)
        self.assertNotIn(f"event_project_{self.bridge.id}", tiles)
        self.assertNotIn(f"outbox_backend_{self.beta.id}", tiles)

    def test_counts_of_company_b(self):
        tiles = self._tiles(self.user_b)
        beta, bridge = self.beta.id, self.bridge.id
        self.assertEqual(
            self._counts(
                tiles,
                [
                    "event_failed",
                    "event_dead",
                    "event_pending",
                    "event_awaiting_approval",
                    f"event_backend_{beta}",
                    f"event_project_{bridge}",
                    "outbox_backlog",
                    "outbox_failed",
                    f"outbox_backend_{beta}",
                ],
            ),
            {
                "event_failed": (4, tiles["event_failed"]["detail"]),
                "event_dead": (2, tiles["event_dead"]["detail"]),
                "event_pending": (0, "nothing waiting"),
                "event_awaiting_approval": (0, "nothing waiting"),
                f"event_backend_{beta}": (6, "4 failed, 2 dead"),
                f"event_project_{bridge}": (4, "4 failed"),
                "outbox_backlog": (0, "nothing waiting"),
                "outbox_failed": (3, "3 failed, 0 dead"),
                f"outbox_backend_{beta}": (3, "3 failed"),
            },
        )
        for key in (
            f"event_backend_{self.alpha.id}",
            f"event_backend_{self.portal.id}",
            f"event_project_{self.tower.id}",
            f"outbox_backend_{self.alpha.id}",
        ):
            self.assertNotIn(key, tiles)

    def test_tile_opens_its_filtered_records(self):
        Tile = self.env["construction.monitor.tile"].with_user(self.user_a)
        action = Tile.action_open_overview()
        tiles = Tile.search(action["domain"])
        self.assertEqual(action["res_model"], "construction.monitor.tile")
        project_tile = tiles.filtered(
            lambda t: t.key == f"event_project_{self.tower.id}"
        )
        self.assertEqual(project_tile.count, 3)
        self.assertEqual(project_tile.project_id, self.tower)
        opened = project_tile.action_open()
        self.assertEqual(opened["res_model"], "construction.event")
        self.assertIn("pivot", opened["view_mode"])
        found = (
            self.env["construction.event"]
            .with_user(self.user_a)
            .search(opened["domain"])
        )
        self.assertEqual(
            found,
            self.events.filtered(
                lambda e: e.project_id == self.tower and e.state in ("failed", "dead")
            ),
        )
        backlog = tiles.filtered(lambda t: t.key == f"outbox_backend_{self.alpha.id}")
        found = (
            self.env["construction.outbox.message"]
            .with_user(self.user_a)
            .search(backlog.action_open()["domain"])
        )
        self.assertEqual(len(found), 4)
        # another user never sees these tiles; reopening replaces them
        self.assertFalse(
            self.env["construction.monitor.tile"]
            .with_user(self.user_b)
            .search([("id", "in", tiles.ids)])
        )
        Tile.action_open_overview()
        self.assertFalse(tiles.exists())

    def _digest_rows(self, mail):
        tree = html.fromstring(mail.body_html)
        return [
            tuple(cell.text_content().strip() for cell in row.xpath("./td"))
            for row in tree.xpath("//tr[td]")
        ]

    def test_digest_to_integration_managers(self):
        quiet = self.env["res.company"].create({"name": "Monitor Quiet Co"})
        group = self.env.ref(
            "construction_connector_base.group_construction_integration_manager"
        )
        user_quiet = self._manager("mon_quiet", quiet, group)
        mails = self.env["construction.monitor.tile"]._cron_send_digest()
        to_b = mails.filtered(lambda m: m.recipient_ids == self.user_b.partner_id)
        self.assertEqual(len(to_b), 1)
        self.assertEqual(
            to_b.subject, "Monitor B Builders: integration needs attention (6 items)"
        )
        self.assertEqual(
            sorted(self._digest_rows(to_b)),
            sorted(
                [
                    (
                        "Inbound events",
                        "Failed events",
                        "4",
                        "retried automatically, then dead",
                    ),
                    ("Inbound events", "Dead letters", "2", "need a fix and a replay"),
                    (
                        "Failed events by external system",
                        "Beta PM",
                        "6",
                        "4 failed, 2 dead",
                    ),
                    ("Failed events by project", "Mon Bridge", "4", "4 failed"),
                    (
                        "Outbound messages",
                        "Failed or dead outbound messages",
                        "3",
                        "3 failed, 0 dead",
                    ),
                    ("Outbound backlog by external system", "Beta PM", "3", "3 failed"),
                ]
            ),
        )
        self.assertIn(
            "/odoo/action-construction_connector_base.construction_event_action",
            to_b.body_html,
        )
        # company A's managers get company A's figures, never company B's
        to_a = mails.filtered(lambda m: self.user_a.partner_id in m.recipient_ids)
        self.assertEqual(len(to_a), 1)
        self.assertNotIn(self.user_b.partner_id, to_a.recipient_ids)
        rows_a = self._digest_rows(to_a)
        self.assertIn(
            ("Failed events by project", "Mon Tower", "3", "2 failed, 1 dead"), rows_a
        )
        self.assertIn(
            (
                "Inbound events",
                "Awaiting accounting approval",
                "2",
                "oldest waiting 3 d 0 h",
            ),
            rows_a,
        )
        self.assertNotIn("Beta PM", [row[1] for row in rows_a])
        # all quiet: nothing sent
        self.assertFalse(
            mails.filtered(lambda m: user_quiet.partner_id in m.recipient_ids)
        )

    def test_no_digest_when_quiet(self):
        problems = self.env["construction.event"].search(
            [
                (
                    "state",
                    "in",
                    (
                        "failed",
                        "dead",
                        "queued",
                        "received",
                        "processing",
                        "parked",
                        "awaiting_approval",
                    ),
                )
            ]
        )
        problems.write({"state": "done"})
        self.env["construction.outbox.message"].search([]).write({"state": "done"})
        pay_apps = self.env.get("construction.pay.application")
        if pay_apps is not None:
            pay_apps.search([("approval_state", "=", "certified")]).invoice_id.filtered(
                lambda move: move.state == "draft"
            ).button_cancel()
        mails = self.env["construction.monitor.tile"]._cron_send_digest()
        self.assertFalse(mails)

    def test_overview_is_for_managers(self):
        user = (
            self.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": "Site engineer",
                    "login": "mon_site",
                    "company_id": self.company_a.id,
                    "company_ids": [Command.set(self.company_a.ids)],
                    "groups_id": [
                        Command.link(
                            self.env.ref(
                                "construction_connector_base.group_construction_user"
                            ).id
                        )
                    ],
                }
            )
        )
        with self.assertRaises(AccessError):
            self.env["construction.monitor.tile"].with_user(user).action_open_overview()
