import io
from collections import OrderedDict

from odoo import models
from odoo.tools.pdf import merge_pdf

PAY_APPLICATION_REPORT = "construction_billing.report_pay_application"
# Printed one after the other for each pay application: the G702 on portrait
# paper, the G703 continuation sheet on landscape (a PDF run has one orientation).
PAY_APPLICATION_PARTS = (
    "construction_billing.action_report_pay_application_g702",
    "construction_billing.action_report_pay_application_g703",
)


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _render_qweb_pdf_prepare_streams(self, report_ref, data, res_ids=None):
        report = self._get_report(report_ref)
        if (
            report.report_name != PAY_APPLICATION_REPORT
            or not res_ids
            or len(res_ids) != len(set(res_ids))
        ):
            return super()._render_qweb_pdf_prepare_streams(
                report_ref, data, res_ids=res_ids
            )
        streams = OrderedDict()
        for res_id in res_ids:
            parts = []
            for part in PAY_APPLICATION_PARTS:
                part_streams = super()._render_qweb_pdf_prepare_streams(
                    part, dict(data or {}), res_ids=[res_id]
                )
                parts.append(part_streams[res_id]["stream"].getvalue())
            streams[res_id] = {
                "stream": io.BytesIO(merge_pdf(parts)),
                "attachment": None,
            }
        return streams
