// Small recording harness for Satchel's own differential scenarios.
//
// A scenario drives a *fresh* server through the official PocketBase JS SDK; every HTTP exchange is
// recorded (the SDK's fetch is wrapped) and, at the end, the transcript is normalised so that two
// runs against two fresh servers give byte-identical JSON when the servers behave the same:
//   - record ids (objects carrying id + collectionId + collectionName) -> <id:coll#n>, numbered in
//     order of first appearance, replaced wherever the raw id occurs (bodies, paths, queries);
//   - JWTs -> <jwt:TYPE:RECORD> from their claims (so "which token was used" is still visible);
//   - datetimes within two days of the run -> <now>; fixed dates written by the scenario stay as is;
//   - object keys sorted (PocketBase's key order is not stable, e.g. with ?fields=).
//
// Usage from a scenario:
//   import { Harness } from "../lib/harness.mjs";
//   const h = new Harness("my-scenario");           // parses --url/--email/--password/--out
//   await h.run(async () => {
//       const su = await h.superuser();
//       const rec = await h.step("create", () => su.collection("x").create({...}));  // undefined on HTTP error
//   });
// Exit status: 0 when the transcript was written, 2 on usage errors or a fatal (non-HTTP) failure.

import PocketBase, { ClientResponseError } from "pocketbase";
import { EventSource } from "eventsource";
import { writeFileSync } from "node:fs";

globalThis.EventSource = EventSource; // Node 20 has no global EventSource

const ISO_TS = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const JWT = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;
const NOW_WINDOW_MS = 2 * 24 * 3600 * 1000;
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function parseArgs(argv) {
    const out = { url: "http://127.0.0.1:8090", email: "admin@example.com", password: "Admin12345!", out: null };
    for (let i = 2; i < argv.length; i++) {
        const a = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) fail(`missing value for ${a}`);
            return argv[++i];
        };
        if (a === "--url") out.url = next();
        else if (a === "--email") out.email = next();
        else if (a === "--password") out.password = next();
        else if (a === "--out") out.out = next();
        else fail(`unknown argument ${a}`);
    }
    const u = new URL(out.url);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    if (!(host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host)))
        fail(`refusing non-loopback URL ${out.url}`);
    out.url = u.origin;
    return out;
}

function fail(msg) {
    process.stderr.write(`harness: ${msg}\n`);
    process.exit(2);
}

function decodeBody(body) {
    if (body === undefined || body === null) return undefined;
    if (typeof body === "string") {
        try {
            return JSON.parse(body);
        } catch {
            return { __text: body };
        }
    }
    if (typeof FormData !== "undefined" && body instanceof FormData) {
        const parts = [];
        for (const [k, v] of body.entries())
            parts.push(typeof v === "string" ? { name: k, value: v } : { name: k, file: { name: v.name, size: v.size } });
        return { __multipart: parts };
    }
    return { __text: String(body) };
}

function decodeJwt(token) {
    try {
        return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
    } catch {
        return null;
    }
}

function header(headers, name) {
    if (!headers) return null;
    if (headers instanceof Headers) return headers.get(name);
    for (const k of Object.keys(headers)) if (k.toLowerCase() === name) return headers[k];
    return null;
}

export class Harness {
    constructor(name) {
        this.name = name;
        this.args = parseArgs(process.argv);
        this.exchanges = [];
        this.notes = [];
        this.rewrites = [];
        this.currentStep = "(unlabelled)";
        this.startedAt = Date.now();
        this.#installFetch();
    }

    #installFetch() {
        const realFetch = globalThis.fetch;
        const self = this;
        globalThis.fetch = async function recordingFetch(input, init = {}) {
            const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
            const query = {};
            for (const [k, v] of url.searchParams) query[k] = k in query ? [].concat(query[k], v) : v;
            const entry = {
                step: self.currentStep,
                request: {
                    method: (init.method || "GET").toUpperCase(),
                    path: decodeURIComponent(url.pathname),
                    query,
                    auth: header(init.headers, "authorization") || null,
                    body: decodeBody(init.body),
                },
            };
            if (entry.request.body === undefined) delete entry.request.body;
            self.exchanges.push(entry);
            let res;
            try {
                res = await realFetch(input, init);
            } catch (err) {
                entry.error = `${err?.name}: ${err?.message}`;
                throw err;
            }
            const text = NULL_BODY.has(res.status) ? "" : await res.text();
            let body = null;
            if (text !== "") {
                try {
                    body = JSON.parse(text);
                } catch {
                    body = { __text: text };
                }
            }
            entry.response = { status: res.status, contentType: res.headers.get("content-type"), body };
            return new Response(NULL_BODY.has(res.status) ? null : text, {
                status: res.status,
                statusText: res.statusText,
                headers: res.headers,
            });
        };
    }

    /** A fresh SDK client without auth (each client keeps its own auth store). */
    client() {
        const pb = new PocketBase(this.args.url);
        pb.autoCancellation(false);
        return pb;
    }

    /** A client authenticated as the superuser given on the command line (recorded as a step). */
    async superuser() {
        const pb = this.client();
        await this.step("superuser auth", () =>
            pb.collection("_superusers").authWithPassword(this.args.email, this.args.password),
        );
        if (!pb.authStore.isValid) throw new Error("superuser authentication failed");
        return pb;
    }

    /** Runs fn under a label; HTTP errors are recorded (not thrown) and yield undefined. */
    async step(label, fn) {
        this.currentStep = label;
        try {
            return await fn();
        } catch (e) {
            if (e instanceof ClientResponseError) {
                if (e.status === 0) throw e; // transport failure: the transcript would be meaningless
                return undefined;
            }
            throw e;
        } finally {
            this.currentStep = "(unlabelled)";
        }
    }

    /** Raw request through the SDK (for malformed parameters the typed helpers would not send). */
    send(pb, label, path, options = {}) {
        return this.step(label, () => pb.send(path, { method: "GET", ...options }));
    }

    /** Records a value computed by the scenario (kept in the transcript and diffed too). */
    note(label, value) {
        this.notes.push({ label, value: value === undefined ? null : value });
    }

    /** Rewrite every matching part of every string before the other normalisations: only for a
     *  documented, deliberate difference (each use says which), never to hide a wrong answer. */
    rewrite(pattern, replacement) {
        this.rewrites.push([pattern, replacement]);
    }

    #normaliser(doc) {
        const ids = new Map();
        const counters = {};
        const visit = (v) => {
            if (Array.isArray(v)) return v.forEach(visit);
            if (!v || typeof v !== "object") return;
            if (typeof v.id === "string" && typeof v.collectionName === "string" && typeof v.collectionId === "string") {
                if (!ids.has(v.id) && v.id !== "") {
                    counters[v.collectionName] = (counters[v.collectionName] || 0) + 1;
                    ids.set(v.id, `<id:${v.collectionName}#${counters[v.collectionName]}>`);
                }
            }
            for (const k of Object.keys(v)) visit(v[k]);
        };
        visit(doc);
        const keys = [...ids.keys()].sort((a, b) => b.length - a.length);
        const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const idRe = keys.length ? new RegExp(`(?<![A-Za-z0-9_])(${keys.map(esc).join("|")})(?![A-Za-z0-9_])`, "g") : null;
        const start = this.startedAt;
        const str = (raw) => {
            const s = this.rewrites.reduce((acc, [re, by]) => acc.replace(re, by), raw);
            if (ISO_TS.test(s)) {
                const t = Date.parse(s.replace(" ", "T"));
                if (Math.abs(t - start) < NOW_WINDOW_MS) return "<now>";
                return s;
            }
            // labelled by claims, not by value: a refresh within the same second may or may not
            // return the very same token, which must not change the transcript
            let out = s.replace(JWT, (t) => {
                const c = decodeJwt(t);
                if (!c) return "<jwt>";
                const who = ids.get(c.id) || c.id;
                return `<jwt:${c.type}:${who}${c.refreshable === false ? ":non-refreshable" : ""}>`;
            });
            if (idRe) out = out.replace(idRe, (m) => ids.get(m));
            return out;
        };
        const norm = (v) => {
            if (typeof v === "string") return str(v);
            if (Array.isArray(v)) return v.map(norm);
            if (v && typeof v === "object") {
                const o = {};
                for (const k of Object.keys(v).sort()) o[str(k)] = norm(v[k]);
                return o;
            }
            return v;
        };
        return norm;
    }

    /** Runs the scenario body, then prints (and optionally writes) the normalised transcript. */
    async run(body) {
        const watchdog = setTimeout(() => fail("watchdog timeout (120 s)"), 120000);
        let fatal = null;
        try {
            await body();
        } catch (e) {
            fatal = e;
            process.stderr.write(`FATAL in step "${this.currentStep}": ${e?.stack || e}\n`);
            if (e?.response) process.stderr.write(`response: ${JSON.stringify(e.response)}\n`);
        }
        clearTimeout(watchdog);
        const doc = {
            scenario: this.name,
            fatal: fatal ? `${fatal?.name}: ${fatal?.message}` : null,
            notes: this.notes,
            exchanges: this.exchanges,
        };
        const text = JSON.stringify(this.#normaliser(doc)(doc), null, 2) + "\n";
        if (this.args.out) writeFileSync(this.args.out, text);
        process.stderr.write(`${this.name}: ${this.exchanges.length} exchanges${fatal ? ", FATAL" : ""}\n`);
        // exit only once stdout is flushed: a pipe may take the transcript asynchronously
        process.stdout.write(text, () => process.exit(fatal ? 2 : 0));
    }
}
