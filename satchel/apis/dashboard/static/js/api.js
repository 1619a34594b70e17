// The public API, called the way the PocketBase JS SDK calls it. The superuser's token is kept
// in localStorage under the key PocketBase's own dashboard uses.

const AUTH_KEY = "__pb_superuser_auth__";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `Request failed (${status}).`);
    this.status = status;
    this.data = (body && typeof body.data === "object" && body.data) || {};
    this.body = body; // answers outside the error shape, e.g. MFA's 401 {mfaId}
  }
  /** The message of one field's error (`data.<name>.message`), or "". */
  fieldMessage(name) {
    const item = this.data[name];
    return item && typeof item.message === "string" ? item.message : "";
  }
}

export const auth = {
  get() {
    try {
      const saved = JSON.parse(localStorage.getItem(AUTH_KEY) || "null");
      return saved && typeof saved.token === "string" ? saved : null;
    } catch {
      return null;
    }
  },
  save(token, record) {
    localStorage.setItem(AUTH_KEY, JSON.stringify({ token, record }));
  },
  clear() {
    localStorage.removeItem(AUTH_KEY);
  },
};

/** Decoded claims of a JWT (unverified; only to read the subject's id). */
export function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

export async function request(method, path, { body, query, token } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
  }
  const headers = {};
  const bearer = token ?? auth.get()?.token;
  if (bearer) headers.Authorization = bearer;
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(url, { method, headers, body: payload });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    if (response.status === 401 && !token) auth.clear();
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

export function collectionPath(name) {
  return `/api/collections/${encodeURIComponent(name)}`;
}
