// Copying text: the asynchronous Clipboard API where the page may use it (a secure context with
// permission), else the older selection copy, else the text is left selected for Ctrl+C.
import { h } from "./dom.js";

function legacyCopy(text) {
  const scratch = h("textarea", { class: "offscreen", readonly: true, "aria-hidden": "true", tabindex: "-1" });
  scratch.value = text;
  const previous = document.activeElement;
  document.body.append(scratch);
  scratch.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  scratch.remove();
  if (previous && previous.focus) previous.focus();
  return copied;
}

function selectText(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

/** Copies `text`; returns the message to announce. `source` is selected when nothing else works. */
export async function copyText(text, source) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return "Copied.";
    } catch {
      // refused (no permission, page not focused): fall through to the older way
    }
  }
  if (legacyCopy(text)) return "Copied.";
  if (source) selectText(source);
  return "Could not copy: the text is selected, press Ctrl+C.";
}
