// Logs retention (`logs`: days kept, lowest level, IPs, auth ids, data size) and the scheduled
// jobs (GET /api/crons, run one now with POST /api/crons/{id}): what PocketBase's dashboard has
// under Logs settings and Settings > Crons.
import { ApiError, request } from "./api.js";
import { field, h, notice } from "./dom.js";
import { checkbox, loadSettings, settingsForm, settingsNav } from "./settings_form.js";

const LEVELS = [[-4, "Debug"], [0, "Info"], [4, "Warning"], [8, "Error"]];

export async function logsSettingsPage(root) {
  const logs = (await loadSettings()).logs || {};
  const maxDays = h("input", { type: "number", min: 0, step: 1, value: logs.maxDays ?? 5 });
  const minLevel = h("select", {}, LEVELS.map(([v, l]) => h("option", { value: String(v), selected: v === logs.minLevel }, `${l} (${v})`)));
  const maxDataSize = h("input", { type: "number", min: 0, step: 1, value: logs.maxDataSize ?? 0 });
  const logIP = checkbox("Keep the client IP addresses", logs.logIP);
  const logAuthId = checkbox("Keep the id of the signed-in record", logs.logAuthId);
  const fields = {
    maxDays: field("Days to keep (0 turns the logs off)", maxDays),
    minLevel: field("Lowest level kept", minLevel),
    maxDataSize: field("Largest data kept, in bytes (0: no limit)", maxDataSize),
    logIP,
    logAuthId,
  };
  const number = (input) => (input.value === "" ? 0 : Number(input.value));
  root.append(
    h("h1", {}, "Settings"),
    settingsNav("/logs"),
    settingsForm({
      title: "Logs",
      group: "logs",
      fields,
      saveLabel: "Save logs settings",
      read: () => ({ logs: { maxDays: number(maxDays), minLevel: Number(minLevel.value), maxDataSize: number(maxDataSize),
        logIP: logIP.control.checked, logAuthId: logAuthId.control.checked } }),
    }),
  );
}

export async function cronsSettingsPage(root) {
  const jobs = await request("GET", "/api/crons");
  const status = h("div", { class: "status" });
  const run = async (id) => {
    status.replaceChildren();
    try {
      await request("POST", `/api/crons/${encodeURIComponent(id)}`);
      status.append(notice(`Started ${id}.`, "success"));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      status.append(notice(error.message, "error"));
    }
  };
  root.append(
    h("h1", {}, "Settings"),
    settingsNav("/crons"),
    h("section", { class: "card stack", "aria-labelledby": "sec-crons" },
      h("h2", { id: "sec-crons" }, "Crons"),
      h("div", { class: "table-wrap" }, h("table", {},
        h("caption", { class: "sr-only" }, "Scheduled jobs"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Job"), h("th", { scope: "col" }, "Schedule (UTC)"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
        h("tbody", {}, jobs.map((job) => h("tr", {},
          h("td", { class: "mono" }, job.id),
          h("td", { class: "mono" }, job.expression),
          h("td", {}, h("button", { type: "button", class: "btn btn-small", onclick: () => run(job.id) }, "Run now", h("span", { class: "sr-only" }, ` ${job.id}`)))))))),
      status),
  );
}
