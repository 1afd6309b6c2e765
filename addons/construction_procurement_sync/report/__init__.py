from . import construction_commitment_report
