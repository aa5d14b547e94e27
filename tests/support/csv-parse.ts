/**
 * A strict RFC 4180 reader for checking exports: CRLF line ends, quoted fields with doubled quotes,
 * embedded commas and newlines. Throws on anything malformed rather than guessing.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  let fieldStart = true;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        if (i < text.length && text[i] !== "," && text[i] !== "\r")
          throw new Error(`garbage after closing quote at ${i}`);
        continue;
      }
      field += c;
      i += 1;
      continue;
    }
    if (c === '"') {
      if (!fieldStart) throw new Error(`quote inside an unquoted field at ${i}`);
      quoted = true;
      fieldStart = false;
      i += 1;
      continue;
    }
    if (c === ",") {
      row.push(field);
      field = "";
      fieldStart = true;
      i += 1;
      continue;
    }
    if (c === "\r") {
      if (text[i + 1] !== "\n") throw new Error(`bare CR at ${i}`);
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      fieldStart = true;
      i += 2;
      continue;
    }
    if (c === "\n") throw new Error(`bare LF at ${i} (records must end with CRLF)`);
    field += c;
    fieldStart = false;
    i += 1;
  }
  if (quoted) throw new Error("unterminated quoted field");
  if (field !== "" || row.length > 0) throw new Error("last record does not end with CRLF");
  return rows;
}
