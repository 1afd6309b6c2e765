/** @odoo-module **/
import {registry} from "@web/core/registry";

// A construction manager relinks a binding to another record; the history shows it.
registry.category("web_tour.tours").add("construction_binding_relink_tour", {
    url: "/odoo/action-construction_connector_base.construction_binding_action",
    steps: () => [
        {
            content: "Open the binding",
            trigger: ".o_data_row td.o_data_cell:contains('tour-ext-1')",
            run: "click",
        },
        {
            content: "Relink it",
            trigger: "button[name='action_open_relink_wizard']:contains('Relink')",
            run: "click",
        },
        {
            content: "Search the new record",
            trigger: ".modal .o_field_widget[name='new_res_id'] input",
            run: "edit Tour Steel",
        },
        {
            content: "Pick it",
            trigger: ".o-autocomplete--dropdown-item:contains('Tour Steel')",
            run: "click",
        },
        {
            content: "Give the reason",
            trigger: ".modal .o_field_widget[name='reason'] textarea",
            run: "edit Mapped to the wrong cost code",
        },
        {
            content: "Confirm",
            trigger: ".modal button[name='action_confirm']",
            run: "click",
        },
        {
            content: "The history shows the relink",
            trigger: ".o_field_widget[name='log_ids'] .o_data_row:contains('Relinked')",
        },
    ],
});
