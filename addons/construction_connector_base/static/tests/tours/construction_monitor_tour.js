/** @odoo-module **/
import {registry} from "@web/core/registry";

// An integration manager opens the overview, drills into the failed events, replays one
// and sees it queued again.
registry.category("web_tour.tours").add("construction_monitor_replay_tour", {
    url: "/odoo/action-construction_connector_base.construction_monitor_overview_action",
    steps: () => [
        {
            content: "The overview counts the failed event",
            trigger:
                ".o_kanban_record [data-tile='event_failed'] .o_construction_tile_count.text-danger:contains('1')",
        },
        {
            content: "The tour system is listed among the failing systems",
            trigger: ".o_kanban_record:contains('Tour Field App')",
        },
        {
            content: "Open the failed events",
            trigger: ".o_kanban_record:has([data-tile='event_failed'])",
            run: "click",
        },
        {
            content: "Open the failed event",
            trigger: ".o_data_row td.o_data_cell:contains('tour-failed-1')",
            run: "click",
        },
        {
            content: "Its error is shown",
            trigger: ".o_notebook:contains('Unknown cost code TOUR-404')",
        },
        {
            content: "Replay it",
            trigger: ".o_form_view button[name='action_replay']",
            run: "click",
        },
        {
            content: "The event is queued again",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Queued')",
        },
        {
            content: "No replay button any more",
            trigger: ".o_form_view:not(:has(button[name='action_replay']))",
        },
        {
            content: "Back to the overview",
            trigger: ".breadcrumb-item a:contains('Integration Overview')",
            run: "click",
        },
        {
            content: "Refresh the counts",
            trigger: ".o_kanban_view button[name='action_refresh']",
            run: "click",
        },
        {
            content: "Nothing is failing any more",
            trigger:
                ".o_kanban_record [data-tile='event_failed'] .o_construction_tile_count.text-success:contains('0')",
        },
        {
            content: "One event is pending again",
            trigger:
                ".o_kanban_record [data-tile='event_pending'] .o_construction_tile_count:contains('1')",
        },
    ],
});
