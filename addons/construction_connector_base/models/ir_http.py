from odoo import models
from odoo.http import request


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _dispatch(cls, endpoint):
        # Odoo passes query parameters to the controller method as keyword
        # arguments, so ``?self=1`` collides with the method's ``self`` and
        # fails before any of our code runs (a 500). Our API reads its query
        # parameters from the request, never from keyword arguments: drop it.
        if request.httprequest.path.startswith("/api/construction/"):
            request.params.pop("self", None)
        return super()._dispatch(endpoint)
