// The current view as a file: CSV (RFC 4180) or JSON Lines, built in the page
// from the numbers it shows, and saved through a blob: link (nothing is sent).

// A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) is prefixed
// with ' when it is text; numbers are written as they are.
function csvCell(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value);
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns, rows) {
  const lines = [columns.map(csvCell).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(","));
  return lines.join("\r\n") + "\r\n";
}

export function toJsonLines(columns, rows) {
  return rows
    .map((row) => JSON.stringify(Object.fromEntries(columns.map((c) => [c, row[c] ?? null]))) + "\n")
    .join("");
}

export function save(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
