// Application settings (name, URL, hide-controls): GET/PATCH /api/settings. Mail, storage,
// backups and rate limits come in a later milestone.
import { ApiError, request } from "./api.js";
import { field, h, notice } from "./dom.js";

export async function settingsPage(root) {
  const settings = await request("GET", "/api/settings");
  const meta = settings.meta || {};
  const appName = h("input", { type: "text", value: meta.appName || "", required: true });
  const appURL = h("input", { type: "url", value: meta.appURL || "", required: true });
  const fields = { appName: field("Application name", appName), appURL: field("Application URL", appURL) };
  const status = h("div", { class: "status" });
  root.append(
    h("h1", {}, "Settings"),
    h("form", {
      class: "card stack",
      "aria-labelledby": "sec-app",
      onsubmit: async (event) => {
        event.preventDefault();
        status.replaceChildren();
        Object.values(fields).forEach((f) => f.setError(""));
        try {
          await request("PATCH", "/api/settings", { body: { meta: { appName: appName.value, appURL: appURL.value } } });
          status.append(notice("Settings saved.", "success"));
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          const metaErrors = error.data.meta || {};
          for (const [key, wrap] of Object.entries(fields)) wrap.setError(metaErrors[key]?.message || "");
          status.append(notice(error.message, "error"));
        }
      },
    },
    h("h2", { id: "sec-app" }, "Application"),
    fields.appName,
    fields.appURL,
    status,
    h("button", { type: "submit", class: "btn btn-primary" }, "Save settings")),
  );
}
