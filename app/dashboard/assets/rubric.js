// A feedback task's rubric as a form, generated from its JSON Schema.
//
// Each top-level property becomes a field: an integer with a range of at most 11
// values a scale of buttons; a boolean Yes/No; an enum (or oneOf consts) buttons;
// other numbers a number box; strings a text box; an array of enum values toggle
// buttons; anything else a JSON box. Required fields are marked. The form checks
// nothing itself: the server's validator does, and its field errors (BAD_REQUEST,
// extensions.errors: [{path: "$.Field", message}]) are shown under their fields.
//
// Keyboard: one field is active; j/k (or the arrows) move between fields, digits
// pick a scale value or the n-th button (Yes is 1, No is 2) and move on.

import { el } from "./run_view.js";

const MAX_SCALE = 11;

function resolve(schema, prop) {
  let current = prop;
  for (let hops = 0; current && typeof current.$ref === "string" && hops < 10; hops += 1) {
    if (!current.$ref.startsWith("#/")) return current;
    current = current.$ref
      .slice(2)
      .split("/")
      .reduce((at, part) => (at ? at[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), schema);
  }
  return current || {};
}

function types(prop) {
  const declared = Array.isArray(prop.type) ? prop.type : prop.type ? [prop.type] : [];
  return declared.filter((t) => t !== "null");
}

function bound(prop, inclusive, exclusive, step) {
  if (Number.isFinite(prop[inclusive])) return prop[inclusive];
  if (Number.isFinite(prop[exclusive])) return prop[exclusive] + step;
  return null;
}

function constOptions(prop) {
  const alternatives = prop.oneOf || prop.anyOf;
  if (!Array.isArray(alternatives) || !alternatives.length) return null;
  if (!alternatives.every((a) => a && typeof a === "object" && "const" in a)) return null;
  return alternatives.map((a) => ({ value: a.const, label: a.title || display(a.const) }));
}

function display(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

// What kind of control a property gets, and its options.
export function fieldKind(schema, prop) {
  prop = resolve(schema, prop);
  const kinds = types(prop);
  if (Array.isArray(prop.enum)) {
    return { kind: "choice", options: prop.enum.filter((v) => v !== null).map((v) => ({ value: v, label: display(v) })) };
  }
  const consts = constOptions(prop);
  if (consts) return { kind: "choice", options: consts };
  if (kinds.length === 1 && kinds[0] === "boolean") {
    return { kind: "choice", boolean: true, options: [{ value: true, label: "Yes" }, { value: false, label: "No" }] };
  }
  if (kinds.length === 1 && kinds[0] === "integer") {
    const low = bound(prop, "minimum", "exclusiveMinimum", 1);
    const high = bound(prop, "maximum", "exclusiveMaximum", -1);
    if (low !== null && high !== null && high >= low && high - low < MAX_SCALE) {
      const values = [];
      for (let v = Math.ceil(low); v <= Math.floor(high); v += 1) values.push(v);
      return { kind: "scale", options: values.map((v) => ({ value: v, label: String(v) })) };
    }
  }
  if (kinds.length && kinds.every((k) => k === "integer" || k === "number")) {
    return { kind: "number", integer: kinds.every((k) => k === "integer"), prop };
  }
  if (kinds.length === 1 && kinds[0] === "string") {
    return { kind: "text", long: !(Number.isFinite(prop.maxLength) && prop.maxLength <= 120), prop };
  }
  if (kinds.length === 1 && kinds[0] === "array") {
    const items = resolve(schema, prop.items || {});
    if (Array.isArray(items.enum)) {
      return { kind: "multi", options: items.enum.map((v) => ({ value: v, label: display(v) })) };
    }
  }
  return { kind: "json" };
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// The field a validator error's path is about: "$.Coherence", "$.Notes[0]" (the
// longest name that fits wins), or "$['odd name']" (jsonschema's form for names that
// are not identifiers); null for the object as a whole.
export function fieldOfPath(path, names) {
  if (typeof path !== "string") return null;
  const bracket = /^\$\['((?:[^'\\]|\\.)*)'\]/.exec(path);
  if (bracket) {
    const name = bracket[1].replace(/\\(.)/g, "$1");
    return names.includes(name) ? name : null;
  }
  if (!path.startsWith("$.")) return null;
  const rest = path.slice(2);
  let best = null;
  for (const name of names) {
    const fits = rest === name || rest.startsWith(`${name}.`) || rest.startsWith(`${name}[`);
    if (fits && (best === null || name.length > best.length)) best = name;
  }
  return best;
}

export class RubricForm {
  constructor(container, schema) {
    this.container = container;
    this.schema = schema || {};
    this.values = new Map();
    this.fields = [];
    this.active = 0;
    this.build();
  }

  build() {
    const properties = (this.schema && this.schema.properties) || {};
    const required = new Set(Array.isArray(this.schema.required) ? this.schema.required : []);
    this.container.replaceChildren();
    this.general = el("p", null, "field-error general-error");
    this.general.setAttribute("role", "alert");
    this.general.dataset.testid = "form-error";
    this.general.hidden = true;
    this.container.appendChild(this.general);
    for (const [name, rawProp] of Object.entries(properties)) {
      const prop = resolve(this.schema, rawProp);
      const spec = fieldKind(this.schema, rawProp);
      const field = { name, spec, required: required.has(name) };
      field.node = this.renderField(field, prop);
      field.node.addEventListener("focusin", () => this.activate(this.fields.indexOf(field), false));
      field.node.addEventListener("click", () => this.activate(this.fields.indexOf(field), false));
      this.fields.push(field);
      this.container.appendChild(field.node);
    }
    if (!this.fields.length) this.container.appendChild(el("p", "This task's schema has no fields.", "muted"));
    this.activate(0, false);
  }

  renderField(field, prop) {
    const { name, spec } = field;
    const node = el("div", null, "field");
    node.dataset.field = name;
    node.dataset.kind = spec.kind;
    const label = el("div", null, "field-label");
    const id = `field-${this.fields.length}`;
    const title = el(spec.kind === "text" || spec.kind === "number" || spec.kind === "json" ? "label" : "span", prop.title || name, "field-name");
    if (title.tagName === "LABEL") title.htmlFor = id;
    label.appendChild(title);
    if (field.required) {
      const mark = el("span", "*", "required");
      mark.title = "required";
      mark.setAttribute("aria-label", "required");
      label.appendChild(mark);
    }
    node.appendChild(label);
    if (prop.title && prop.title !== name) node.appendChild(el("div", name, "field-key"));
    if (typeof prop.description === "string") node.appendChild(el("p", prop.description, "help"));
    const control = el("div", null, "control");
    if (spec.kind === "scale" || spec.kind === "choice" || spec.kind === "multi") {
      control.setAttribute("role", "group");
      control.setAttribute("aria-label", prop.title || name);
      spec.options.forEach((option, index) => {
        const button = el("button", null, "option");
        button.type = "button";
        button.dataset.value = JSON.stringify(option.value);
        button.setAttribute("aria-pressed", "false");
        if (spec.kind !== "scale" && index < 9) button.appendChild(el("kbd", String(index + 1)));
        button.appendChild(document.createTextNode(option.label));
        button.addEventListener("click", () => this.choose(field, option.value));
        control.appendChild(button);
      });
      if (spec.kind === "scale") {
        node.classList.add("scale");
      }
    } else if (spec.kind === "text") {
      const input = spec.long ? el("textarea") : el("input");
      if (!spec.long) input.type = "text";
      else input.rows = 3;
      input.id = id;
      if (Number.isFinite(spec.prop.maxLength)) input.maxLength = spec.prop.maxLength;
      if (field.required) input.setAttribute("aria-required", "true");
      input.addEventListener("input", () => this.set(field, input.value === "" ? undefined : input.value));
      control.appendChild(input);
      field.input = input;
    } else if (spec.kind === "number") {
      const input = el("input");
      input.type = "number";
      input.id = id;
      input.step = spec.integer ? "1" : "any";
      if (Number.isFinite(spec.prop.minimum)) input.min = String(spec.prop.minimum);
      if (Number.isFinite(spec.prop.maximum)) input.max = String(spec.prop.maximum);
      if (field.required) input.setAttribute("aria-required", "true");
      input.addEventListener("input", () => this.set(field, input.value === "" ? undefined : Number(input.value)));
      control.appendChild(input);
      field.input = input;
    } else {
      const input = el("textarea");
      input.id = id;
      input.rows = 3;
      input.placeholder = "JSON";
      input.addEventListener("input", () => this.set(field, input.value.trim() === "" ? undefined : { json: input.value }));
      control.appendChild(input);
      field.input = input;
    }
    node.appendChild(control);
    const error = el("p", null, "field-error");
    error.setAttribute("role", "alert");
    error.dataset.testid = `error-${name}`;
    error.hidden = true;
    node.appendChild(error);
    field.error = error;
    return node;
  }

  set(field, value) {
    if (value === undefined) this.values.delete(field.name);
    else this.values.set(field.name, value);
    this.showError(field, null);
    if (field.spec.options) {
      const chosen = this.values.get(field.name);
      for (const button of field.node.querySelectorAll("button.option")) {
        const value = JSON.parse(button.dataset.value);
        const pressed = field.spec.kind === "multi" ? (chosen || []).some((c) => same(c, value)) : chosen !== undefined && same(chosen, value);
        button.setAttribute("aria-pressed", String(pressed));
      }
    }
  }

  choose(field, value) {
    const current = this.values.get(field.name);
    if (field.spec.kind === "multi") {
      const chosen = (current || []).filter((c) => !same(c, value));
      if (chosen.length === (current || []).length) chosen.push(value);
      this.set(field, chosen.length ? chosen : undefined);
    } else {
      // Choosing the chosen option again clears it.
      this.set(field, current !== undefined && same(current, value) ? undefined : value);
    }
  }

  activate(index, focus = true) {
    if (!this.fields.length) return;
    this.active = Math.max(0, Math.min(this.fields.length - 1, index));
    this.fields.forEach((field, i) => field.node.classList.toggle("active", i === this.active));
    const field = this.fields[this.active];
    if (focus) {
      field.node.scrollIntoView({ block: "nearest" });
      if (field.input) field.input.focus();
      else if (document.activeElement && this.container.contains(document.activeElement)) document.activeElement.blur();
    }
  }

  move(delta) {
    this.activate(this.active + delta);
  }

  // A digit typed outside a text box: a scale's value (0 is 10 when 10 is on the
  // scale and 0 is not), or the n-th button. True when it picked something.
  pickDigit(digit) {
    const field = this.fields[this.active];
    if (!field || !field.spec.options) return false;
    let option;
    if (field.spec.kind === "scale") {
      option = field.spec.options.find((o) => o.value === digit) || (digit === 0 ? field.spec.options.find((o) => o.value === 10) : undefined);
    } else {
      option = digit >= 1 ? field.spec.options[digit - 1] : undefined;
    }
    if (option === undefined) return false;
    if (field.spec.kind === "multi") this.choose(field, option.value);
    else this.set(field, option.value);
    if (field.spec.kind !== "multi" && this.active < this.fields.length - 1) this.activate(this.active + 1);
    return true;
  }

  // The answers to send; a JSON box that does not parse is shown in place (null).
  collect() {
    const values = {};
    let ok = true;
    for (const field of this.fields) {
      if (!this.values.has(field.name)) continue;
      const value = this.values.get(field.name);
      if (field.spec.kind === "json") {
        try {
          values[field.name] = JSON.parse(value.json);
        } catch (error) {
          this.showError(field, `not JSON: ${error.message}`);
          ok = false;
        }
      } else {
        values[field.name] = value;
      }
    }
    return ok ? values : null;
  }

  showError(field, message) {
    field.error.textContent = message || "";
    field.error.hidden = !message;
    field.node.classList.toggle("invalid", Boolean(message));
    const target = field.input || field.node.querySelector("[role=group]");
    if (target) {
      if (message) target.setAttribute("aria-invalid", "true");
      else target.removeAttribute("aria-invalid");
    }
  }

  clearErrors() {
    this.general.hidden = true;
    for (const field of this.fields) this.showError(field, null);
  }

  // The validator's errors, each under its field (the rest above the form).
  showErrors(errors) {
    this.clearErrors();
    const names = this.fields.map((f) => f.name);
    const messages = new Map();
    const general = [];
    for (const error of errors) {
      const name = fieldOfPath(error.path, names);
      if (name !== null) {
        messages.set(name, [...(messages.get(name) || []), error.message]);
      } else {
        general.push(error.path && error.path !== "$" ? `${error.path}: ${error.message}` : error.message);
      }
    }
    for (const field of this.fields) {
      if (messages.has(field.name)) this.showError(field, messages.get(field.name).join("; "));
    }
    this.general.textContent = general.join("; ");
    this.general.hidden = !general.length;
    const first = this.fields.findIndex((f) => messages.has(f.name));
    if (first >= 0) this.activate(first, false);
  }
}
