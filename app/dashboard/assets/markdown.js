// A small Markdown renderer that builds DOM nodes and never parses HTML.
//
// Every piece of the source reaches the page through textContent or a text node,
// so nothing in it can become markup, a script or an event handler: "<img onerror>"
// shows as those characters. Links keep only http:, https: and mailto: targets
// (anything else, javascript: included, stays text) and open with no referrer.
// Images are shown as links, so a run's output never makes the page load anything.
//
// What it reads: ATX headings, paragraphs (a newline is a line break, as in chat
// messages), fenced and indented code, block quotes, bullet and numbered lists,
// rules; inline code, links, <autolinks>, **strong**, *emphasis*, ~~strike~~.

const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:"]);

function el(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function safeHref(href) {
  let url;
  try {
    url = new URL(href);
  } catch {
    return null; // relative or malformed: not followed
  }
  return SAFE_SCHEMES.has(url.protocol) ? url.href : null;
}

function link(text, href, label) {
  const safe = safeHref(href);
  if (!safe) return document.createTextNode(label);
  const a = el("a");
  a.href = safe;
  a.rel = "noopener noreferrer nofollow";
  a.target = "_blank";
  a.append(...inline(text));
  return a;
}

// Inline patterns; at each point the earliest match wins. Global ("g") so a search
// starts where the last one ended: each pattern's next match is found once and
// kept until the text before it is used up, so a long output costs linear time.
const INLINE = [
  { re: /`([^`\n]+)`/g, make: (m) => el("code", m[1]) },
  { re: /!\[([^\]\n]*)\]\(([^)\s]+)\)/g, make: (m) => link(`image: ${m[1] || m[2]}`, m[2], m[0]) },
  { re: /\[([^\]\n]+)\]\(([^)\s]+)\)/g, make: (m) => link(m[1], m[2], m[0]) },
  { re: /<((?:https?|mailto):[^>\s]+)>/g, make: (m) => link(m[1], m[1], m[0]) },
  { re: /\*\*(\S(?:[^*]*\S)?)\*\*|__(\S(?:[^_]*\S)?)__/g, make: (m) => wrap("strong", m[1] ?? m[2]) },
  { re: /\*(\S(?:[^*]*\S)?)\*|(?<!\w)_(\S(?:[^_]*\S)?)_(?!\w)/g, make: (m) => wrap("em", m[1] ?? m[2]) },
  { re: /~~(\S(?:[^~]*\S)?)~~/g, make: (m) => wrap("del", m[1]) },
];

function wrap(tag, text) {
  const node = el(tag);
  node.append(...inline(text));
  return node;
}

function inline(text) {
  const nodes = [];
  const found = INLINE.map(() => undefined); // each pattern's next match (null: none left)
  let pos = 0;
  while (pos < text.length) {
    let best = null;
    INLINE.forEach((pattern, k) => {
      if (found[k] === undefined || (found[k] && found[k].index < pos)) {
        pattern.re.lastIndex = pos;
        found[k] = pattern.re.exec(text);
      }
      const match = found[k];
      if (match && (!best || match.index < best.match.index)) best = { match, pattern };
    });
    if (!best) break;
    if (best.match.index > pos) nodes.push(...textWithBreaks(text.slice(pos, best.match.index)));
    pos = best.match.index + best.match[0].length;
    nodes.push(best.pattern.make(best.match)); // may search again: ``found`` keeps its results
  }
  if (pos < text.length) nodes.push(...textWithBreaks(text.slice(pos)));
  return nodes;
}

function textWithBreaks(text) {
  const nodes = [];
  text.split("\n").forEach((line, i) => {
    if (i) nodes.push(el("br"));
    if (line) nodes.push(document.createTextNode(line));
  });
  return nodes;
}

const FENCE = /^\s{0,3}(```+|~~~+)\s*([\w+-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const INDENTED = /^( {4}|\t)(.*)$/;

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || BULLET.test(line) || NUMBERED.test(line) || QUOTE.test(line);
}

function blocks(lines, depth) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) {
      i += 1;
    } else if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const code = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) code.push(lines[i++]);
      i += 1; // the closing fence (or the end)
      const pre = el("pre");
      const codeNode = el("code", code.join("\n"));
      if (m[2]) codeNode.dataset.language = m[2];
      pre.appendChild(codeNode);
      out.push(pre);
    } else if ((m = HEADING.exec(line))) {
      // Headings start at h3: the page's own h1/h2 stay on top.
      out.push(wrap(`h${Math.min(6, m[1].length + 2)}`, m[2]));
      i += 1;
    } else if (RULE.test(line)) {
      out.push(el("hr"));
      i += 1;
    } else if (QUOTE.test(line) && depth < 8) {
      const quoted = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
        quoted.push(m[1]);
        i += 1;
      }
      const quote = el("blockquote");
      quote.append(...blocks(quoted, depth + 1));
      out.push(quote);
    } else if (BULLET.test(line) || NUMBERED.test(line)) {
      const numbered = !BULLET.test(line);
      const pattern = numbered ? NUMBERED : BULLET;
      const list = el(numbered ? "ol" : "ul");
      if (numbered) {
        const first = Number(NUMBERED.exec(line)[1]);
        if (first !== 1) list.start = first;
      }
      while (i < lines.length && (m = pattern.exec(lines[i]))) {
        const item = [numbered ? m[2] : m[1]];
        i += 1;
        // Continuation lines: indented, not a new item.
        while (i < lines.length && lines[i].trim() && /^\s+/.test(lines[i]) && !pattern.test(lines[i])) {
          item.push(lines[i].trim());
          i += 1;
        }
        list.appendChild(wrap("li", item.join("\n")));
      }
      out.push(list);
    } else if (INDENTED.test(line)) {
      const code = [];
      while (i < lines.length && (m = INDENTED.exec(lines[i]))) {
        code.push(m[2]);
        i += 1;
      }
      const pre = el("pre");
      pre.appendChild(el("code", code.join("\n")));
      out.push(pre);
    } else {
      const paragraph = [];
      while (i < lines.length && lines[i].trim() && !(paragraph.length && startsBlock(lines[i]))) {
        paragraph.push(lines[i].trim());
        i += 1;
      }
      out.push(wrap("p", paragraph.join("\n")));
    }
  }
  return out;
}

// The source as a fragment of DOM nodes, ready to append.
export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment();
  fragment.append(...blocks(String(source).replace(/\r\n?/g, "\n").split("\n"), 0));
  return fragment;
}
