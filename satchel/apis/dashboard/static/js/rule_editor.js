// The API rule editor: a textarea laid over a highlighted copy of its text, a completion list under
// the caret (combobox + listbox, keyboard driven) and the server's verdict while typing.
// The colours come from a small lexer that only splits text into tokens; whether a rule parses and
// resolves is asked of the server (POST /api/collections/meta/rule-check), never decided here.
import { request } from "./api.js";
import { h, nextId } from "./dom.js";

export const MACROS = [
  "@now", "@second", "@minute", "@hour", "@weekday", "@day", "@month", "@year", "@yesterday", "@tomorrow",
  "@todayStart", "@todayEnd", "@monthStart", "@monthEnd", "@yearStart", "@yearEnd",
];
export const MODIFIERS = [":isset", ":changed", ":length", ":each", ":lower"];
const KEYWORDS = new Set(["true", "false", "null"]);
const CHECK_DELAY_MS = 400;
const MAX_OPTIONS = 60;

// one alternative per token kind, tried in order at each position (sticky: no gaps are skipped)
const LEXER = new RegExp([
  /("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)/.source, // 1 string (an unclosed one runs to the end)
  /(\d+(?:\.\d+)?)/.source, // 2 number
  /(\?(?:!=|>=|<=|!~|=|>|<|~)|!=|>=|<=|!~|&&|\|\||[=<>~])/.source, // 3 operator
  /([()])/.source, // 4 parenthesis
  /(@request(?:\.\w*)*)/.source, // 5 @request.*
  /(@collection(?:\.\w*(?::\w*)?)*)/.source, // 6 @collection.*
  /(@\w*)/.source, // 7 macro
  /(:\w*)/.source, // 8 modifier
  /([A-Za-z_]\w*(?:\.\w*)*)/.source, // 9 identifier (a field path)
  /(\s+|.)/.source, // 10 anything else
].join("|"), "gy");
const KINDS = [null, "str", "num", "op", "paren", "req", "coll", "macro", "mod", "id", null];

/** [[kind, text], ...] covering `text` exactly; kind is null for spaces and unknown characters. */
export function tokens(text) {
  const out = [];
  LEXER.lastIndex = 0;
  let match;
  while (LEXER.lastIndex < text.length && (match = LEXER.exec(text))) {
    const group = match.findIndex((m, i) => i > 0 && m !== undefined);
    let kind = KINDS[group];
    if (kind === "id" && KEYWORDS.has(match[0].toLowerCase())) kind = "kw";
    out.push([kind, match[0]]);
  }
  return out;
}

function fieldNames(fields) {
  return (fields || []).map((f) => f.name).filter(Boolean);
}

/**
 * Everything that may be completed in a rule of the collection being edited.
 * `fields`: the draft's fields; `collections`: every saved collection.
 */
export function candidates(fields, collections) {
  const byId = new Map(collections.map((c) => [c.id, c]));
  const own = fieldNames(fields);
  const out = [...own];
  for (const f of fields || []) {
    const target = f.type === "relation" && f.name ? byId.get(f.collectionId) : null;
    if (target) out.push(...fieldNames(target.fields).map((n) => `${f.name}.${n}`));
  }
  const authFields = new Set(["id", "collectionId", "collectionName"]);
  for (const c of collections) if (c.type === "auth") fieldNames(c.fields).forEach((n) => authFields.add(n));
  out.push(...[...authFields].map((n) => `@request.auth.${n}`));
  out.push(...own.map((n) => `@request.body.${n}`));
  out.push("@request.query.", "@request.headers.", "@request.method", "@request.context");
  for (const c of collections) out.push(...fieldNames(c.fields).map((n) => `@collection.${c.name}.${n}`));
  out.push(...MACROS, ...KEYWORDS);
  return [...new Set(out)];
}

/** The word being typed just before `caret`: its start and text (a field path, `@...` or `:mod`). */
export function wordAt(text, caret) {
  const word = /[@\w.:]*$/.exec(text.slice(0, caret))[0];
  const colon = word.lastIndexOf(":");
  if (colon > 0 && !word.slice(colon).includes(".")) {
    return { start: caret - word.length + colon, word: word.slice(colon), modifier: true };
  }
  return { start: caret - word.length, word, modifier: false }; // `@collection.name:alias.field` too
}

/** Candidates that complete `word`: shortest paths first, then system collections' fields last. */
export function suggest(word, modifier, all, everything = false) {
  if (!word && !everything) return [];
  const lower = word.toLowerCase();
  const pool = modifier ? MODIFIERS : all;
  const found = pool.filter((c) => c.toLowerCase().startsWith(lower) && c !== word);
  const rank = (c) => c.split(".").length * 2 + (c.startsWith("@collection._") ? 1 : 0); // system collections last
  found.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return found.slice(0, MAX_OPTIONS);
}

function paint(pre, text) {
  pre.replaceChildren(
    ...tokens(text).map(([kind, part]) => (kind ? h("span", { class: `tok tok-${kind}` }, part) : document.createTextNode(part))),
    document.createTextNode("\n"), // the textarea shows an empty last line after a final newline; so must the copy
  );
}

/** Where the caret is drawn, relative to the editor box, measured on the highlighted copy. */
function caretPoint(pre, box, offset) {
  const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
  let seen = 0;
  let node;
  while ((node = walker.nextNode())) {
    const length = node.data.length;
    if (seen + length >= offset && length > 0) {
      const range = document.createRange();
      const at = offset - seen;
      let rect;
      if (at > 0 && node.data[at - 1] !== "\n") {
        range.setStart(node, at - 1);
        range.setEnd(node, at);
        const r = range.getBoundingClientRect();
        rect = { x: r.right, y: r.bottom };
      } else {
        range.setStart(node, at);
        range.setEnd(node, Math.min(at + 1, length));
        const r = range.getBoundingClientRect();
        rect = { x: r.left, y: r.bottom };
      }
      const outer = box.getBoundingClientRect();
      return { x: rect.x - outer.left, y: rect.y - outer.top };
    }
    seen += length;
  }
  return { x: 8, y: 24 };
}

/**
 * Turn the rule textarea of a `field(...)` wrapper into the editor, in place: the textarea keeps its
 * id, label, value and `disabled` flag, so forms read it as before.
 * `context.fields()` is the draft's fields, `context.collections` every collection, and
 * `context.draft()` the body the server checks the rule against (the unsaved collection).
 */
export function attachRuleEditor(wrap, textarea, context) {
  const pre = h("pre", { class: "rule-highlight mono", "aria-hidden": "true" });
  const listId = nextId("rule-list");
  const list = h("ul", { class: "rule-options", role: "listbox", id: listId, "aria-label": "Completions", hidden: true });
  const box = h("div", { class: "rule-editor" });
  textarea.replaceWith(box);
  box.append(pre, textarea, list);
  textarea.classList.add("rule-input");
  textarea.setAttribute("spellcheck", "false");
  textarea.setAttribute("autocomplete", "off");
  textarea.setAttribute("role", "combobox");
  textarea.setAttribute("aria-multiline", "true");
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", listId);
  textarea.setAttribute("aria-expanded", "false");

  let options = [];
  let active = -1;
  let target = null; // { start, end } of the word the options replace

  const close = () => {
    options = [];
    active = -1;
    list.hidden = true;
    list.replaceChildren();
    textarea.setAttribute("aria-expanded", "false");
    textarea.removeAttribute("aria-activedescendant");
  };
  const highlight = (index) => {
    active = index;
    [...list.children].forEach((li, i) => li.setAttribute("aria-selected", i === index ? "true" : "false"));
    const current = list.children[index];
    if (current) {
      textarea.setAttribute("aria-activedescendant", current.id);
      current.scrollIntoView({ block: "nearest" });
    }
  };
  const accept = (index) => {
    const choice = options[index];
    if (!choice || !target) return;
    const text = textarea.value;
    textarea.value = text.slice(0, target.start) + choice + text.slice(target.end);
    const caret = target.start + choice.length;
    textarea.setSelectionRange(caret, caret);
    close();
    refresh();
    scheduleCheck();
    if (choice.endsWith(".")) open(false); // `@request.query.`: the name comes next
  };
  const open = (force) => {
    const caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd) return close();
    const { start, word, modifier } = wordAt(textarea.value, caret);
    const found = suggest(word, modifier, candidates(context.fields(), context.collections), force);
    if (found.length === 0) return close();
    target = { start, end: caret };
    options = found;
    list.replaceChildren(...found.map((text, i) => h("li", {
      role: "option", id: `${listId}-${i}`, class: "rule-option", "aria-selected": "false",
      onmousedown: (event) => { event.preventDefault(); accept(i); }, // before the textarea loses focus
    }, text)));
    list.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    highlight(0);
    const point = caretPoint(pre, box, caret);
    const width = Math.min(list.offsetWidth || 240, box.clientWidth);
    list.style.left = `${Math.max(0, Math.min(point.x, box.clientWidth - width))}px`;
    list.style.top = `${point.y + 2}px`;
  };

  let timer = 0;
  let asked = 0;
  const check = async () => {
    const rule = textarea.value;
    const mine = ++asked;
    let message = "";
    let verdict = "valid";
    if (context.checkable && !context.checkable()) {
      verdict = "skipped"; // the server cannot know the fields yet (a new or changed view query): the save checks
    } else if (rule.trim() !== "" && !textarea.disabled) {
      try {
        await request("POST", "/api/collections/meta/rule-check", { body: { collection: context.draft(), rule } });
      } catch (error) {
        message = error.fieldMessage?.("rule") || "";
        // another part of the draft is unreadable (a field without a name...): no verdict on the rule
        verdict = message ? "invalid" : "unchecked";
      }
    }
    if (mine === asked && textarea.value === rule) {
      wrap.setError(message);
      box.dataset.check = verdict;
    }
  };
  const scheduleCheck = () => {
    box.dataset.check = "pending"; // the verdict is on its way (tests and styles can wait for it)
    window.clearTimeout(timer);
    timer = window.setTimeout(check, CHECK_DELAY_MS);
  };
  const refresh = () => {
    paint(pre, textarea.value);
    if (textarea.scrollHeight > 0) {
      // grow with the text: no scrollbar, so the copy underneath wraps at the same width
      textarea.style.height = "auto";
      textarea.style.height = `${textarea.scrollHeight + 2}px`;
    }
    pre.scrollTop = textarea.scrollTop;
  };

  textarea.addEventListener("input", () => { refresh(); open(false); scheduleCheck(); });
  textarea.addEventListener("scroll", () => { pre.scrollTop = textarea.scrollTop; });
  textarea.addEventListener("blur", close);
  textarea.addEventListener("click", close);
  textarea.addEventListener("keydown", (event) => {
    if (event.key === " " && event.ctrlKey) {
      event.preventDefault();
      open(true);
      return;
    }
    if (list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + options.length) % options.length);
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      accept(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // only the list closes, not a surrounding dialog
      close();
    }
  });
  refresh();
  return { check, refresh };
}
