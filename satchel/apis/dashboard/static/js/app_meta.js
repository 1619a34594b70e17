// The application settings the dashboard itself follows (`meta.hideControls`, the app name),
// read once per sign-in and dropped when they are saved or the superuser signs out.
import { request } from "./api.js";

let pending = null;

export function appMeta() {
  if (!pending) {
    pending = request("GET", "/api/settings", { query: { fields: "meta" } })
      .then((s) => (s && s.meta) || {})
      .catch(() => ({}));
  }
  return pending;
}

export function forgetAppMeta() {
  pending = null;
}
