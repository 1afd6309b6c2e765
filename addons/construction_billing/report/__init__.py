from . import construction_retainage_aging
