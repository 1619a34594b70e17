// Backups: list, create, download (through a short-lived file token, as links carry no header),
// upload, restore, delete; the schedule (`backups.cron`, `cronMaxKeep`) and the backups' own S3 storage.
import { request } from "./api.js";
import { field, h, notice } from "./dom.js";
import { loadSettings, settingsForm, settingsNav } from "./settings_form.js";
import { s3Fields, s3TestButton } from "./page_settings_storage.js";

function size(bytes) {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

async function download(key) {
  const { token } = await request("POST", "/api/files/token");
  const a = h("a", { href: `/api/backups/${encodeURIComponent(key)}?token=${encodeURIComponent(token)}`, download: key, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

function backupsList(status) {
  const tbody = h("tbody");
  const act = async (message, fn) => {
    status.replaceChildren();
    try {
      await fn();
      if (message) status.append(notice(message, "success"));
    } catch (error) {
      status.append(notice(error.message, "error"));
    }
    await reload();
  };
  async function reload() {
    let items = [];
    try {
      items = await request("GET", "/api/backups");
    } catch (error) {
      status.append(notice(error.message, "error"));
    }
    tbody.replaceChildren(...(items.length ? items.map((b) => h("tr", {},
      h("th", { scope: "row" }, b.key),
      h("td", {}, size(b.size)),
      h("td", {}, b.modified),
      h("td", {}, h("div", { class: "actions" },
        h("button", { type: "button", class: "btn btn-small", onclick: () => act("", () => download(b.key)) }, "Download", h("span", { class: "sr-only" }, ` ${b.key}`)),
        h("button", { type: "button", class: "btn btn-small", onclick: () => window.confirm(`Restore ${b.key}? The current data is replaced.`) && act(`Restored ${b.key}.`, () => request("POST", `/api/backups/${encodeURIComponent(b.key)}/restore`)) }, "Restore", h("span", { class: "sr-only" }, ` ${b.key}`)),
        h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => window.confirm(`Delete ${b.key}?`) && act(`Deleted ${b.key}.`, () => request("DELETE", `/api/backups/${encodeURIComponent(b.key)}`)) }, "Delete", h("span", { class: "sr-only" }, ` ${b.key}`)),
      )))) : [h("tr", {}, h("td", { colspan: 4 }, "No backups yet."))]));
  }
  const name = h("input", { type: "text", placeholder: "optional, e.g. before-upgrade.zip", pattern: "[a-z0-9_\\-]+\\.zip" });
  const nameField = field("Backup name", name, { hint: "Lowercase letters, digits, _ and -, ending in .zip." });
  const create = h("form", {
    class: "stack",
    onsubmit: (event) => {
      event.preventDefault();
      nameField.setError("");
      act("Backup created.", async () => {
        try {
          await request("POST", "/api/backups", { body: { name: name.value } });
        } catch (error) {
          nameField.setError(error.fieldMessage ? error.fieldMessage("name") : "");
          throw error;
        }
        name.value = "";
      });
    },
  }, nameField, h("button", { type: "submit", class: "btn btn-primary" }, "Create backup"));
  const archive = h("input", { type: "file", accept: ".zip,application/zip", required: true });
  const upload = h("form", {
    class: "stack",
    onsubmit: (event) => {
      event.preventDefault();
      const body = new FormData();
      body.append("file", archive.files[0]);
      act(`Uploaded ${archive.files[0].name}.`, async () => {
        await request("POST", "/api/backups/upload", { body });
        archive.value = "";
      });
    },
  }, field("Upload a backup archive (.zip)", archive), h("button", { type: "submit", class: "btn" }, "Upload backup"));
  const section = h("section", { class: "card stack", "aria-labelledby": "sec-backups" },
    h("h2", { id: "sec-backups" }, "Backups"),
    create,
    upload,
    h("div", { class: "table-wrap" }, h("table", { class: "table" },
      h("caption", { class: "sr-only" }, "Stored backups"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Size"), h("th", { scope: "col" }, "Modified"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      tbody)),
  );
  return { section, reload };
}

export async function backupsSettingsPage(root) {
  const backups = (await loadSettings()).backups || {};
  const status = h("div", { class: "status" });
  const list = backupsList(status);
  const cron = h("input", { type: "text", value: backups.cron || "", class: "mono", placeholder: "e.g. 0 0 * * * (daily at midnight)" });
  const keep = h("input", { type: "number", min: 1, value: backups.cronMaxKeep ?? 3 });
  const s3 = s3Fields(backups.s3 || {});
  const fields = { cron: field("Automatic backups (cron, empty: off)", cron), cronMaxKeep: field("Keep the last", keep), ...s3.fields };
  root.append(
    h("h1", {}, "Settings"),
    settingsNav("/backups"),
    status,
    list.section,
    settingsForm({
      title: "Schedule and storage",
      group: "backups",
      fields,
      saveLabel: "Save backup settings",
      read: () => ({ backups: { cron: cron.value.trim(), cronMaxKeep: Number(keep.value), s3: s3.read() } }),
      extra: [s3TestButton("backups")],
    }),
  );
  await list.reload();
}
