/** @odoo-module **/
import {registry} from "@web/core/registry";

// An accounting approver rejects a staged change order from the approval queue.
registry.category("web_tour.tours").add("construction_staging_reject_tour", {
    url: "/odoo/action-construction_connector_base.construction_event_action_approval",
    steps: () => [
        {
            content: "Open the staged change order event",
            trigger: ".o_data_row td.o_data_cell:contains('tour-k1')",
            run: "click",
        },
        {
            content: "The event says it waits for approval",
            trigger: ".alert-warning:contains('Staged for accounting approval')",
        },
        {
            content: "Reject it",
            trigger: "button[name='action_open_approval_wizard']:contains('Reject')",
            run: "click",
        },
        {
            content: "Give the reason",
            trigger: ".modal .o_field_widget[name='comment'] textarea",
            run: "edit Cost code 03-300 is closed",
        },
        {
            content: "Confirm",
            trigger: ".modal button[name='action_confirm']",
            run: "click",
        },
        {
            content: "The event is rejected",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Rejected')",
        },
    ],
});

// A synced change order shows its synced fields read-only under a banner.
registry.category("web_tour.tours").add("construction_synced_lock_tour", {
    steps: () => [
        {
            content: "The banner names the source system",
            trigger: ".alert-info:contains('Synced from'):contains('Tour PM Platform')",
        },
        {
            content: "The title is read-only",
            trigger: ".o_field_widget[name='title'].o_readonly_modifier",
        },
        {
            content: "The lines are read-only",
            trigger: ".o_field_widget[name='line_ids'].o_readonly_modifier",
        },
    ],
});
