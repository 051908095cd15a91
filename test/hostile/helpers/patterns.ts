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
  /**
   * `re2js`: the literal is given straight to `new LinearRegex(...)`; `native`: V8 runs it; `bounded`: V8 runs it,
   * given as a string to the shield's `boundedRegex` guard (which refuses unbounded repetition when the module loads).
   */
  engine: 're2js' | 'native' | 'bounded';
  /** For a native pattern, the `linear:` comment that says why it cannot backtrack (empty when missing). */
  review: string;
}

/** A pattern written in RE2's own syntax, as a string given to `linearRegex(source, flags)` (re2js runs it). */
export interface Re2SourcePattern {
  where: string;
  source: string;
  flags: string;
}

export interface SourceScan {
  patterns: SourcePattern[];
  /** `linearRegex('…')` patterns, their strings worked out from the source (constants, templates, `+`). */
  re2Strings: Re2SourcePattern[];
  /** `RegExp(...)` built at run time from a string nobody can read in the source: a pattern nobody reviewed. */
  dynamic: string[];
  /** `new RegExp(source)` inside a function whose first statement is `assertBoundedRepetition(source)`. */
  guardedConstructions: string[];
}

/** The app's code: every regular expression in it runs on whatever reaches it. */
export const APP_ROOTS = ['shared', 'functions'];

/** The calls that take a pattern as a string: re2js (`linearRegex`) and the shield's guard (`boundedRegex`). */
const STRING_PATTERN_CALLS = { linearRegex: 're2', boundedRegex: 'bounded' } as const;
type StringEngine = (typeof STRING_PATTERN_CALLS)[keyof typeof STRING_PATTERN_CALLS];

/** A function that hands one of its parameters on as a pattern string (`const rule = (name, source, …) => linearRegex(source, flags)`). */
interface PatternHelper {
  engine: StringEngine;
  sourceIndex: number;
  /** A parameter's index (its default when the caller leaves it out), or a fixed string. */
  flags: { index: number; fallback: string } | { fixed: string };
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? tsFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** The string an expression always has, when the source says so: literals, templates and `+` of constants. */
function constantString(node: ts.Expression, constants: Map<string, ts.Expression>, depth = 0): string | undefined {
  if (depth > 20) return undefined;
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isParenthesizedExpression(node)) return constantString(node.expression, constants, depth + 1);
  if (ts.isIdentifier(node)) {
    const value = constants.get(node.text);
    return value ? constantString(value, constants, depth + 1) : undefined;
  }
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const left = constantString(node.left, constants, depth + 1);
    const right = constantString(node.right, constants, depth + 1);
    return left === undefined || right === undefined ? undefined : left + right;
  }
  if (ts.isTemplateExpression(node)) {
    let text = node.head.text;
    for (const span of node.templateSpans) {
      const value = constantString(span.expression, constants, depth + 1);
      if (value === undefined) return undefined;
      text += value + span.literal.text;
    }
    return text;
  }
  return undefined;
}

type FunctionLike = ts.ArrowFunction | ts.FunctionExpression | ts.FunctionDeclaration;

function functionName(fn: FunctionLike): string | undefined {
  if (ts.isFunctionDeclaration(fn)) return fn.name?.text;
  return ts.isVariableDeclaration(fn.parent) && ts.isIdentifier(fn.parent.name) ? fn.parent.name.text : undefined;
}

function enclosingFunction(node: ts.Node): FunctionLike | undefined {
  for (let up = node.parent; up; up = up.parent) {
    if (ts.isArrowFunction(up) || ts.isFunctionExpression(up) || ts.isFunctionDeclaration(up)) return up;
  }
  return undefined;
}

function parameterIndex(fn: FunctionLike | undefined, node: ts.Expression | undefined): number {
  if (!fn || !node || !ts.isIdentifier(node)) return -1;
  return fn.parameters.findIndex((parameter) => ts.isIdentifier(parameter.name) && parameter.name.text === node.text);
}

/** `linearRegex(x, …)` / `boundedRegex(x, …)` where x is a parameter of the function around the call. */
function forwardedPattern(call: ts.CallExpression): { fn: FunctionLike; engine: StringEngine; sourceIndex: number } | undefined {
  if (!ts.isIdentifier(call.expression) || !Object.hasOwn(STRING_PATTERN_CALLS, call.expression.text)) return undefined;
  const fn = enclosingFunction(call);
  const sourceIndex = parameterIndex(fn, call.arguments[0]);
  if (!fn || sourceIndex < 0) return undefined;
  return { fn, engine: STRING_PATTERN_CALLS[call.expression.text as keyof typeof STRING_PATTERN_CALLS], sourceIndex };
}

/** Whether `new RegExp(x, …)` sits in a function that first passes x to `assertBoundedRepetition`. */
function guardedConstruction(node: ts.NewExpression | ts.CallExpression): boolean {
  const fn = enclosingFunction(node);
  const index = parameterIndex(fn, node.arguments?.[0]);
  const first = fn?.body && ts.isBlock(fn.body) ? fn.body.statements[0] : undefined;
  if (!fn || index < 0 || !first || !ts.isExpressionStatement(first) || !ts.isCallExpression(first.expression)) return false;
  const guard = first.expression;
  return ts.isIdentifier(guard.expression) && guard.expression.text === 'assertBoundedRepetition' && parameterIndex(fn, guard.arguments[0]) === index;
}

/**
 * Every regular expression in the app's source, found by the TypeScript parser (so none hides in a string, a
 * template or an odd spacing): literals, patterns given as strings to re2js or the shield's guard (directly or
 * through a helper such as `rule(name, source, …)`), and any `RegExp(...)` construction.
 */
export function scanSource(roots: readonly string[] = APP_ROOTS): SourceScan {
  const patterns: SourcePattern[] = [];
  const re2Strings: Re2SourcePattern[] = [];
  const dynamic: string[] = [];
  const guardedConstructions: string[] = [];
  for (const file of roots.flatMap(tsFiles)) {
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const constants = new Map<string, ts.Expression>();
    const helpers = new Map<string, PatternHelper>();
    const collect = (node: ts.Node): void => {
      if (
        ts.isVariableDeclaration(node) &&
        ts.isIdentifier(node.name) &&
        node.initializer &&
        ts.isVariableDeclarationList(node.parent) &&
        node.parent.flags & ts.NodeFlags.Const
      ) {
        constants.set(node.name.text, node.initializer);
      }
      if (ts.isCallExpression(node)) {
        const forwarded = forwardedPattern(node);
        const name = forwarded && functionName(forwarded.fn);
        if (forwarded && name) {
          const flagsArgument = node.arguments[1];
          const flagsIndex = parameterIndex(forwarded.fn, flagsArgument);
          const fallback = forwarded.fn.parameters[flagsIndex]?.initializer;
          const flags =
            flagsIndex >= 0
              ? { index: flagsIndex, fallback: fallback && ts.isStringLiteral(fallback) ? fallback.text : '' }
              : { fixed: flagsArgument && ts.isStringLiteral(flagsArgument) ? flagsArgument.text : '' };
          helpers.set(name, { engine: forwarded.engine, sourceIndex: forwarded.sourceIndex, flags });
        }
      }
      // A function of its own that checks its string with the guard before building the RegExp (views.ts).
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp' && guardedConstruction(node)) {
        const fn = enclosingFunction(node)!;
        const name = functionName(fn);
        const flagsIndex = parameterIndex(fn, node.arguments?.[1]);
        if (name)
          helpers.set(name, {
            engine: 'bounded',
            sourceIndex: parameterIndex(fn, node.arguments?.[0]),
            flags: flagsIndex >= 0 ? { index: flagsIndex, fallback: '' } : { fixed: '' },
          });
      }
      ts.forEachChild(node, collect);
    };
    collect(source);
    const visit = (node: ts.Node): void => {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const where = `${file}:${line + 1}`;
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
        patterns.push({ where, regex, engine: viaRe2 ? 're2js' : 'native', review });
      }
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && !forwardedPattern(node)) {
        const name = node.expression.text;
        const direct = Object.hasOwn(STRING_PATTERN_CALLS, name)
          ? { engine: STRING_PATTERN_CALLS[name as keyof typeof STRING_PATTERN_CALLS], sourceIndex: 0, flags: { index: 1, fallback: '' } }
          : helpers.get(name);
        if (direct) {
          const given = node.arguments[direct.sourceIndex];
          const patternSource = given && constantString(given, constants);
          const flagsGiven = 'fixed' in direct.flags ? undefined : node.arguments[direct.flags.index];
          const flags = 'fixed' in direct.flags ? direct.flags.fixed : flagsGiven ? constantString(flagsGiven, constants) : direct.flags.fallback;
          if (patternSource === undefined || flags === undefined) dynamic.push(where);
          else if (direct.engine === 're2') re2Strings.push({ where, source: patternSource, flags });
          else patterns.push({ where, regex: new RegExp(patternSource, flags), engine: 'bounded', review: '' });
        }
      }
      if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
        if (guardedConstruction(node)) guardedConstructions.push(where);
        else dynamic.push(where);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { patterns, re2Strings, dynamic, guardedConstructions };
}

/** Characters tried against each character class of a pattern, to pick members of it. */
const ALPHABET = [...'aAzZmMxX09_5-./:=&?@+%~#"\' ;,!()[]{}<>|\\*$^`', '\n', '\r', '\t', '\u00a0', '\u2028', '\u200b', '\u202e', '\u{E0041}', 'é'];

/** Up to three members of a character class (or class escape), chosen from ALPHABET. */
function membersOf(classSource: string, flags: string): string[] {
  let probe: RegExp;
  try {
    probe = new RegExp(`^(?:${classSource})$`, flags.replace(/[gy]/g, ''));
  } catch {
    return []; // RE2-only syntax (`\\x{…}`): its literal neighbours still make fragments
  }
  const members = ALPHABET.filter((char) => probe.test(char));
  if (members.length <= 3) return members;
  return [members[0]!, members[Math.floor(members.length / 2)]!, members[members.length - 1]!];
}

/**
 * The pieces a pattern is made of: its literal runs (`sig=`, `-----BEGIN `), members of each character class and
 * escape, and runs of up to three consecutive pieces. Repeated, they are the inputs that make a backtracking
 * engine retry the same text over and over (`a@` + `a.a.a.…`, `sv=x&sv=x&…`, `\n\n\n…`).
 */
export function fragmentsOf(regex: { source: string; flags: string }): string[] {
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
      // (?: (?= (?! (?<= (?<! and RE2's inline flags (?i:
      const inlineFlags = /^\(\?[a-z]+:/.exec(source.slice(i, i + 8))?.[0];
      i += inlineFlags ? inlineFlags.length - 1 : source[i + 2] === '<' ? 3 : 2;
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
export function pathologicalFor(regex: { source: string; flags: string }): fc.Arbitrary<Pathological> {
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
  if (pattern.engine === 'bounded') {
    // As the shield runs them: every match's start (the heaviest of its two uses).
    const all = new RegExp(pattern.regex.source, pattern.regex.global ? pattern.regex.flags : `${pattern.regex.flags}g`);
    [...text.matchAll(all)].forEach(() => undefined);
    return;
  }
  const fresh = new RegExp(pattern.regex.source, pattern.regex.flags);
  if (fresh.global) text.replace(fresh, '');
  else fresh.test(text);
}
