import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { LinearRegex } from '../../../shared/text/linear-regex.js';

/** A regular expression written in the app's source, and how it runs. */
export interface SourcePattern {
  /** `file:line`. */
  where: string;
  regex: RegExp;
  /** `re2js`: the literal is given straight to `new LinearRegex(...)`; `native`: V8 runs it. */
  engine: 're2js' | 'native';
  /** For a native pattern, the `linear:` comment that says why it cannot backtrack (empty when missing). */
  review: string;
}

export interface SourceScan {
  patterns: SourcePattern[];
  /** `RegExp(...)` built at run time: a pattern nobody reviewed. */
  dynamic: string[];
}

/** The app's code: every regular expression in it runs on whatever reaches it. */
export const APP_ROOTS = ['shared', 'functions'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? tsFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/**
 * Every regular expression in the app's source, found by the TypeScript parser (so none hides in a string, a
 * template or an odd spacing): literals, and any `RegExp(...)` construction.
 */
export function scanSource(roots: readonly string[] = APP_ROOTS): SourceScan {
  const patterns: SourcePattern[] = [];
  const dynamic: string[] = [];
  for (const file of roots.flatMap(tsFiles)) {
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
        const literal = node.getText(source);
        const slash = literal.lastIndexOf('/');
        const regex = new RegExp(literal.slice(1, slash), literal.slice(slash + 1));
        const parent = node.parent;
        const viaRe2 =
          ts.isNewExpression(parent) && ts.isIdentifier(parent.expression) && parent.expression.text === 'LinearRegex' && parent.arguments?.[0] === node;
        // The review is a `// linear:` comment on the pattern's line or one of the three lines above it.
        const review = lines
          .slice(Math.max(0, line - 3), line + 1)
          .map((candidate) => /\/\/ linear: (.*)$/.exec(candidate)?.[1] ?? '')
          .filter(Boolean)
          .join(' ');
        patterns.push({ where: `${file}:${line + 1}`, regex, engine: viaRe2 ? 're2js' : 'native', review });
      }
      if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
        dynamic.push(`${file}:${line + 1}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { patterns, dynamic };
}

/** Characters tried against each character class of a pattern, to pick members of it. */
const ALPHABET = [
  ...'aAzZmMxX09_5-./:=&?@+%~#"\' ;,!()[]{}<>|\\*$^`',
  '\n',
  '\r',
  '\t',
  '\u00a0',
  '\u2028',
  '\u200b',
  '\u202e',
  '\u{E0041}',
  'é',
];

/** Up to three members of a character class (or class escape), chosen from ALPHABET. */
function membersOf(classSource: string, flags: string): string[] {
  const probe = new RegExp(`^(?:${classSource})$`, flags.replace(/[gy]/g, ''));
  const members = ALPHABET.filter((char) => probe.test(char));
  if (members.length <= 3) return members;
  return [members[0]!, members[Math.floor(members.length / 2)]!, members[members.length - 1]!];
}

/**
 * The pieces a pattern is made of: its literal runs (`sig=`, `-----BEGIN `), members of each character class and
 * escape, and runs of up to three consecutive pieces. Repeated, they are the inputs that make a backtracking
 * engine retry the same text over and over (`a@` + `a.a.a.…`, `sv=x&sv=x&…`, `\n\n\n…`).
 */
export function fragmentsOf(regex: RegExp): string[] {
  const { source, flags } = regex;
  const atoms: string[][] = [];
  let literal = '';
  const flush = () => {
    if (literal) atoms.push([literal]);
    literal = '';
  };
  for (let i = 0; i < source.length; i += 1) {
    const char = source[i]!;
    if (char === '\\') {
      const next = source[i + 1] ?? '';
      i += 1;
      if ('bB'.includes(next)) flush();
      else if ('dDwWsS'.includes(next)) {
        flush();
        atoms.push(membersOf(`\\${next}`, flags));
      } else if (next === 'u' && source[i + 1] === '{') {
        const end = source.indexOf('}', i);
        literal += String.fromCodePoint(parseInt(source.slice(i + 2, end), 16));
        i = end;
      } else if (next === 'u') {
        literal += String.fromCharCode(parseInt(source.slice(i + 1, i + 5), 16));
        i += 4;
      } else literal += { n: '\n', r: '\r', t: '\t', f: '\f', v: '\v' }[next] ?? next;
      continue;
    }
    if (char === '[') {
      flush();
      let end = i + 1;
      while (end < source.length && source[end] !== ']') end += source[end] === '\\' ? 2 : 1;
      atoms.push(membersOf(source.slice(i, end + 1), flags));
      i = end;
      continue;
    }
    if (char === '{') {
      flush();
      i = source.indexOf('}', i);
      continue;
    }
    if (char === '(' && source[i + 1] === '?') {
      flush();
      i += source[i + 2] === '<' ? 3 : 2; // (?: (?= (?! (?<= (?<!
      continue;
    }
    if ('()|?*+^$'.includes(char)) {
      flush();
      continue;
    }
    if (char === '.') {
      flush();
      atoms.push(['a', ' ']);
      continue;
    }
    literal += char;
  }
  flush();
  const fragments = new Set<string>();
  for (let start = 0; start < atoms.length; start += 1) {
    let runs = [''];
    for (let length = 0; length < 3 && start + length < atoms.length; length += 1) {
      runs = runs.flatMap((run) => atoms[start + length]!.map((piece) => run + piece)).slice(0, 12);
      for (const run of runs) if (run !== '') fragments.add(run);
    }
  }
  return fragments.size > 0 ? [...fragments] : ['a'];
}

/** A repeated unit and what ends the text (often the one character that makes the pattern fail at last). */
export interface Pathological {
  unit: string;
  end: string;
}

/** Generates pathological texts for one pattern from its own fragments. */
export function pathologicalFor(regex: RegExp): fc.Arbitrary<Pathological> {
  const fragments = fragmentsOf(regex);
  return fc.record({
    unit: fc.array(fc.constantFrom(...fragments), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')),
    end: fc.constantFrom('', '!', '\n', ' ', '"', '\u0000', '~', 'A'),
  });
}

/** The unit repeated to `length` characters, then the end. */
export function textOf({ unit, end }: Pathological, length: number): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length) + end;
}

/** Runs a pattern over a text the way the app does: every match for a global pattern, the first otherwise. */
export function runPattern(pattern: SourcePattern, text: string): void {
  if (pattern.engine === 're2js') {
    const linear = new LinearRegex(pattern.regex);
    if (pattern.regex.global) linear.replaceAll(text, '');
    else linear.test(text);
    return;
  }
  const fresh = new RegExp(pattern.regex.source, pattern.regex.flags);
  if (fresh.global) text.replace(fresh, '');
  else fresh.test(text);
}
