from . import construction_wip_report
