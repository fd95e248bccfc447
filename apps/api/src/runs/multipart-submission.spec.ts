import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../common/wes-errors';
import { MAX_BOUNDARY_BYTES, multipartBoundary } from './multipart-submission';

describe('multipartBoundary', () => {
  it.each([
    ['multipart/form-data; boundary=----x1', '----x1'],
    ['multipart/form-data;boundary=abc', 'abc'],
    ['Multipart/Form-Data; charset=utf-8; BOUNDARY = abc ', 'abc'],
    ['multipart/form-data; boundary="a b;c"', 'a b;c'],
    ['multipart/form-data; boundary="a\\"b"', 'a"b'],
    ["multipart/form-data; boundary*=utf-8''a%20b", 'a b'],
    [`multipart/form-data; boundary=${'b'.repeat(MAX_BOUNDARY_BYTES)}`, 'b'.repeat(MAX_BOUNDARY_BYTES)],
  ])('reads the boundary of %j', (type, boundary) => {
    expect(multipartBoundary(type)).toBe(boundary);
  });

  it.each([
    ['multipart/form-data'],
    ['multipart/form-data;'],
    ['multipart/form-data; boundary='],
    ['multipart/form-data; boundary=""'],
    ['multipart/form-data; charset=utf-8'],
    ['multipart/form-data; xboundary=abc'],
  ])('refuses %j: no boundary', (type) => {
    expect(() => multipartBoundary(type)).toThrow(BadRequestError);
    expect(() => multipartBoundary(type)).toThrow(/^Content-Type: multipart\/form-data without a boundary/);
  });

  it.each([
    ['253 characters', 'b'.repeat(253), 253],
    ['127 two-byte characters', 'é'.repeat(127), 254],
    ['5,000 characters', 'b'.repeat(5000), 5000],
  ])('refuses a boundary of %s (over the parser\'s 252 bytes), naming its length and the limit', (_what, boundary, bytes) => {
    const type = `multipart/form-data; boundary=${boundary}`;
    expect(() => multipartBoundary(type)).toThrow(BadRequestError);
    expect(() => multipartBoundary(type)).toThrow(`Content-Type: a multipart boundary of ${bytes} bytes, more than the 252 taken`);
  });
});
