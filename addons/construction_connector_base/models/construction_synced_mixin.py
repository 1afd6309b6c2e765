from lxml import etree

from odoo import _, api, fields, models
from odoo.exceptions import UserError

# Context flag of the sync handlers (set by construction.event._apply): their
# writes to locked fields pass.
SYNC_CONTEXT = "construction_sync"


class ConstructionSyncedMixin(models.AbstractModel):
    """Fields that came from a synced source are read-only on bound records.

    Inheriting models list those fields in ``_construction_locked_fields()``
    (extend it with ``super()``); a record is synced when it (or the record
    returned by ``_construction_synced_source()``) has a ``construction.binding``.
    A write to a locked field outside the sync handlers raises a UserError; the
    form shows those fields read-only under a banner.
    """

    _name = "construction.synced.mixin"
    _description = "Construction Synced Fields Lock"

    construction_synced = fields.Boolean(
        string="Synced from External System",
        compute="_compute_construction_synced",
        help="Bound to an external system: the synced fields are read-only here.",
    )
    construction_synced_source = fields.Char(
        string="Synced From", compute="_compute_construction_synced"
    )

    @api.model
    def _construction_locked_fields(self):
        """Names of the fields owned by the external source (empty by default)."""
        return []

    @api.model
    def _construction_locked_hint(self):
        """How to change a locked field instead (shown in the error)."""
        return _("Issue a new change order or re-sync it from the source system.")

    def _construction_synced_source(self):
        """The records whose binding locks ``self`` (themselves by default).

        Lines return their document, e.g. ``self.change_order_id``.
        """
        return self

    def _compute_construction_synced(self):
        sources = {record: record._construction_synced_source() for record in self}
        bound = {}
        by_model = {}
        for source in sources.values():
            for rec in source:
                by_model.setdefault(rec._name, set()).add(rec.id)
        for model, ids in by_model.items():
            # sudo: only whether a binding exists, and its system's name, are
            # shown; business users have no access to the integration tables.
            bindings = (
                self.env["construction.binding"]
                .sudo()
                .search([("model", "=", model), ("res_id", "in", list(ids))])
            )
            for binding in bindings:
                bound[(model, binding.res_id)] = binding.backend_id.name
        for record in self:
            names = {
                bound[(rec._name, rec.id)]
                for rec in sources[record]
                if (rec._name, rec.id) in bound
            }
            record.construction_synced = bool(names)
            record.construction_synced_source = ", ".join(sorted(names)) or False

    def _check_construction_locked(self, fnames):
        if self.env.context.get(SYNC_CONTEXT):
            return
        locked = set(self._construction_locked_fields()) & set(fnames)
        if not locked:
            return
        synced = self.filtered("construction_synced")
        if synced:
            labels = sorted(self._fields[f].string for f in locked)
            raise UserError(
                _(
                    "%(record)s comes from %(system)s: %(fields)s cannot be changed "
                    "in Odoo. %(hint)s",
                    record=synced[0].display_name,
                    system=synced[0].construction_synced_source,
                    fields=", ".join(labels),
                    hint=self._construction_locked_hint(),
                )
            )

    def write(self, vals):
        self._check_construction_locked(vals)
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_construction_synced(self):
        if self.env.context.get(SYNC_CONTEXT) or not self._construction_locked_fields():
            return
        synced = self.filtered("construction_synced")
        if synced:
            raise UserError(
                _(
                    "%(record)s comes from %(system)s: it cannot be deleted in Odoo "
                    "while it is bound (unlink the binding first). %(hint)s",
                    record=synced[0].display_name,
                    system=synced[0].construction_synced_source,
                    hint=self._construction_locked_hint(),
                )
            )

    @api.model
    def _get_view(self, view_id=None, view_type="form", **options):
        arch, view = super()._get_view(view_id, view_type, **options)
        if view_type == "form":
            self._construction_lock_view(arch)
        return arch, view

    @api.model
    def _construction_lock_view(self, arch):
        """Locked fields read-only when synced, and a banner on top of the form."""
        locked = set(self._construction_locked_fields())
        for node in arch.iterfind(".//field"):
            if _in_subview(node, arch):
                continue
            if node.get("name") in locked:
                _add_readonly(node, "construction_synced")
            field = self._fields.get(node.get("name"))
            if field and field.type == "one2many" and len(node):
                # Lines locked by this document: their fields in the embedded views.
                comodel = self.env[field.comodel_name]
                if (
                    "construction_synced" not in comodel._fields
                    or comodel._name == self._name  # sub-documents are bound apart
                ):
                    continue
                line_locked = set(comodel._construction_locked_fields())
                for sub in node.iterfind(".//field"):
                    if sub.get("name") in line_locked:
                        _add_readonly(sub, "parent.construction_synced")
        if not locked and not arch.xpath(
            "//@readonly[contains(., 'construction_synced')]"
        ):
            return
        sheet = arch.find(".//sheet")
        anchor = sheet if sheet is not None else arch
        banner = etree.fromstring(
            '<div class="alert alert-info mb-2" role="status" '
            'invisible="not construction_synced">'
            '<i class="fa fa-lock me-1" title="Locked"/>'
            "<span>Synced from </span>"
            '<field name="construction_synced_source" class="fw-bold"/>'
            "<span/>"
            "</div>"
        )
        banner[-1].text = _(": the synced fields are read-only. %(hint)s") % {
            "hint": self._construction_locked_hint()
        }
        anchor.insert(0, banner)
        anchor.insert(
            0, etree.fromstring('<field name="construction_synced" invisible="1"/>')
        )


def _add_readonly(node, expression):
    current = node.get("readonly")
    node.set(
        "readonly",
        f"({current}) or {expression}"
        if current and current not in ("0", "False")
        else expression,
    )


def _in_subview(node, arch):
    """Whether ``node`` belongs to an embedded list/form of a relational field."""
    parent = node.getparent()
    while parent is not None and parent is not arch:
        if parent.tag == "field":
            return True
        parent = parent.getparent()
    return False
