/**
 * A small strict XML parser for tests: enough of XML 1.0 to prove a document is well-formed (one root,
 * balanced and properly nested tags, quoted unique attributes, only defined entity references, no raw
 * `<` or `&` in text) and to read it back as a tree. Throws on the first violation.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(raw: string, where: string): string {
  if (raw.includes("<")) throw new Error(`raw '<' in ${where}`);
  return raw.replace(/&([^;]*);?/g, (m, ref: string) => {
    if (!m.endsWith(";")) throw new Error(`unterminated entity in ${where}`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    if (/^#x[0-9a-fA-F]+$/.test(ref)) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (/^#\d+$/.test(ref)) return String.fromCodePoint(Number(ref.slice(1)));
    throw new Error(`undefined entity &${ref}; in ${where}`);
  });
}

export function parseXml(doc: string): XmlElement {
  let i = 0;
  const rest = () => doc.slice(i);
  const skipSpace = () => {
    while (i < doc.length && /\s/.test(doc[i]!)) i++;
  };
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (rest().startsWith("<!--")) {
        const end = doc.indexOf("-->", i);
        if (end < 0) throw new Error("unterminated comment");
        i = end + 3;
      } else if (rest().startsWith("<?")) {
        const end = doc.indexOf("?>", i);
        if (end < 0) throw new Error("unterminated processing instruction");
        i = end + 2;
      } else return;
    }
  };
  const element = (): XmlElement => {
    if (doc[i] !== "<") throw new Error(`expected '<' at ${i}`);
    i++;
    const name = NAME.exec(rest())?.[0];
    if (!name) throw new Error(`bad element name at ${i}`);
    i += name.length;
    const attributes: Record<string, string> = {};
    for (;;) {
      const before = i;
      skipSpace();
      if (rest().startsWith("/>")) {
        i += 2;
        return { name, attributes, children: [], text: "" };
      }
      if (doc[i] === ">") {
        i++;
        break;
      }
      if (i === before) throw new Error(`expected whitespace before attribute in <${name}>`);
      const attr = NAME.exec(rest())?.[0];
      if (!attr) throw new Error(`bad attribute in <${name}> at ${i}`);
      i += attr.length;
      skipSpace();
      if (doc[i] !== "=") throw new Error(`attribute ${attr} without '='`);
      i++;
      skipSpace();
      const quote = doc[i];
      if (quote !== '"' && quote !== "'") throw new Error(`unquoted attribute ${attr}`);
      const end = doc.indexOf(quote, i + 1);
      if (end < 0) throw new Error(`unterminated attribute ${attr}`);
      if (attr in attributes) throw new Error(`duplicate attribute ${attr}`);
      attributes[attr] = decode(doc.slice(i + 1, end), `attribute ${attr}`);
      i = end + 1;
    }
    const children: XmlElement[] = [];
    let text = "";
    for (;;) {
      if (i >= doc.length) throw new Error(`unclosed <${name}>`);
      if (rest().startsWith("</")) {
        i += 2;
        const close = NAME.exec(rest())?.[0];
        if (close !== name) throw new Error(`</${close}> closes <${name}>`);
        i += close.length;
        skipSpace();
        if (doc[i] !== ">") throw new Error(`bad closing tag </${name}`);
        i++;
        return { name, attributes, children, text: text.trim() };
      }
      if (rest().startsWith("<!--")) {
        const end = doc.indexOf("-->", i);
        if (end < 0) throw new Error("unterminated comment");
        i = end + 3;
      } else if (doc[i] === "<") {
        children.push(element());
      } else {
        const next = doc.indexOf("<", i);
        const raw = doc.slice(i, next < 0 ? doc.length : next);
        text += decode(raw, `<${name}> text`);
        i += raw.length;
      }
    }
  };
  if (doc.charCodeAt(0) === 0xfeff) i = 1;
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== doc.length) throw new Error(`content after the root element at ${i}`);
  return root;
}

export function child(el: XmlElement, name: string): XmlElement {
  const found = el.children.find((c) => c.name === name);
  if (!found) throw new Error(`<${el.name}> has no <${name}>`);
  return found;
}
