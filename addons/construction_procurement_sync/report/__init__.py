from . import construction_commitment_report
from . import construction_subcontract_dashboard
