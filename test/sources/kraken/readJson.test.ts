import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../../src/sources/kraken/parse.js';
import { JsonNumber, readJson } from '../../../src/sources/kraken/parse.js';

/** What `JSON.parse` would give for the same text. */
function plain(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return value.value;
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner as JsonValue)]));
  }
  return value;
}

/** Every number's text, in document order. */
function numberTexts(value: JsonValue): string[] {
  if (value instanceof JsonNumber) return [value.text];
  if (Array.isArray(value)) return value.flatMap(numberTexts);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap((inner) => numberTexts(inner as JsonValue));
  return [];
}

function accepts(parse: (text: string) => unknown, text: string): boolean {
  try {
    parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('readJson', () => {
  it('does read every JSON text to what JSON.parse gives, with numbers as written', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 8 }), (text) => {
        const value = readJson(text);
        expect(plain(value)).toStrictEqual(JSON.parse(text));
        for (const number of numberTexts(value)) expect(text, 'a number keeps its text').toContain(number);
      }),
      { numRuns: 500 },
    );
  });

  it('does reject exactly what JSON.parse rejects', () => {
    const jsonish = fc.stringMatching(/^[[\]{}",:0-9eE.+\- \\ntrufalsu]{0,24}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 24 }), jsonish), (text) => {
        expect(accepts(readJson, text), text).toBe(accepts(JSON.parse, text));
      }),
      { numRuns: 2_000 },
    );
  });

  it('does keep trailing zeros and exponents that JSON.parse loses', () => {
    const value = readJson('{"qty":0.00100000,"price":50000.0,"tiny":4.8E-7,"big":18446744073709551615}');
    expect(numberTexts(value)).toEqual(['0.00100000', '50000.0', '4.8E-7', '18446744073709551615']);
  });

  it('does read escapes, and a __proto__ key as an ordinary key', () => {
    expect(plain(readJson('"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"'))).toBe('a"b\\c/d\b\f\n\r\té😀');
    const value = readJson('{"__proto__":{"x":1},"a":1,"a":2}');
    expect(plain(value)).toStrictEqual(JSON.parse('{"__proto__":{"x":1},"a":1,"a":2}'));
    expect(Object.getPrototypeOf(value), 'objects have no prototype to pollute').toBeNull();
  });

  it('does report where a text goes wrong, and refuse nesting deeper than 64', () => {
    expect(() => readJson('{"a":1,}')).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: expected a property name at position 7]`);
    expect(() => readJson('[1 2]')).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: expected "," or "]" at position 3]`);
    expect(() => readJson('"a\u0001"')).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: control character in a string at position 2]`);
    expect(() => readJson('"\\x"')).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: bad escape "\\\\x" at position 1]`);
    expect(() => readJson('-.5')).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: expected a digit at position 1]`);
    expect(() => readJson('1.')).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: expected a digit after "." at position 2]`);
    expect(() => readJson('1e+')).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: expected a digit in the exponent at position 3]`);
    expect(() => readJson('tru')).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: unexpected character "t" at position 0]`);
    expect(() => readJson('{} x')).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: unexpected text after the JSON value at position 3]`);
    expect(() => readJson('"abc')).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: unterminated string at position 4]`);
    expect(plain(readJson(`${'['.repeat(64)}${']'.repeat(64)}`))).toBeInstanceOf(Array);
    expect(() => readJson(`${'['.repeat(65)}${']'.repeat(65)}`)).toThrowErrorMatchingInlineSnapshot(`[SyntaxError: nesting deeper than 64 at position 64]`);
  });
});
