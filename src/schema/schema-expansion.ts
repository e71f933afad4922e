import { MaestroError } from '../domain/errors.js';

/** Subschemas a plan's input schema may stand for with its `$ref`s expanded: far above any real schema. */
export const MAX_EXPANDED_SCHEMA_NODES = 100_000;

/** Keywords whose target ajv resolves at validation time or by an id: not followed here, so refused. */
const UNBOUNDED_KEYWORDS = ['$dynamicRef', '$recursiveRef', '$id'];
const LOCAL_REF = 'a $ref to a place in the same schema (#/…) that does not hold the $ref';

function refused(path: string, message: string, expected: string): MaestroError {
  return new MaestroError('PLAN_INVALID', `${path}: ${message}`, { details: { path, expected } });
}

/** The value a local `$ref` (`#` or `#/json/pointer`) points at in the schema, or undefined. */
function resolveLocal(root: unknown, ref: string): unknown {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let target: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return undefined;
    }
    if (target === null || typeof target !== 'object' || !Object.hasOwn(target, segment)) return undefined;
    target = (target as Record<string, unknown>)[segment];
  }
  return target;
}

interface Frame {
  node: object;
  at: string;
  children: Array<[unknown, string]>;
  next: number;
  size: number;
}

/** The values a schema node stands for: its members, with a `$ref` replaced by its target. */
function childrenOf(root: unknown, node: object, at: string): Array<[unknown, string]> {
  const children: Array<[unknown, string]> = [];
  for (const [key, value] of Object.entries(node)) {
    const inner = Array.isArray(node) ? `${at}[${key}]` : `${at}.${key}`;
    const keyword = !Array.isArray(node) && typeof value === 'string';
    if (keyword && UNBOUNDED_KEYWORDS.includes(key))
      throw refused(inner, `${key} is not supported in a plan's input schema`, LOCAL_REF);
    if (keyword && key === '$ref') {
      const target = resolveLocal(root, value);
      if (target === undefined)
        throw refused(inner, `$ref ${JSON.stringify(value)} does not point into this schema`, LOCAL_REF);
      children.push([target, inner]);
    } else children.push([value, inner]);
  }
  return children;
}

/**
 * Refuses a user-written JSON Schema whose validation could cost more than its expanded size: a `$ref` that leads
 * back to itself (recursion: the work can double at every level of the input), `$ref`s that multiply (each level
 * going through the one below twice: 2^levels checks from a schema of a few kilobytes), a `$ref` outside the
 * schema, or keywords ajv resolves by id. Linear, and without recursion: each subschema is expanded once.
 */
export function assertBoundedSchema(schema: unknown, path: string): void {
  if (schema === null || typeof schema !== 'object') return;
  const sizes = new Map<object, number>();
  const open = new Set<object>();
  const frame = (node: object, at: string): Frame => {
    open.add(node);
    return { node, at, children: childrenOf(schema, node, at), next: 0, size: 1 };
  };
  const grow = (into: Frame, by: number, at: string): void => {
    into.size += by;
    if (into.size > MAX_EXPANDED_SCHEMA_NODES)
      throw refused(
        at,
        `the schema stands for more than ${MAX_EXPANDED_SCHEMA_NODES} subschemas once its $refs are expanded`,
        `at most ${MAX_EXPANDED_SCHEMA_NODES} subschemas with $refs expanded`,
      );
  };
  const stack: Frame[] = [frame(schema, path)];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next === top.children.length) {
      stack.pop();
      open.delete(top.node);
      sizes.set(top.node, top.size);
      if (stack.length > 0) grow(stack[stack.length - 1]!, top.size, top.at);
      continue;
    }
    const [child, at] = top.children[top.next++]!;
    if (child === null || typeof child !== 'object') grow(top, 1, at);
    else if (sizes.has(child)) grow(top, sizes.get(child)!, at);
    else if (open.has(child))
      throw refused(at, 'a $ref leads back to a schema that holds it (recursive schemas are not supported)', LOCAL_REF);
    else stack.push(frame(child, at));
  }
}
