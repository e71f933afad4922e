/**
 * `${{ … }}` expressions: a small safe interpreter, never `eval`. It reads `inputs`, `steps.<id>.outputs`,
 * `steps.<id>.status`, `run`, `secrets.<NAME>` (in `with` only) and, inside `foreach`, `item` and `index`. Only own properties of plain data
 * are reachable: `__proto__`, `constructor` and `prototype` are refused.
 *
 * Grammar: or := and ('||' and)* ; and := cmp ('&&' cmp)* ; cmp := unary (('=='|'!='|'<'|'<='|'>'|'>=') unary)? ;
 * unary := '!' unary | primary ; primary := literal | '(' or ')' | name '(' args ')' | path ;
 * path := name ('.' name | '[' or ']')*
 */
import { MaestroError } from '../domain/errors.js';
import { defineOwn } from '../domain/own-property.js';
import { boundedLength, expressionFunctions, textOf } from './expression-functions.js';

export type ExpressionNode =
  | { kind: 'literal'; value: unknown }
  | { kind: 'path'; root: string; segments: Array<string | ExpressionNode> }
  | { kind: 'not'; operand: ExpressionNode }
  | { kind: 'binary'; operator: string; left: ExpressionNode; right: ExpressionNode }
  | { kind: 'call'; name: string; args: ExpressionNode[] };

export const EXPRESSION_ROOTS = ['inputs', 'steps', 'run', 'item', 'index', 'secrets'] as const;
const forbiddenKeys = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_EXPRESSION_LENGTH = 4000;
const MAX_DEPTH = 64;

type Token = { type: 'num' | 'str' | 'name' | 'op' | 'punct'; value: string; at: number };

function expressionError(source: string, message: string): MaestroError {
  return new MaestroError(
    'EXPRESSION_INVALID',
    `expression "${source.length > 80 ? `${source.slice(0, 80)}…` : source}": ${message}`,
    {
      details: { expected: 'a valid ${{ }} expression', got: source.slice(0, 200) },
    },
  );
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;
    if (/\s/.test(ch)) {
      i += 1;
    } else if (
      /[0-9]/.test(ch) ||
      (ch === '-' &&
        /[0-9]/.test(source[i + 1] ?? '') &&
        (tokens.length === 0 ||
          tokens[tokens.length - 1]?.type === 'op' ||
          tokens[tokens.length - 1]?.value === '(' ||
          tokens[tokens.length - 1]?.value === ','))
    ) {
      const match = /^-?\d+(\.\d+)?/.exec(source.slice(i));
      tokens.push({ type: 'num', value: match![0], at: i });
      i += match![0].length;
    } else if (ch === "'" || ch === '"') {
      let j = i + 1;
      let value = '';
      while (j < source.length && source[j] !== ch) {
        if (source[j] === '\\' && j + 1 < source.length) j += 1;
        value += source[j];
        j += 1;
      }
      if (j >= source.length) throw expressionError(source, `unterminated string at ${i}`);
      tokens.push({ type: 'str', value, at: i });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(ch)) {
      const match = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(i));
      tokens.push({ type: 'name', value: match![0], at: i });
      i += match![0].length;
    } else {
      const two = source.slice(i, i + 2);
      if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
        tokens.push({ type: 'op', value: two, at: i });
        i += 2;
      } else if (['<', '>', '!'].includes(ch)) {
        tokens.push({ type: 'op', value: ch, at: i });
        i += 1;
      } else if (['.', '[', ']', '(', ')', ','].includes(ch)) {
        tokens.push({ type: 'punct', value: ch, at: i });
        i += 1;
      } else {
        throw expressionError(source, `unexpected character "${ch}" at ${i}`);
      }
    }
  }
  return tokens;
}

/** Parses the inside of one `${{ }}`; throws EXPRESSION_INVALID with the reason. */
export function parseExpression(source: string): ExpressionNode {
  if (source.length > MAX_EXPRESSION_LENGTH)
    throw expressionError(source, `longer than ${MAX_EXPRESSION_LENGTH} characters`);
  const tokens = tokenize(source);
  let pos = 0;
  let depth = 0;
  const peek = (): Token | undefined => tokens[pos];
  const take = (value?: string): Token => {
    const token = tokens[pos];
    if (!token || (value !== undefined && token.value !== value)) {
      throw expressionError(
        source,
        token
          ? `expected "${value}" at ${token.at}, found "${token.value}"`
          : `expected ${value ? `"${value}"` : 'more'} at the end`,
      );
    }
    pos += 1;
    return token;
  };

  const parseOr = (): ExpressionNode => {
    depth += 1;
    if (depth > MAX_DEPTH) throw expressionError(source, 'nested too deeply');
    let left = parseAnd();
    while (peek()?.value === '||') {
      take();
      left = { kind: 'binary', operator: '||', left, right: parseAnd() };
    }
    depth -= 1;
    return left;
  };
  const parseAnd = (): ExpressionNode => {
    let left = parseComparison();
    while (peek()?.value === '&&') {
      take();
      left = { kind: 'binary', operator: '&&', left, right: parseComparison() };
    }
    return left;
  };
  const parseComparison = (): ExpressionNode => {
    const left = parseUnary();
    const op = peek();
    if (op?.type === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(op.value)) {
      take();
      return { kind: 'binary', operator: op.value, left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): ExpressionNode => {
    if (peek()?.value === '!') {
      take();
      return { kind: 'not', operand: parseUnary() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): ExpressionNode => {
    const token = peek();
    if (!token) throw expressionError(source, 'unexpected end');
    if (token.type === 'num') {
      take();
      return { kind: 'literal', value: Number(token.value) };
    }
    if (token.type === 'str') {
      take();
      return { kind: 'literal', value: token.value };
    }
    if (token.value === '(') {
      take('(');
      const inner = parseOr();
      take(')');
      return inner;
    }
    if (token.type === 'name') {
      take();
      if (token.value === 'true' || token.value === 'false') return { kind: 'literal', value: token.value === 'true' };
      if (token.value === 'null') return { kind: 'literal', value: null };
      if (peek()?.value === '(') {
        if (!Object.hasOwn(expressionFunctions, token.value))
          throw expressionError(source, `unknown function ${token.value}()`);
        take('(');
        const args: ExpressionNode[] = [];
        if (peek()?.value !== ')') {
          args.push(parseOr());
          while (peek()?.value === ',') {
            take(',');
            args.push(parseOr());
          }
        }
        take(')');
        return { kind: 'call', name: token.value, args };
      }
      if (!(EXPRESSION_ROOTS as readonly string[]).includes(token.value)) {
        throw expressionError(source, `unknown name "${token.value}" (expected one of ${EXPRESSION_ROOTS.join(', ')})`);
      }
      const segments: Array<string | ExpressionNode> = [];
      for (;;) {
        if (peek()?.value === '.') {
          take('.');
          const name = take();
          if (name.type !== 'name' && name.type !== 'num')
            throw expressionError(source, `expected a property name at ${name.at}`);
          segments.push(name.value);
        } else if (peek()?.value === '[') {
          take('[');
          segments.push(parseOr());
          take(']');
        } else {
          break;
        }
      }
      for (const segment of segments) {
        if (typeof segment === 'string' && forbiddenKeys.has(segment))
          throw expressionError(source, `"${segment}" is not accessible`);
      }
      return { kind: 'path', root: token.value, segments };
    }
    throw expressionError(source, `unexpected "${token.value}" at ${token.at}`);
  };

  const node = parseOr();
  if (pos < tokens.length) throw expressionError(source, `unexpected "${tokens[pos]!.value}" at ${tokens[pos]!.at}`);
  return node;
}

export type ExpressionContext = Readonly<Record<string, unknown>>;

function readOwn(container: unknown, key: unknown): unknown {
  if (container === null || typeof container !== 'object') return undefined;
  const name = typeof key === 'number' ? String(key) : key;
  if (typeof name !== 'string' || forbiddenKeys.has(name)) return undefined;
  return Object.prototype.hasOwnProperty.call(container, name)
    ? (container as Record<string, unknown>)[name]
    : undefined;
}

function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return true;
  return Boolean(value);
}

export function evaluateNode(node: ExpressionNode, context: ExpressionContext): unknown {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'path': {
      let value = readOwn(context, node.root);
      for (const segment of node.segments) {
        value = readOwn(value, typeof segment === 'string' ? segment : evaluateNode(segment, context));
      }
      return value;
    }
    case 'not':
      return !isTruthy(evaluateNode(node.operand, context));
    case 'call':
      return expressionFunctions[node.name]!(...node.args.map((arg) => evaluateNode(arg, context)));
    case 'binary': {
      if (node.operator === '&&') {
        const left = evaluateNode(node.left, context);
        return isTruthy(left) ? evaluateNode(node.right, context) : left;
      }
      if (node.operator === '||') {
        const left = evaluateNode(node.left, context);
        return isTruthy(left) ? left : evaluateNode(node.right, context);
      }
      const left = evaluateNode(node.left, context);
      const right = evaluateNode(node.right, context);
      switch (node.operator) {
        case '==':
          return JSON.stringify(left ?? null) === JSON.stringify(right ?? null);
        case '!=':
          return JSON.stringify(left ?? null) !== JSON.stringify(right ?? null);
        case '<':
          return (left as number) < (right as number);
        case '<=':
          return (left as number) <= (right as number);
        case '>':
          return (left as number) > (right as number);
        default:
          return (left as number) >= (right as number);
      }
    }
  }
}

const TEMPLATE = /\$\{\{([\s\S]*?)\}\}/g;
const WHOLE = /^\$\{\{([\s\S]*?)\}\}$/;

/** True when the string holds at least one `${{ }}`. */
export function hasExpression(value: string): boolean {
  return value.includes('${{');
}

/** Every expression inside a string, parsed (to check a plan before anything runs). */
export function parseTemplate(value: string): ExpressionNode[] {
  const nodes: ExpressionNode[] = [];
  for (const match of value.matchAll(TEMPLATE)) nodes.push(parseExpression((match[1] ?? '').trim()));
  const leftover = value.replace(TEMPLATE, '');
  if (leftover.includes('${{')) throw expressionError(value, 'unterminated ${{');
  return nodes;
}

/** A string with expressions: one whole expression keeps its JSON type; otherwise results are spliced in as text. */
export function evaluateTemplate(value: string, context: ExpressionContext): unknown {
  const whole = WHOLE.exec(value);
  if (whole && !(whole[1] ?? '').includes('}}')) return evaluateNode(parseExpression((whole[1] ?? '').trim()), context);
  let length = value.length;
  return value.replace(TEMPLATE, (_, inner: string) => {
    const result = evaluateNode(parseExpression(inner.trim()), context);
    if (result === undefined || result === null) return '';
    const text = textOf(result);
    boundedLength((length += text.length));
    return text;
  });
}

/** Evaluates every expression in a JSON value (deeply), keeping everything else as it is. */
export function evaluateValue(value: unknown, context: ExpressionContext): unknown {
  if (typeof value === 'string') return hasExpression(value) ? evaluateTemplate(value, context) : value;
  if (Array.isArray(value)) return value.map((item) => evaluateValue(item, context));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) defineOwn(out, key, evaluateValue(inner, context));
    return out;
  }
  return value;
}

/** Visits every string of a JSON value with its JSON path (to check expressions at plan compile time). */
export function forEachString(value: unknown, path: string, visit: (text: string, path: string) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((item, i) => forEachString(item, `${path}[${i}]`, visit));
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value))
      forEachString(
        inner,
        /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`,
        visit,
      );
  }
}

/** Every path an expression reads (`inputs.x`, `steps.a.outputs`, …), nested ones included. */
export function pathsOf(node: ExpressionNode): Array<Extract<ExpressionNode, { kind: 'path' }>> {
  switch (node.kind) {
    case 'path':
      return [node, ...node.segments.flatMap((s) => (typeof s === 'string' ? [] : pathsOf(s)))];
    case 'not':
      return pathsOf(node.operand);
    case 'binary':
      return [...pathsOf(node.left), ...pathsOf(node.right)];
    case 'call':
      return node.args.flatMap(pathsOf);
    case 'literal':
      return [];
  }
}

/** The step ids an expression reads through `steps.<id>`. */
export function referencedStepIds(node: ExpressionNode): string[] {
  return pathsOf(node).flatMap((path) =>
    path.root === 'steps' && typeof path.segments[0] === 'string' ? [path.segments[0]] : [],
  );
}
