/**
 * A strict, minimal XML reader for the gateway policies: it refuses anything that is not well-formed (unbalanced or
 * misnested tags, unquoted or duplicate attributes, a raw '<' or '&' where XML forbids it, text outside the root)
 * and returns the element tree, so the checks can look for the elements a rendered policy must contain.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text, entities decoded, concatenated. */
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITY = /^&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;
const DECODE: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(raw: string, where: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '&') {
      out += c;
      continue;
    }
    const entity = ENTITY.exec(raw.slice(i));
    if (!entity) throw new Error(`a bare '&' in ${where}`);
    const name = entity[1]!;
    out += name.startsWith('#x') ? String.fromCodePoint(parseInt(name.slice(2), 16)) : name.startsWith('#') ? String.fromCodePoint(Number(name.slice(1))) : DECODE[name];
    i += entity[0].length - 1;
  }
  return out;
}

export function parseXml(xml: string): XmlElement {
  let at = 0;
  const fail = (message: string): never => {
    const line = xml.slice(0, at).split('\n').length;
    throw new Error(`XML not well-formed: ${message} (line ${line})`);
  };
  const skipMisc = () => {
    for (;;) {
      while (at < xml.length && /\s/.test(xml[at]!)) at++;
      if (xml.startsWith('<!--', at)) {
        const end = xml.indexOf('-->', at + 4);
        if (end < 0) fail('unterminated comment');
        if (xml.slice(at + 4, end).includes('--')) fail("'--' inside a comment");
        at = end + 3;
      } else if (xml.startsWith('<?', at)) {
        const end = xml.indexOf('?>', at);
        if (end < 0) fail('unterminated processing instruction');
        at = end + 2;
      } else return;
    }
  };
  const element = (): XmlElement => {
    if (xml[at] !== '<') fail('expected an element');
    at++;
    const name = NAME.exec(xml.slice(at))?.[0] ?? fail('expected an element name');
    at += name.length;
    const attributes: Record<string, string> = {};
    for (;;) {
      const before = at;
      while (at < xml.length && /\s/.test(xml[at]!)) at++;
      if (xml.startsWith('/>', at)) {
        at += 2;
        return { name, attributes, children: [], text: '' };
      }
      if (xml[at] === '>') {
        at++;
        break;
      }
      if (before === at) fail(`expected whitespace before an attribute of <${name}>`);
      const attribute = NAME.exec(xml.slice(at))?.[0] ?? fail(`expected an attribute name in <${name}>`);
      at += attribute.length;
      while (/\s/.test(xml[at] ?? '')) at++;
      if (xml[at] !== '=') fail(`attribute ${attribute} of <${name}> has no value`);
      at++;
      while (/\s/.test(xml[at] ?? '')) at++;
      const quote = xml[at];
      if (quote !== '"' && quote !== "'") fail(`attribute ${attribute} of <${name}> is not quoted`);
      const end = xml.indexOf(quote!, at + 1);
      if (end < 0) fail(`attribute ${attribute} of <${name}> is not closed`);
      const raw = xml.slice(at + 1, end);
      if (raw.includes('<')) fail(`a raw '<' in attribute ${attribute} of <${name}>`);
      if (attribute in attributes) fail(`duplicate attribute ${attribute} in <${name}>`);
      attributes[attribute] = decode(raw, `attribute ${attribute} of <${name}>`);
      at = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (at >= xml.length) fail(`<${name}> is not closed`);
      if (xml.startsWith('</', at)) {
        at += 2;
        const closing = NAME.exec(xml.slice(at))?.[0] ?? fail('expected a closing tag name');
        if (closing !== name) fail(`</${closing}> closes <${name}>`);
        at += closing.length;
        while (/\s/.test(xml[at] ?? '')) at++;
        if (xml[at] !== '>') fail(`</${name}> is not closed`);
        at++;
        return { name, attributes, children, text };
      }
      if (xml.startsWith('<!--', at)) {
        const end = xml.indexOf('-->', at + 4);
        if (end < 0) fail('unterminated comment');
        at = end + 3;
        continue;
      }
      if (xml.startsWith('<![CDATA[', at)) {
        const end = xml.indexOf(']]>', at);
        if (end < 0) fail('unterminated CDATA');
        text += xml.slice(at + 9, end);
        at = end + 3;
        continue;
      }
      if (xml[at] === '<') {
        children.push(element());
        continue;
      }
      const next = xml.indexOf('<', at);
      const raw = xml.slice(at, next < 0 ? xml.length : next);
      text += decode(raw, `the text of <${name}>`);
      at += raw.length;
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (at !== xml.length) fail('content after the root element');
  return root;
}

/** Every element below (and including) the given one, depth first. */
export function descendants(element: XmlElement): XmlElement[] {
  return [element, ...element.children.flatMap(descendants)];
}
