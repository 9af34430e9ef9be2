// Reading a run: a line of its input for lists, its inputs and outputs in full.

const PREVIEW_CHARS = 90;

function textOf(value) {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    // Chat messages: the last one the user wrote, else the last one.
    const messages = value.filter((m) => m && typeof m === "object" && "content" in m);
    if (messages.length) {
      const user = messages.filter((m) => m.role === "user" || m.role === "human");
      return textOf((user.length ? user : messages)[(user.length ? user : messages).length - 1].content);
    }
  }
  if (value && typeof value === "object") {
    if ("messages" in value) return textOf(value.messages);
    const strings = Object.values(value).filter((v) => typeof v === "string");
    if (Object.keys(value).length === 1 && strings.length === 1) return strings[0];
  }
  return value === null || value === undefined ? "" : JSON.stringify(value);
}

// The start of a run's input, on one line.
export function inputPreview(inputs) {
  const line = textOf(inputs).replace(/\s+/g, " ").trim();
  return line.length > PREVIEW_CHARS ? `${line.slice(0, PREVIEW_CHARS - 1)}…` : line;
}

// Inputs or outputs for reading: text as it is, anything else as indented JSON.
export function pretty(value) {
  if (value === null || value === undefined) return "–";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}
