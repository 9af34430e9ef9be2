// A run's inputs and outputs for reading: chat messages as a conversation, text as
// Markdown (markdown.js: DOM nodes only, never HTML), JSON as a tree whose long
// parts start folded. Every value reaches the page as text.

import { renderMarkdown } from "./markdown.js";

// JSON longer than this (serialized) starts folded.
const FOLD_CHARS = 240;
const FOLD_ITEMS = 8;

export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function messageText(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content) && content.every((p) => isObject(p) && typeof p.text === "string")) {
    return content.map((p) => p.text).join("\n\n");
  }
  return null;
}

// [{role, content}] (OpenAI, Anthropic), [{type, content}] (LangChain), or an
// object holding such a list under "messages": the messages, else null.
export function chatMessages(value) {
  const list = isObject(value) && Array.isArray(value.messages) ? value.messages : value;
  if (!Array.isArray(list) || !list.length) return null;
  const messages = [];
  for (const item of list) {
    if (!isObject(item) || !("content" in item)) return null;
    const role = typeof item.role === "string" ? item.role : typeof item.type === "string" ? item.type : null;
    if (role === null) return null;
    messages.push({ role, content: item.content, name: typeof item.name === "string" ? item.name : null });
  }
  return messages;
}

function conversation(messages) {
  const list = el("ol", null, "conversation");
  list.dataset.testid = "conversation";
  for (const message of messages) {
    const item = el("li", null, "message");
    const role = message.role.toLowerCase();
    item.dataset.role = ["user", "human"].includes(role) ? "user" : ["assistant", "ai"].includes(role) ? "assistant" : role;
    item.appendChild(el("span", message.name ? `${message.role} (${message.name})` : message.role, "role"));
    const text = messageText(message.content);
    const body = el("div", null, "prose");
    body.appendChild(text === null ? jsonTree(message.content) : renderMarkdown(text));
    item.appendChild(body);
    list.appendChild(item);
  }
  return list;
}

function scalar(value) {
  if (typeof value === "string") return el("span", JSON.stringify(value), "json-string");
  if (value === null) return el("span", "null", "json-null");
  return el("span", String(value), `json-${typeof value}`);
}

function summaryText(value) {
  return Array.isArray(value) ? `[${value.length} item${value.length === 1 ? "" : "s"}]` : `{${Object.keys(value).length} key${Object.keys(value).length === 1 ? "" : "s"}}`;
}

function node(value, depth) {
  if (value === null || typeof value !== "object") return scalar(value);
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  const details = el("details", null, "json-node");
  const size = JSON.stringify(value).length;
  details.open = depth === 0 ? size <= FOLD_CHARS * 4 : size <= FOLD_CHARS && entries.length <= FOLD_ITEMS;
  const summary = el("summary", summaryText(value));
  details.appendChild(summary);
  const list = el("ul", null, "json-entries");
  for (const [key, child] of entries) {
    const row = el("li");
    row.appendChild(el("span", `${key}: `, "json-key"));
    row.appendChild(node(child, depth + 1));
    list.appendChild(row);
  }
  details.appendChild(list);
  return details;
}

// JSON as a tree: objects and arrays are <details>, open when short.
export function jsonTree(value) {
  const wrapper = el("div", null, "json");
  wrapper.dataset.testid = "json";
  wrapper.appendChild(node(value, 0));
  return wrapper;
}

function section(label, content) {
  const part = el("div", null, "part");
  if (label !== null) part.appendChild(el("div", label, "part-label"));
  part.appendChild(content);
  return part;
}

function prose(text) {
  const body = el("div", null, "prose");
  body.appendChild(renderMarkdown(text));
  return body;
}

// Inputs or outputs for reading. An object is shown field by field: text as
// Markdown, messages as a conversation, anything else as a JSON tree.
export function renderValue(value) {
  const box = el("div", null, "value");
  if (value === null || value === undefined) {
    box.appendChild(el("p", "Nothing recorded.", "muted"));
    return box;
  }
  const messages = chatMessages(value);
  if (messages && Array.isArray(value)) {
    box.appendChild(conversation(messages));
  } else if (typeof value === "string") {
    box.appendChild(prose(value));
  } else if (isObject(value) && Object.keys(value).length <= 12) {
    for (const [key, field] of Object.entries(value)) {
      const fieldMessages = chatMessages(field);
      if (typeof field === "string") box.appendChild(section(key, prose(field)));
      else if (fieldMessages) box.appendChild(section(key, conversation(fieldMessages)));
      else box.appendChild(section(key, jsonTree(field)));
    }
  } else {
    box.appendChild(jsonTree(value));
  }
  return box;
}
