import { describe, expect, it } from 'vitest';
import { evaluateTemplate, parseExpression } from '../../src/plan/expressions.js';

describe('expression functions', () => {
  it('calls only the documented functions, never a name inherited from Object.prototype', () => {
    for (const name of ['toString', 'constructor', 'valueOf', 'hasOwnProperty', '__lookupGetter__']) {
      expect(() => parseExpression(`${name}()`)).toThrow(/unknown function/);
    }
    expect(evaluateTemplate("${{ format('{0}-{1}', inputs.a, inputs.b) }}", { inputs: { a: 'x', b: { y: 1 } } })).toBe(
      'x-{"y":1}',
    );
  });
});
