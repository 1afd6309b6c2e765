from odoo import _, fields, models
from odoo.exceptions import UserError


class ProjectProject(models.Model):
    _inherit = "project.project"

    construction_budget_ids = fields.One2many(
        comodel_name="construction.budget", inverse_name="project_id"
    )
    construction_budget_count = fields.Integer(
        compute="_compute_construction_budget_count"
    )

    def _compute_construction_budget_count(self):
        counts = dict(
            self.env["construction.budget"]._read_group(
                [("project_id", "in", self.ids)], ["project_id"], ["__count"]
            )
        )
        for project in self:
            project.construction_budget_count = counts.get(project, 0)

    def action_view_construction_budget(self):
        self.ensure_one()
        budget = self.construction_budget_ids[:1]
        if not budget:
            budget = self.env["construction.budget"].create({"project_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": _("Job-Cost Budget"),
            "res_model": "construction.budget",
            "res_id": budget.id,
            "view_mode": "form",
        }

    def action_construction_reconcile(self):
        """Reconcile this project now with every system reporting on it."""
        self.ensure_one()
        backends = (
            self.env["construction.backend"]
            .search([("company_id", "in", (self.company_id or self.env.companies).ids)])
            .filtered(lambda backend: backend._reconciliation_has_source(self))
        )
        if not backends:
            raise UserError(
                _(
                    "No external system reports figures for %(project)s.",
                    project=self.display_name,
                )
            )
        Run = self.env["construction.reconciliation.run"]
        runs = Run.browse()
        for backend in backends:
            runs |= Run._reconcile(backend, project=self)
        return runs._open_action()
