from odoo import Command
from odoo.tests import new_test_user

from odoo.addons.construction_connector_base.tests.common import ConstructionCommon


class ChangeOrderCommon(ConstructionCommon):
    """Users and helpers for change order tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Status = cls.env["construction.change.order.status"]
        cls.ChangeOrder = cls.env["construction.change.order"]
        cls.Rule = cls.env["construction.change.order.approval.rule"]
        # Tests define their own approval matrix (demo data ships one).
        cls.Rule.search([]).active = False
        groups_user = (
            "construction_connector_base.group_construction_user,"
            "project.group_project_user"
        )
        cls.pm = new_test_user(
            cls.env,
            login="co_pm",
            name="Pat Project-Manager",
            groups=groups_user,
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.engineer = new_test_user(
            cls.env,
            login="co_engineer",
            name="Eve Engineer",
            groups=groups_user,
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.manager = new_test_user(
            cls.env,
            login="co_manager",
            name="Max Construction-Manager",
            groups="construction_connector_base.group_construction_manager,"
            "project.group_project_manager",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.director = new_test_user(
            cls.env,
            login="co_director",
            name="Dana Director",
            groups="construction_connector_base.group_construction_manager",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )

    @classmethod
    def _create_co(cls, lines, side="prime", user=None, project=None, **vals):
        """A change order entered by ``user`` (default: the engineer).

        ``lines``: [(cost_code, cost_type, quantity, unit_cost, markup_percent)].
        """
        values = {
            "title": "Added footing",
            "project_id": (project or cls.project).id,
            "side": side,
            "partner_id": (cls.customer if side == "prime" else cls.vendor).id,
            "line_ids": [
                Command.create(
                    {
                        "cost_code_id": cost_code.id,
                        "cost_type_id": cost_type.id if cost_type else False,
                        "name": "Change line",
                        "quantity": quantity,
                        "unit_cost": unit_cost,
                        "markup_percent": markup,
                    }
                )
                for cost_code, cost_type, quantity, unit_cost, markup in lines
            ],
        }
        values.update(vals)
        return (
            cls.env["construction.change.order"]
            .with_user(user or cls.engineer)
            .create(values)
        )

    @classmethod
    def _create_mappings(cls, backend):
        """The mappings the change order payloads of the tests use."""
        Mapping = cls.env["construction.mapping"]
        for kind, code, record in (
            ("project", "PRJ-7", cls.project),
            ("partner", "OWNER-1", cls.customer),
            ("cost_code", "03-300", cls.cc_concrete),
            ("cost_code", "03-100", cls.cc_forming),
        ):
            Mapping.create(
                {
                    "backend_id": backend.id,
                    "kind": kind,
                    "external_code": code,
                    "target_ref": f"{record._name},{record.id}",
                }
            )

    def _columns(self, budget_line):
        budget_line.invalidate_recordset()
        return (
            budget_line.pending_change_amount,
            budget_line.approved_change_amount,
            budget_line.revised_amount,
            budget_line.projected_amount,
        )
