// The hash router: "#/collections/posts" -> { name: "collection", params: { name: "posts" } }.

const ROUTES = [
  { name: "signin", pattern: /^\/login$/, public: true },
  { name: "install", pattern: /^\/pbinstal\/([^/]+)$/, keys: ["token"], public: true },
  { name: "collections", pattern: /^\/collections$/ },
  { name: "newCollection", pattern: /^\/collections\/new$/ },
  { name: "collectionSettings", pattern: /^\/collections\/([^/]+)\/edit$/, keys: ["name"] },
  { name: "collection", pattern: /^\/collections\/([^/]+)$/, keys: ["name"] },
  { name: "collectionApi", pattern: /^\/collections\/([^/]+)\/api$/, keys: ["name"] },
  { name: "logs", pattern: /^\/logs$/ },
  { name: "settings", pattern: /^\/settings$/ },
  { name: "mailSettings", pattern: /^\/settings\/mail$/ },
  { name: "storageSettings", pattern: /^\/settings\/storage$/ },
  { name: "backupsSettings", pattern: /^\/settings\/backups$/ },
  { name: "rateLimitsSettings", pattern: /^\/settings\/rate-limits$/ },
  { name: "logsSettings", pattern: /^\/settings\/logs$/ },
  { name: "cronsSettings", pattern: /^\/settings\/crons$/ },
  { name: "webhooks", pattern: /^\/webhooks$/ },
  { name: "newWebhook", pattern: /^\/webhooks\/new$/ },
  { name: "webhook", pattern: /^\/webhooks\/([^/]+)$/, keys: ["id"] },
  { name: "superusers", pattern: /^\/superusers$/ },
];

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a malformed escape in a typed URL: look the raw text up (and find nothing)
  }
}

export function parse(hash) {
  const [path, queryString = ""] = hash.replace(/^#/, "").split("?");
  for (const route of ROUTES) {
    const match = route.pattern.exec(path || "/");
    if (!match) continue;
    const params = {};
    (route.keys || []).forEach((key, i) => {
      params[key] = safeDecode(match[i + 1]);
    });
    return { name: route.name, params, query: new URLSearchParams(queryString), public: !!route.public };
  }
  return { name: "collections", params: {}, query: new URLSearchParams(), public: false, fallback: true };
}

export function go(path) {
  if (window.location.hash === `#${path}`) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else window.location.hash = path;
}

export function link(path) {
  return `#${path}`;
}
