// The options each field type takes (PocketBase's field settings), one control per option.
// kind: "number" (empty: 0) | "optnumber" (empty: null, no limit) | "bool" | "text" | "list" (comma separated) | "collection" (a relation target)

export const COMMON = [
  ["required", "bool", "Required (nonempty)"],
  ["hidden", "bool", "Hidden from the API"],
  ["presentable", "bool", "Presentable (shown in relation pickers)"],
];

export const OPTIONS = {
  text: [["min", "number", "Min length"], ["max", "number", "Max length"], ["pattern", "text", "Regex pattern"], ["autogeneratePattern", "text", "Autogenerate pattern"], ["encrypted", "bool", "Encrypted at rest (filters: = and != only)"]],
  editor: [["maxSize", "number", "Max size (bytes)"], ["convertURLs", "bool", "Convert URLs"], ["encrypted", "bool", "Encrypted at rest (filters: = and != only)"]],
  number: [["min", "optnumber", "Min"], ["max", "optnumber", "Max"], ["onlyInt", "bool", "Integers only"]],
  bool: [],
  email: [["exceptDomains", "list", "Except domains"], ["onlyDomains", "list", "Only domains"]],
  url: [["exceptDomains", "list", "Except domains"], ["onlyDomains", "list", "Only domains"]],
  date: [["min", "text", "Min date"], ["max", "text", "Max date"]],
  autodate: [["onCreate", "bool", "Set on create"], ["onUpdate", "bool", "Set on update"]],
  select: [["values", "list", "Choices"], ["maxSelect", "number", "Max selected"]],
  json: [["maxSize", "number", "Max size (bytes)"], ["encrypted", "bool", "Encrypted at rest (filters: = and != only)"]],
  file: [["maxSelect", "number", "Max files"], ["maxSize", "number", "Max size per file (bytes)"], ["mimeTypes", "list", "Allowed MIME types"], ["thumbs", "list", "Thumb sizes (e.g. 100x100)"], ["protected", "bool", "Protected (token needed)"]],
  relation: [["collectionId", "collection", "Related collection"], ["maxSelect", "number", "Max selected"], ["minSelect", "number", "Min selected"], ["cascadeDelete", "bool", "Cascade delete"]],
  password: [["min", "number", "Min length"], ["max", "number", "Max length"], ["pattern", "text", "Regex pattern"]],
  geoPoint: [],
};

export const FIELD_TYPES = Object.keys(OPTIONS);

/** Read an option control back into the value the API expects. */
export function readOption(kind, control) {
  if (kind === "bool") return control.checked;
  if (kind === "number") return control.value === "" ? 0 : Number(control.value);
  if (kind === "optnumber") return control.value === "" ? null : Number(control.value);
  if (kind === "list") return control.value.split(",").map((s) => s.trim()).filter(Boolean);
  return control.value;
}

export function showOption(kind, value) {
  if (kind === "list") return Array.isArray(value) ? value.join(", ") : "";
  if (value === undefined || value === null) return "";
  return String(value);
}
