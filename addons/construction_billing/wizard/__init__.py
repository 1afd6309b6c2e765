from . import construction_wip_report
from . import construction_pay_application_reopen
